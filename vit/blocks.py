"""The transformer encoder block shared by every model in this project (seed I.3).

    x = x + DropPath(LayerScale(Attention(LayerNorm(x))))
    x = x + DropPath(LayerScale(MLP(LayerNorm(x))))

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
"""
from typing import Literal

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

BiasMode = Literal["qkv", "qv", "none"]


class Attention(nn.Module):
    """Multi-head self-attention: every token looks at every other token.

    `forward(x)` uses `F.scaled_dot_product_attention` (fused, memory-efficient).
    `forward(x, return_attn=True)` runs the textbook path
    softmax(Q K^T / sqrt(d)) V and also returns the attention map; a test keeps
    the two equal.
    """

    def __init__(self, dim: int, heads: int, bias: BiasMode = "qkv", attn_drop: float = 0.0, proj_drop: float = 0.0):
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
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def _qkv_biases(self) -> tuple[torch.Tensor | None, ...]:
        """(query, key, value) biases; None where there is none."""
        if self.q_bias is not None:
            return self.q_bias, None, self.v_bias  # 'qv': no key bias
        if self.qkv.bias is not None:
            return self.qkv.bias.chunk(3)
        return None, None, None

    def forward(self, x: torch.Tensor, return_attn: bool = False):
        # Three matmuls with the three row blocks of the `qkv` weight (views, no copy), not one
        # (B, N, 3D) matmul: each of q, k, v then has its own (B, N, D) buffer, and attention
        # reads tokens 3x closer together in memory: ~4% faster attention on CPU, same matmul time
        # (benchmarks/cpu_kernels.py).
        q, k, v = (F.linear(x, w, b) for w, b in zip(self.qkv.weight.chunk(3), self._qkv_biases()))  # 3 x (B, N, D)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in (q, k, v))  # 3 x (B, h, N, d)
        drop = self.attn_drop if self.training else 0.0
        if return_attn:
            attn = (q * self.scale) @ k.transpose(-2, -1)  # (B, h, N, N): score of query i for key j
            attn = attn.softmax(dim=-1)
            out = F.dropout(attn, drop, self.training) @ v  # (B, h, N, d)
        else:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)  # (B, h, N, d)
        out = rearrange(out, "b h n d -> b n (h d)")  # heads concatenated -> (B, N, D)
        out = self.proj_drop(self.proj(out))
        return (out, attn) if return_attn else out


class MLP(nn.Module):
    """Per-token two-layer network D -> ratio*D -> D with GELU (ViT eq. 3)."""

    def __init__(self, dim: int, hidden: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)  # (B, N, D) -> (B, N, hidden)
        if h.requires_grad:  # training: GELU's backward needs fc1's output, so a new tensor
            h = self.act(h)
        else:  # inference: GELU in place, one (B, N, hidden) tensor fewer (see `add_residual`)
            h = torch.ops.aten.gelu_(h, approximate=self.act.approximate)
        return self.drop(self.fc2(self.drop(h)))  # (B, N, hidden) -> (B, N, D)


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
        keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1 - self.p)  # (B, 1, 1)
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerScale(nn.Module):
    """Per-channel learnable scale of a residual branch (CaiT, Touvron et al. 2021),
    started small so a deep network begins close to the identity."""

    def __init__(self, dim: int, init: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


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
        layer_scale: float | None = None,
        drop: float = 0.0,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, bias, proj_drop=drop)
        self.ls1 = LayerScale(dim, layer_scale) if layer_scale else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, int(dim * mlp_ratio), drop)
        self.ls2 = LayerScale(dim, layer_scale) if layer_scale else nn.Identity()
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor, return_attn: bool = False):
        a = self.attn(self.norm1(x), return_attn=return_attn)
        a, attn = a if return_attn else (a, None)  # attn: (B, h, N, N) map, only when asked for
        x = add_residual(x, self.drop_path(self.ls1(a)))  # (B, N, D)
        x = add_residual(x, self.drop_path(self.ls2(self.mlp(self.norm2(x)))))  # (B, N, D)
        return (x, attn) if return_attn else x


def add_residual(x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """`x + branch`, where `branch` is a tensor the block has just made.

    When autograd is not recording (inference, `torch.no_grad()`), the sum is
    written into `branch` in place instead of a new tensor. Same numbers; with
    the MLP's in-place GELU a block makes three tensors fewer (29 MB for a
    VideoViT-B block at 16x224, batch 1), so inference peaks lower and, on CPU,
    has fewer freshly allocated pages to fault in (docs/benchmarks.md).
    """
    if x.requires_grad or branch.requires_grad or branch.dtype != x.dtype or branch.shape != x.shape:
        return x + branch  # autograd needs both operands intact; or the sum's dtype/shape differs
    return branch.add_(x)


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


__all__ = ["Attention", "MLP", "DropPath", "LayerScale", "Block", "add_residual", "build_blocks", "init_weights", "init_patch_proj"]
