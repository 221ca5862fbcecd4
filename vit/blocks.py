"""The transformer encoder block shared by every model in this project (course notes, section I.3).

    x = x + DropPath(Attention(LayerNorm(x)))
    x = x + DropPath(MLP(LayerNorm(x)))

Pre-norm (norm inside the residual branch) as in ViT (Dosovitskiy et al. 2021,
eq. 2-3), MAE and VideoMAE. ImageMAE and VideoMAE import these classes; no other
file in the project defines a transformer block.

Attention keeps query, key and value weights in one `qkv` Linear, as the
official ViT / MAE / VideoMAE checkpoints store them, and has three bias modes,
because the checkpoints we load differ:
  'qkv'  bias on query, key and value (ViT, timm, MAE);
  'qv'   separate `q_bias` and `v_bias`, no key bias (VideoMAE, BEiT): a key bias
         adds the same number to every score of a query, which softmax ignores;
  'none' no bias at all.

The same code runs for training and inference, with no speed tricks: the ones
that used to live here (three q/k/v matmuls, in-place GELU and residual adds
under no_grad) gained less than 3% end to end (docs/benchmarks.md).
"""
from typing import Literal

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

BiasMode = Literal["qkv", "qv", "none"]


class Attention(nn.Module):
    """Multi-head self-attention: every token looks at every other token.

    `forward(x)` runs `F.scaled_dot_product_attention` (fused: it does not keep
    the N x N map). `attention_map(x)` is the textbook formula
    softmax(Q K^T / sqrt(d)) for the lessons' figures; a test keeps
    `attention_map(x) @ V` equal to the fused output.
    """

    def __init__(self, dim: int, heads: int, bias: BiasMode = "qkv"):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads, got dim={dim}, heads={heads}")
        if bias not in ("qkv", "qv", "none"):
            raise ValueError(f"bias must be 'qkv', 'qv' or 'none', got {bias!r}")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=bias == "qkv")
        if bias == "qv":
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = self.v_bias = None
        self.proj = nn.Linear(dim, dim)

    def qkv_bias(self) -> torch.Tensor | None:
        """The (3D,) bias of the `qkv` matmul, or None. In 'qv' mode the key's
        third is zeros, as the official VideoMAE `modeling_finetune.py` builds it."""
        if self.q_bias is None:
            return self.qkv.bias
        return torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))

    def project_qkv(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (3, B, h, N, d): queries, keys and values of every head."""
        qkv = F.linear(x, self.qkv.weight, self.qkv_bias())  # one matmul: (B, N, D) -> (B, N, 3D)
        return rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=self.heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.project_qkv(x)  # 3 x (B, h, N, d)
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(QK^T/sqrt(d)) V: (B, h, N, d)
        out = rearrange(out, "b h n d -> b n (h d)")  # heads side by side: (B, N, D)
        return self.proj(out)

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, h, N, N): softmax(Q K^T / sqrt(d)), row i = how much
        token i looks at each token, per head (rows sum to 1)."""
        q, k, _ = self.project_qkv(x)  # 2 x (B, h, N, d)
        scores = (q * self.scale) @ k.transpose(-2, -1)  # (B, h, N, N): score of query i for key j
        return scores.softmax(dim=-1)


class MLP(nn.Module):
    """Per-token two-layer network D -> hidden -> D with GELU (ViT eq. 3)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.fc1(x))  # (B, N, D) -> (B, N, hidden)
        return self.fc2(x)  # (B, N, hidden) -> (B, N, D)


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016): while training, drop a sample's whole
    residual branch with probability p and scale the survivors by 1/(1-p), so the
    expected output is unchanged. Identity at evaluation."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = torch.bernoulli(x.new_full((x.shape[0],) + (1,) * (x.ndim - 1), 1 - self.p))  # (B, 1, 1): 1 = kept
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Block(nn.Module):
    """One pre-norm encoder block: attention, then MLP, each in a residual branch."""

    def __init__(
        self,
        dim: int,
        heads: int,
        mlp_ratio: float = 4.0,
        bias: BiasMode = "qkv",
        drop_path: float = 0.0,
        eps: float = 1e-6,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, round(dim * mlp_ratio))  # round: ViT-g's 48/11 x 1408 is 6144 only to 1e-12
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))  # tokens exchange information: (B, N, D)
        x = x + self.drop_path(self.mlp(self.norm2(x)))  # each token on its own: (B, N, D)
        return x

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, D) -> (B, h, N, N): the attention weights this block uses on input x."""
        return self.attn.attention_map(self.norm1(x))


def build_blocks(depth: int, dim: int, heads: int, drop_path: float = 0.0, **block_kwargs) -> nn.ModuleList:
    """`depth` blocks whose drop-path rate grows linearly from 0 to `drop_path`
    (deeper blocks are dropped more often, as in DeiT / MAE / VideoMAE)."""
    rates = torch.linspace(0, drop_path, depth).tolist() if depth > 1 else [drop_path]
    return nn.ModuleList(Block(dim, heads, drop_path=r, **block_kwargs) for r in rates)


def init_weights(module: nn.Module) -> None:
    """The init every model here uses (MAE / VideoMAE): Xavier-uniform Linear
    weights, zero biases, LayerNorm (1, 0). Apply with `model.apply(init_weights)`."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def init_patch_proj(conv: nn.Module) -> None:
    """Init a patch-embedding conv like a Linear over the flattened patch (MAE)."""
    w = conv.weight.data
    nn.init.xavier_uniform_(w.view(w.shape[0], -1))
    nn.init.zeros_(conv.bias)


__all__ = ["MLP", "Attention", "Block", "DropPath", "build_blocks", "init_patch_proj", "init_weights"]
