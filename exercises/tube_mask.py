"""Exercise tube_mask: hide the SAME places in every time slice.

Neighbouring frames are almost the same picture. If a tubelet is hidden but the
same place is visible one slice later, the model copies from its neighbour and
learns nothing. VideoMAE (Tong et al. 2022, section 3.3, table 1c) hides a tube
through the whole clip: pick int(ratio * H'*W') places of one slice, at random,
and hide them in all T' slices. That is what allows 90% masking.

    grid (T', H', W') = (8, 14, 14), ratio 0.9: 176 of 196 places per slice,
    mask bool (B, T'*H'*W') = (B, 1568), 1408 True per row, True = masked,
    tokens in (t, h, w) order like the tubelets. Each sample its own places.

Explained in docs/03_videomae.md (2. Extreme tube masking).

Check: python -m exercises check tube_mask
Stuck? `python -m exercises hint tube_mask` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from einops import repeat  # noqa: F401  (you will want it)


def tube_mask(batch: int, grid: tuple[int, int, int], ratio: float = 0.9,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """-> bool (batch, T'*H'*W'), exactly T' * int(ratio * H'*W') True per row.

    Draw from `generator`: the same seed, the same mask.
    """
    raise NotImplementedError("exercise tube_mask: write me")
