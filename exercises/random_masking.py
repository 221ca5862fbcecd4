"""Exercise random_masking: hide 75% of the patches, keep a random 25%.

MAE (He et al. 2022, section 3, "Masking") samples the visible patches uniformly
without replacement, for every image independently, in one batched operation
driven by one random number per patch (the noise): the patches with the
smallest noise are kept.

    noise        (B, N)        uniform in [0, 1), or given by the caller
    keep         int(N * (1 - mask_ratio))        196 patches at 0.75 -> 49
    visible      (B, keep, D)  the kept tokens, smallest noise first
    mask         (B, N) bool   in the patches' own order, True = masked (removed)
    ids_restore  (B, N)        the INVERSE of the shuffle (patches sorted by noise),
                               used by the decoder to put tokens back in patch order

Explained in docs/02_imagemae.md (II.1).

Check: python -m exercises check random_masking
Stuck? `python -m exercises hint random_masking` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch


def random_masking(tokens: torch.Tensor, mask_ratio: float, noise: torch.Tensor | None = None,
                   generator: torch.Generator | None = None):
    """tokens (B, N, D) -> (visible (B, N_vis, D), mask (B, N) bool, ids_restore (B, N)).

    If `noise` is None, draw it uniform in [0, 1) from `generator`: the same seed, the same mask.
    """
    raise NotImplementedError("exercise random_masking: write me")
