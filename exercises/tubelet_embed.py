"""Exercise tubelet_embed: a clip becomes a sequence of 2x16x16 tubelet tokens.

VideoMAE (Tong et al. 2022, section 3.3, "joint space-time cube embedding") cuts a
clip into cubes spanning 2 frames x 16 x 16 pixels. A 16-frame 224x224 clip ->
a grid of 8 x 14 x 14 = 1568 tubelets, each 2*16*16*3 = 1536 numbers.

    video (B, C, T, H, W) --patchify--> (B, N, pt*ph*pw*C) --Linear--> (B, N, D)

Video tensors are (B, C, T, H, W) everywhere here. Order: tokens t, then h, then
w; inside a tubelet (pt ph pw c), channel fastest (VideoMAE's targets use it).
The embedding runs as a Conv3d with kernel = stride = the tubelet size.
Explained in docs/03_videomae.md (1. Tubelets).

Check: python -m exercises check tubelet_embed
Stuck? `python -m exercises hint tubelet_embed` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from einops import rearrange  # noqa: F401  (you will want it)
from torch import nn


def patchify(video: torch.Tensor, tubelet: tuple[int, int, int]) -> torch.Tensor:
    """(B, C, T, H, W) -> (B, N, pt*ph*pw*C), N = T/pt * H/ph * W/pw: patch_embed's patchify, with time."""
    raise NotImplementedError("exercise tubelet_embed: write me (patchify)")


class TubeletEmbed(nn.Module):
    """(B, C, T, H, W) -> (B, N, D). The conv is given; the grader copies the real weights in."""

    def __init__(self, tubelet: tuple[int, int, int] = (2, 16, 16), in_chans: int = 3, dim: int = 768):
        super().__init__()
        self.tubelet = tuple(tubelet)
        self.proj = nn.Conv3d(in_chans, dim, kernel_size=self.tubelet, stride=self.tubelet)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """self.proj gives a grid (B, D, T', H', W'); return its tokens (B, N, D), time first."""
        raise NotImplementedError("exercise tubelet_embed: write me (TubeletEmbed.forward)")
