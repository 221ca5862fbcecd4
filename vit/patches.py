"""Cut an image into patches, and embed each patch as one token (course notes,
sections I.1-I.2).

A 224x224 image cut into 16x16 patches gives a 14x14 grid = 196 patches; each
patch, flattened, is a vector of 16*16*3 = 768 numbers: a "word" of the image.
ViT paper (Dosovitskiy et al. 2021), section 3.1.

Two ways to write the embedding, and they are the same function:
  1. `patchify` then one `nn.Linear(p*p*C, D)` (the paper's "linear projection");
  2. `nn.Conv2d(C, D, kernel_size=p, stride=p)` (what every implementation runs,
     because it is one fused kernel).
`linear_from_conv` turns the conv's weights into the Linear's; a test checks
both give the same tokens.
"""
import torch
from einops import rearrange
from torch import nn


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, p*p*C); patches in row-major order, channel fastest.

    Channel-fastest (`(ph pw c)`) is MAE's layout for loss targets; the
    official MAE reconstruction targets are laid out exactly this way.
    """
    return rearrange(images, "b c (h ph) (w pw) -> b (h w) (ph pw c)", ph=patch_size, pw=patch_size)


def unpatchify(patches: torch.Tensor, patch_size: int, grid: tuple[int, int], channels: int = 3) -> torch.Tensor:
    """(B, N, p*p*C) -> (B, C, H, W): the exact inverse of `patchify`."""
    h, w = grid
    return rearrange(
        patches, "b (h w) (ph pw c) -> b c (h ph) (w pw)", h=h, w=w, ph=patch_size, pw=patch_size, c=channels
    )


class PatchEmbed(nn.Module):
    """Image -> patch tokens with a Conv2d whose kernel = stride = patch size.

    Keys `proj.weight [D, C, p, p]`, `proj.bias [D]` (timm's and the official names).
    """

    def __init__(self, patch_size: int = 16, in_chans: int = 3, dim: int = 768):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.proj(images)  # (B, C, H, W) -> (B, D, H/p, W/p)
        return rearrange(x, "b d h w -> b (h w) d")  # -> (B, N, D), N = (H/p)*(W/p)


def linear_from_conv(conv: nn.Conv2d) -> nn.Linear:
    """The `nn.Linear(p*p*C, D)` that, applied to `patchify(x)`, equals `conv(x)`.

    The conv weight is (D, C, ph, pw); the Linear expects its inputs ordered
    (ph pw c) like `patchify`, so the weight is rearranged to match.
    """
    dim, chans, ph, pw = conv.weight.shape
    linear = nn.Linear(chans * ph * pw, dim)
    with torch.no_grad():
        linear.weight.copy_(rearrange(conv.weight, "d c ph pw -> d (ph pw c)"))
        linear.bias.copy_(conv.bias)
    return linear
