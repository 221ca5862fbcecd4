"""Solution: multi-head self-attention written out (Vaswani et al. 2017, section 3.2.2)."""
import torch
from einops import rearrange
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        qkv = self.qkv(x)  # (B, N, D) -> (B, N, 3D): queries, keys, values in one matmul
        q, k, v = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=self.heads)  # 3 x (B, h, N, d)
        d = q.shape[-1]  # the head dim D/h: the scores are dot products of d numbers
        scores = q @ k.transpose(-2, -1) / d**0.5  # (B, h, N, N): how much query i matches key j
        weights = scores.softmax(dim=-1)  # each row sums to 1
        out = weights @ v  # a weighted average of the values: (B, h, N, d)
        out = rearrange(out, "b h n d -> b n (h d)")  # the heads side by side: (B, N, D)
        return self.proj(out)  # mix what the heads found: (B, N, D)
