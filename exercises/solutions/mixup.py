"""Solution: Mixup of a batch with its reverse (Zhang et al. 2018)."""
import torch
from torch.nn import functional as F


def mixup(x: torch.Tensor, y: torch.Tensor, lam: float, num_classes: int):
    t = F.one_hot(y, num_classes).float()  # (B,) -> (B, K)
    x_mixed = lam * x + (1 - lam) * x.flip(0)  # sample i with sample B-1-i: (B, ...)
    t_mixed = lam * t + (1 - lam) * t.flip(0)  # the labels mixed by the same lam: (B, K)
    return x_mixed, t_mixed
