"""Solution: the pre-norm transformer block (ViT paper, eq. 2-3)."""
import torch
from torch import nn

from vit.blocks import MLP, Attention


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))  # tokens exchange information; the residual keeps x: (B, N, D)
        x = x + self.mlp(self.norm2(x))  # each token on its own: (B, N, D)
        return x
