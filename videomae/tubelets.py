"""From image patches to video tubelets (course notes, section III.1; Tong et al.
2022, section 3.3).

ImageMAE cuts an image into 16x16 squares. VideoMAE cuts a clip into cubes that
also span time: a tubelet of 2 frames x 16 x 16 pixels ("joint space-time cube
embedding"). A 16-frame 224x224 clip becomes 8 x 14 x 14 = 1568 tubelets, each a
vector of 2*16*16*3 = 1536 numbers. Tokens are ordered t, then h, then w.

Two ways to embed a tubelet, and they are the same function:
  1. `patchify` then one `nn.Linear(pt*ph*pw*C, D)` (the paper's linear projection);
  2. `nn.Conv3d(C, D, kernel = stride = (2, 16, 16))` (what the checkpoints store).
`linear_from_conv3d` turns the conv's weight into the Linear's; a test checks
both give the same tokens. `TubeletEmbed` runs the conv (its keys are the
official `patch_embed.proj.*`); `forward_linear` is the paper's form.
"""
import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F


def patchify(video: torch.Tensor, tubelet: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, N, pt*ph*pw*C), N = T/pt * H/ph * W/pw; channel fastest.

    The layout of VideoMAE's reconstruction targets (official and transformers).
    """
    pt, ph, pw = tubelet
    return rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw c)", pt=pt, ph=ph, pw=pw)


def unpatchify(
    tokens: torch.Tensor, tubelet: tuple[int, int, int], grid: tuple[int, int, int], channels: int = 3
) -> torch.Tensor:
    """(B, N, pt*ph*pw*C) -> (B, C, T, H, W): the exact inverse of `patchify`."""
    (pt, ph, pw), (t, h, w) = tubelet, grid
    return rearrange(
        tokens, "b (t h w) (pt ph pw c) -> b c (t pt) (h ph) (w pw)", t=t, h=h, w=w, pt=pt, ph=ph, pw=pw, c=channels
    )


def linear_from_conv3d(conv: nn.Conv3d) -> nn.Linear:
    """The `nn.Linear(pt*ph*pw*C, D)` that, applied to `patchify(x)`, equals `conv(x)`
    flattened to tokens. The conv weight is (D, C, pt, ph, pw); `patchify` orders a
    tubelet's numbers (pt ph pw c), so the weight is rearranged the same way."""
    linear = nn.Linear(conv.weight[0].numel(), conv.out_channels)
    with torch.no_grad():
        linear.weight.copy_(rearrange(conv.weight, "d c pt ph pw -> d (pt ph pw c)"))  # (D, C, pt, ph, pw) -> (D, K)
        linear.bias.copy_(conv.bias)
    return linear


class TubeletEmbed(nn.Module):
    """Video -> tubelet tokens. Keys `proj.weight [D, C, pt, ph, pw]`, `proj.bias [D]`."""

    def __init__(self, tubelet: tuple[int, int, int] = (2, 16, 16), in_chans: int = 3, dim: int = 768):
        super().__init__()
        self.tubelet = tuple(tubelet)
        self.proj = nn.Conv3d(in_chans, dim, kernel_size=self.tubelet, stride=self.tubelet)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = self.proj(video)  # (B, C, T, H, W) -> (B, D, T/pt, H/ph, W/pw)
        # -> (B, N, D), tokens ordered t, h, w. Made contiguous: a transposed view would pass its
        # strides on to the whole residual stream, and every LayerNorm would copy it (~4% of ViT-B).
        return rearrange(x, "b d t h w -> b (t h w) d").contiguous()

    def forward_linear(self, video: torch.Tensor) -> torch.Tensor:
        """The same function as one matmul over `patchify`'s tubelets (a test keeps them equal)."""
        return self.embed_tubelets(patchify(video, self.tubelet))  # (B, C, T, H, W) -> (B, N, D)

    def embed_tubelets(self, tubelets: torch.Tensor) -> torch.Tensor:
        """(B, n, pt*ph*pw*C) tubelets cut by `patchify` -> (B, n, D). The linear form pays
        off in pretraining: only the ~10% visible tubelets need embedding."""
        weight = rearrange(self.proj.weight, "d c pt ph pw -> d (pt ph pw c)")  # (D, C, pt, ph, pw) -> (D, K)
        return F.linear(tubelets, weight, self.proj.bias)  # (B, n, K) -> (B, n, D)
