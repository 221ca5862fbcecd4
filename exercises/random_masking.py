"""Exercise random_masking: hide 75% of the patches, keep a random 25%.

MAE (He et al. 2022, section 3, "Masking") samples the visible patches uniformly
without replacement, for every image independently. The batched trick: draw one
random number per patch and sort; the smallest `keep` are kept.

    noise        (B, N)        uniform in [0, 1), or given by the caller
    ids_shuffle  (B, N)        argsort(noise): patch indices, kept ones first
    ids_restore  (B, N)        argsort(ids_shuffle): the INVERSE permutation, used by
                               the decoder to put tokens back in patch order
    keep         int(N * (1 - mask_ratio))        196 patches at 0.75 -> 49
    visible      (B, keep, D)  tokens of ids_shuffle[:, :keep], in that order
    mask         (B, N) bool   in the patches' own order, True = masked (removed)

Explained in docs/02_imagemae.md (II.1).

Check: python -m exercises check random_masking
"""
import torch


def random_masking(tokens: torch.Tensor, mask_ratio: float, noise: torch.Tensor | None = None,
                   generator: torch.Generator | None = None):
    """tokens (B, N, D) -> (visible (B, N_vis, D), mask (B, N) bool, ids_restore (B, N)).

    If `noise` is None draw it: torch.rand(B, N, generator=generator).
    Hint: `tokens.gather(1, index)` wants an index of shape (B, N_vis, D);
    build the mask in shuffled order (first `keep` False) then gather it with ids_restore.
    """
    raise NotImplementedError("exercise random_masking: write me")
