"""Exercise patch_embed: an image becomes a sentence of patch tokens.

ViT (Dosovitskiy et al. 2021, section 3.1) cuts a 224x224 image into 16x16
squares: a 14x14 grid, N = 196 patches. Each patch, flattened, is a vector of
16*16*3 = 768 numbers, and one Linear layer turns it into a token of width D.

    images (B, 3, H, W) --patchify--> (B, N, p*p*3) --Linear--> (B, N, D)

The project's order (every loss target and figure relies on it): patches row by
row (h, then w), and inside a patch the numbers (ph, pw, c), channel FASTEST.
The embedding runs as a Conv2d with kernel = stride = p: the same function as
patchify + Linear, in one kernel. Explained in docs/01_vit.md (I.1-I.2).

Check: python -m exercises check patch_embed
Stuck? `python -m exercises hint patch_embed` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from einops import rearrange  # noqa: F401  (you will want it)
from torch import nn


def patchify(images: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, p*p*C), N = (H/p)*(W/p).

    Patches row by row; inside a patch, its numbers with the channel varying fastest.
    """
    raise NotImplementedError("exercise patch_embed: write me (patchify)")


class PatchEmbed(nn.Module):
    """(B, C, H, W) -> (B, N, D): one token per patch, row by row."""

    def __init__(self, patch_size: int = 16, in_chans: int = 3, dim: int = 768):
        super().__init__()
        self.patch_size = patch_size
        # Given: one p x p window per patch, no overlap. The grader copies the real weights into it.
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """self.proj gives a grid (B, D, H/p, W/p); return its tokens (B, N, D), row by row."""
        raise NotImplementedError("exercise patch_embed: write me (PatchEmbed.forward)")
