"""Random masking: hide 75% of the patches, keep a random 25% (course notes,
section II.1).

MAE (He et al. 2022, section 3, "Masking"): sample patches uniformly without
replacement, independently for every image. A high ratio (75%) removes so much
redundancy that the task cannot be solved by copying a neighbour: the model has
to understand the image. And the encoder only ever sees the visible 25%.

The trick that makes it one batched operation: draw one random number per
patch (`noise`), sort. The patches with the smallest noise are kept.

    noise        (B, N)   uniform in [0, 1)
    ids_shuffle  (B, N)   argsort(noise): patch indices, kept ones first
    ids_restore  (B, N)   argsort(ids_shuffle): where each patch went, so
                          x_shuffled.gather(ids_restore) puts them back in place
    keep the first int(N * (1 - ratio)) of ids_shuffle

The mask is boolean in original patch order, True = masked (removed), the
convention of every package here. Pass `noise` (or a `generator`) to make the
masking repeatable: transformers' `ViTMAEForPreTraining(pixel_values, noise=...)`
takes the same tensor, which is how the parity test compares the two.
"""
import torch
from einops import repeat


def num_visible(num_patches: int, mask_ratio: float) -> int:
    """How many patches stay visible: int(N * (1 - ratio)), as the official code.
    224/16 -> N = 196; at 75% -> 49 visible, 147 masked."""
    return int(num_patches * (1 - mask_ratio))


def random_masking(
    tokens: torch.Tensor,
    mask_ratio: float,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Keep a random subset of the tokens of every sample.

    tokens (B, N, D) -> visible (B, N_vis, D), mask (B, N) bool True = masked,
    ids_restore (B, N). The visible tokens come in shuffled order (smallest
    noise first); `ids_restore` undoes the shuffle once mask tokens fill the gaps.
    """
    if tokens.ndim != 3:
        raise ValueError(f"expected tokens of shape (B, N, D), found {tuple(tokens.shape)}")
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1), found {mask_ratio}")
    b, n, d = tokens.shape
    keep = num_visible(n, mask_ratio)
    if noise is None:
        device = generator.device if generator is not None else tokens.device
        noise = torch.rand(b, n, generator=generator, device=device)
    if tuple(noise.shape) != (b, n):
        raise ValueError(f"expected noise of shape ({b}, {n}) (one number per patch), found {tuple(noise.shape)}")
    noise = noise.to(tokens.device)

    ids_shuffle = torch.argsort(noise, dim=1)  # (B, N): ascending noise, kept patches first
    ids_restore = torch.argsort(ids_shuffle, dim=1)  # (B, N): inverse permutation
    ids_keep = ids_shuffle[:, :keep]  # (B, N_vis)
    visible = tokens.gather(1, repeat(ids_keep, "b n -> b n d", d=d))  # (B, N, D) -> (B, N_vis, D)

    mask = torch.ones(b, n, dtype=torch.bool, device=tokens.device)  # in shuffled order: first `keep` visible
    mask[:, :keep] = False
    mask = mask.gather(1, ids_restore)  # back to the original patch order, (B, N)
    return visible, mask, ids_restore


__all__ = ["num_visible", "random_masking"]
