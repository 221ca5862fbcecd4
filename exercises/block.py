"""Exercise block: the pre-norm transformer block, two residual lines.

A block has two steps, each a residual line that ADDS its branch's output to x:
first attention (the tokens exchange information), then the MLP (each token on
its own). ViT (Dosovitskiy et al. 2021, eq. 2-3), MAE and VideoMAE all use the
"pre-norm" form: each branch has its own LayerNorm, INSIDE the branch, so the
residual stream x itself is never normalised and gradients flow straight
through the additions. (The original Transformer normalised after the addition:
"post-norm".) Shapes never change: (B, N, D) in, (B, N, D) out. Explained in
docs/01_vit.md (I.3).

Check: python -m exercises check block
Stuck? `python -m exercises hint block` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from torch import nn

from vit.blocks import MLP, Attention


class Block(nn.Module):
    """(B, N, D) -> (B, N, D). The layers are given; the grader copies vit.blocks.Block's weights in."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, int(dim * mlp_ratio))  # D -> 4D -> D

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N, D): the attention line, then the MLP line."""
        raise NotImplementedError("exercise block: write me (Block.forward)")
