"""Position embeddings: how a set of tokens learns where each patch was
(course notes, section I.2).

Attention is permutation-invariant: shuffle the tokens and every output is
shuffled the same way. So each token gets a vector that encodes its position,
added to its patch embedding. Three kinds are used in this project:

- learned (ViT, Dosovitskiy et al. 2021, section 3.1): a free parameter
  (1, 1+N, D), one row per position plus one for the cls token;
- fixed 2-D sin-cos (MAE, He et al. 2022, appendix A.1): half of the channels
  encode the row, half the column, each with sines and cosines of several
  frequencies; the cls row is zeros;
- fixed 1-D sinusoid (VideoMAE, Tong et al. 2022, following "Attention is all you
  need"): one table over the flattened token index t*H'*W' + h*W' + w.

Fixed tables are computed, never stored in checkpoints: models register them as
non-persistent buffers.
"""
import torch
from einops import rearrange
from torch.nn import functional as F


def _sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """MAE's 1-D table: (M,) -> (M, dim), first half sin, second half cos."""
    if dim % 2:
        raise ValueError(f"sin-cos embedding needs an even dim, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))  # (D/2,)
    angles = positions.double()[:, None] * omega[None, :]  # (M, D/2)
    return torch.cat([angles.sin(), angles.cos()], dim=1)  # (M, D)


def sincos_2d(dim: int, grid: tuple[int, int], cls_token: bool = False) -> torch.Tensor:
    """Fixed 2-D sin-cos table, MAE's layout: (1, [1+] H'*W', dim), float32.

    The first dim/2 channels encode the column (w), the second half the row (h),
    exactly as the official `get_2d_sincos_pos_embed` (so checkpoints agree).
    """
    if dim % 4:
        raise ValueError(f"2-D sin-cos embedding needs dim divisible by 4, got {dim}")
    gh, gw = grid
    hh, ww = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")  # (H', W') each
    table = torch.cat([_sincos_1d(dim // 2, ww.flatten()), _sincos_1d(dim // 2, hh.flatten())], dim=1)  # (N, D)
    if cls_token:
        table = torch.cat([torch.zeros(1, dim, dtype=table.dtype), table])  # (1+N, D)
    return table.float()[None]  # (1, [1+]N, D)


def sinusoid_1d(num_positions: int, dim: int) -> torch.Tensor:
    """VideoMAE's fixed table: (1, num_positions, dim), float32.

    angle(pos, j) = pos / 10000^(2*(j//2)/dim); sin on even j, cos on odd j
    (interleaved, unlike MAE's halves). Row index = flattened token index.
    """
    pos = torch.arange(num_positions, dtype=torch.float64)[:, None]  # (M, 1)
    j = torch.arange(dim)
    angles = pos / torch.pow(10000.0, (2 * (j // 2)).double() / dim)  # (M, D)
    table = torch.where(j % 2 == 0, angles.sin(), angles.cos())
    return table.float()[None]  # (1, M, D)


def resize_pos_embed(pos_embed: torch.Tensor, new_grid: tuple[int, int], num_prefix: int = 1) -> torch.Tensor:
    """Bicubic resize of a learned table to a new patch grid; prefix (cls) rows kept.

    (1, P + H*W, D) -> (1, P + H'*W', D). The old grid must be square (as in
    every released ViT); used when fine-tuning at another image size.
    """
    prefix, grid_tokens = pos_embed[:, :num_prefix], pos_embed[:, num_prefix:]
    old = round(grid_tokens.shape[1] ** 0.5)
    if old * old != grid_tokens.shape[1]:
        raise ValueError(f"cannot resize a position table of {grid_tokens.shape[1]} patch rows: not a square grid")
    img = rearrange(grid_tokens, "1 (h w) d -> 1 d h w", h=old)  # (1, D, h, w)
    img = F.interpolate(img.float(), size=new_grid, mode="bicubic", align_corners=False)  # -> (1, D, h', w')
    grid_tokens = rearrange(img, "1 d h w -> 1 (h w) d").to(pos_embed.dtype)  # -> (1, h'*w', D)
    return torch.cat([prefix, grid_tokens], dim=1)
