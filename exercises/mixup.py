"""Exercise mixup: train on blends of two clips, with blended labels.

Mixup (Zhang et al. 2018): x = lam * x_i + (1 - lam) * x_j, and the target is mixed
the same way: lam * onehot(y_i) + (1 - lam) * onehot(y_j). The course's Exp 3
(alpha 0.8) turned a model that memorised 100% of the training clips into one
that generalises better: it can no longer fit every clip perfectly.

The partner x_j is the batch REVERSED (sample i with sample B-1-i), as in
finetune/training/mixup.py, so one lam mixes the batch in one pass. lam is
drawn by the caller, lam ~ Beta(alpha, alpha), e.g.
`torch.distributions.Beta(0.8, 0.8).sample().item()`.

    x (B, ...) any shape (images or clips), y (B,) int labels
    -> x_mixed (B, ...), soft targets (B, K), rows summing to 1

Explained in docs/04_project71.md (What each knob does: Mixup 0.8).

Check: python -m exercises check mixup
Stuck? `python -m exercises hint mixup` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from torch.nn import functional as F  # noqa: F401  (F.one_hot)


def mixup(x: torch.Tensor, y: torch.Tensor, lam: float, num_classes: int):
    """x (B, ...), y (B,) int64 -> (x_mixed (B, ...), targets (B, num_classes) float)."""
    raise NotImplementedError("exercise mixup: write me")
