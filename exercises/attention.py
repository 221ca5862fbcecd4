"""Exercise attention: multi-head self-attention, softmax(Q K^T / sqrt(d)) V.

Every token asks a question (query), offers a label (key) and carries content
(value). Token i's output is the average of all values, weighted by how well
its query matches each key (Vaswani et al. 2017, section 3.2; ViT eq. 2).

    x (B, N, D) --qkv Linear--> (B, N, 3D) --> q, k, v, each (B, h, N, d), d = D/h
    scores  Q K^T / sqrt(d)           (B, h, N, N): how well query i matches key j
    weights softmax over the keys     (B, h, N, N): each query's row sums to 1
    output  weights times V           (B, h, N, d) --heads side by side--> (B, N, D) --proj--> (B, N, D)

The h heads each attend with their own d = D/h numbers. One `qkv` Linear holds
query, key and value weights, as the official checkpoints store them: its 3D
outputs are all of q, then all of k, then all of v, and each of those D numbers
is the h heads' d numbers side by side. Explained in docs/01_vit.md (I.3).

Write the formula by hand here (not F.scaled_dot_product_attention, which the
real code calls): that is the point of the exercise.

Check: python -m exercises check attention
Stuck? `python -m exercises hint attention` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from einops import rearrange  # noqa: F401  (you will want it)
from torch import nn


class Attention(nn.Module):
    """(B, N, D) -> (B, N, D). The layers are given; the grader copies vit.blocks.Attention's weights in."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)  # (B, N, D) -> (B, N, 3D)
        self.proj = nn.Linear(dim, dim)  # after the heads are put back side by side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, N, D): softmax(Q K^T / sqrt(d)) V in each head, heads side by side, then proj."""
        raise NotImplementedError("exercise attention: write me (Attention.forward)")
