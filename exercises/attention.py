"""Exercise attention: multi-head self-attention, softmax(Q K^T / sqrt(d)) V.

Every token asks a question (query), offers a label (key) and carries content
(value). Token i's output is the average of all values, weighted by how well
its query matches each key (Vaswani et al. 2017, section 3.2; ViT eq. 2).

    x (B, N, D) --qkv Linear--> (B, N, 3D) -> q, k, v, each (B, h, N, d), d = D/h
    scores = q @ k^T / sqrt(d)        (B, h, N, N)
    out    = softmax(scores) @ v      (B, h, N, d) -> heads side by side (B, N, D) -> proj

The h heads each attend with their own d = D/h numbers. One `qkv` Linear holds
query, key and value weights, as the official checkpoints store them: its output
is laid out (three h d), i.e. [all of q | all of k | all of v], each split into
heads. Explained in docs/01_vit.md (I.3).

Write the formula by hand here (not F.scaled_dot_product_attention, which the
real code calls): that is the point of the exercise.

Check: python -m exercises check attention
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
        """Hint: rearrange(qkv, 'b n (three h d) -> three b h n d', three=3, h=self.heads)
        gives q, k, v. Which d goes under the square root: the head's or the model's?"""
        raise NotImplementedError("exercise attention: write me (Attention.forward)")
