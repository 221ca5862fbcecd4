"""Solution: MAE's random masking by sorting random noise (MAE paper, section 3)."""
import torch
from einops import repeat


def random_masking(tokens: torch.Tensor, mask_ratio: float, noise: torch.Tensor | None = None,
                   generator: torch.Generator | None = None):
    b, n, d = tokens.shape
    keep = int(n * (1 - mask_ratio))  # 196 patches at 75% -> 49 kept
    if noise is None:
        noise = torch.rand(b, n, generator=generator)  # (B, N): one random number per patch
    ids_shuffle = noise.argsort(dim=1)  # (B, N): patch indices, smallest noise (= kept) first
    ids_restore = ids_shuffle.argsort(dim=1)  # (B, N): the inverse permutation
    ids_keep = ids_shuffle[:, :keep]  # (B, N_vis)
    visible = tokens.gather(1, repeat(ids_keep, "b k -> b k d", d=d))  # (B, N, D) -> (B, N_vis, D)

    mask = torch.ones(b, n, dtype=torch.bool)  # in shuffled order: the first `keep` are visible
    mask[:, :keep] = False
    mask = mask.gather(1, ids_restore)  # back to the patches' own order: (B, N), True = masked
    return visible, mask, ids_restore
