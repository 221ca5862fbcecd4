"""Solution: patchify an image and embed each patch (ViT paper, section 3.1)."""
import torch
from einops import rearrange
from torch import nn


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, p*p*C): patches row by row, the numbers of a patch channel fastest."""
    return rearrange(images, "b c (h ph) (w pw) -> b (h w) (ph pw c)", ph=p, pw=p)  # (B, C, H, W) -> (B, N, p*p*C)


class PatchEmbed(nn.Module):
    def __init__(self, patch_size: int = 16, in_chans: int = 3, dim: int = 768):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.proj(images)  # one p x p window per patch, no overlap: (B, C, H, W) -> (B, D, H/p, W/p)
        return rearrange(x, "b d h w -> b (h w) d")  # the grid read row by row: -> (B, N, D)
