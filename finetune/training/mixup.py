"""Mixup, CutMix and label smoothing as small pure functions (the course notes' Exp 3 and Exp 4).

Mixup (Zhang et al. 2018): x = lam * x_i + (1 - lam) * x_j with lam ~ Beta(alpha, alpha),
targets mixed the same way. The course notes' Exp 3 (alpha 0.8) turned a 100%-train /
81.8%-test memoriser into 90% train / 84.3% test: soft targets forbid a perfect
fit of every training clip. Here the partner x_j is the batch reversed (as in
timm's Mixup), so one lam per batch mixes in one pass with no extra memory.

CutMix (Yun et al. 2019): paste a box from x_j instead; lam becomes the kept
area. For video the box is the SAME on every frame, a tube through time, like
every other augmentation here (a box hopping between frames is fake motion).

Label smoothing (Szegedy et al. 2016): the target 1 becomes 1 - eps + eps/K,
every other class eps/K; the course notes' phase 2 uses it at a very low LR.

Targets are soft (B, K) rows that sum to 1; `soft_target_cross_entropy` is the
loss for them. All randomness comes from a torch.Generator.
"""
from __future__ import annotations

import math

import torch


def one_hot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B,) int64 -> (B, K) float one-hot; a (B, K) float input is returned unchanged.

    By scatter, without checking the label range on the host first: on a GPU that
    check would be a sync per batch (scatter itself refuses an index >= K on the CPU).
    """
    if y.dtype.is_floating_point:
        return y
    return torch.zeros(len(y), num_classes, device=y.device).scatter_(1, y.view(-1, 1), 1.0)


def label_smoothing(targets: torch.Tensor, eps: float) -> torch.Tensor:
    """(B, K) soft targets -> (1 - eps) * targets + eps / K; rows still sum to 1."""
    return targets * (1.0 - eps) + eps / targets.shape[-1]


def soft_target_cross_entropy(logits: torch.Tensor, soft_targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of -sum_k t_k log softmax(logits)_k; equals cross_entropy for one-hot t."""
    return -(soft_targets * torch.log_softmax(logits, dim=-1)).sum(-1).mean()


def _beta(alpha: float, generator: torch.Generator | None) -> float:
    """lam ~ Beta(alpha, alpha) from two Gamma draws, via the generator (torch's Beta takes none)."""
    g = torch._standard_gamma(torch.full((2,), float(alpha)), generator=generator)
    return float(g[0] / g.sum())


def mixup(x: torch.Tensor, y: torch.Tensor, alpha: float = 0.8, num_classes: int | None = None,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix the batch with its reverse. x (B, ...), y (B,) int or (B, K) soft -> (x_mixed, soft targets).

    alpha 0 returns x unchanged and one-hot targets.
    """
    t = one_hot(y, num_classes if num_classes is not None else y.shape[-1])
    if alpha <= 0:
        return x, t
    lam = _beta(alpha, generator)
    return lam * x + (1 - lam) * x.flip(0), lam * t + (1 - lam) * t.flip(0)


def cutmix_box(h: int, w: int, lam: float, generator: torch.Generator | None = None) -> tuple[int, int, int, int]:
    """A box (top, bottom, left, right) of area about (1 - lam) * h * w, centre uniform, clipped to the frame."""
    rh, rw = int(h * math.sqrt(1 - lam)), int(w * math.sqrt(1 - lam))
    cy, cx = (int(v) for v in torch.randint(0, 1 << 30, (2,), generator=generator) % torch.tensor([h, w]))
    return max(cy - rh // 2, 0), min(cy + rh // 2, h), max(cx - rw // 2, 0), min(cx + rw // 2, w)


def cutmix(x: torch.Tensor, y: torch.Tensor, alpha: float = 1.0, num_classes: int | None = None,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Paste the same box from the reversed batch into every frame. x (B, C, T, H, W)."""
    t = one_hot(y, num_classes if num_classes is not None else y.shape[-1])
    if alpha <= 0:
        return x, t
    lam = _beta(alpha, generator)
    h, w = x.shape[-2:]
    y0, y1, x0, x1 = cutmix_box(h, w, lam, generator)
    out = x.clone()
    out[..., y0:y1, x0:x1] = x.flip(0)[..., y0:y1, x0:x1]       # same box on every frame (all of dim T)
    lam = 1 - (y1 - y0) * (x1 - x0) / (h * w)                   # the area actually kept
    return out, lam * t + (1 - lam) * t.flip(0)


def mix_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, mixup_alpha: float = 0.8,
              cutmix_alpha: float = 0.0, switch_prob: float = 0.5, smoothing: float = 0.0,
              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The training-step helper: Mixup or (with probability switch_prob, if enabled) CutMix, then smoothing."""
    use_cut = cutmix_alpha > 0 and (mixup_alpha <= 0 or
                                    float(torch.rand((), generator=generator)) < switch_prob)
    if use_cut:
        x, t = cutmix(x, y, cutmix_alpha, num_classes, generator)
    else:
        x, t = mixup(x, y, mixup_alpha, num_classes, generator)
    return x, label_smoothing(t, smoothing) if smoothing > 0 else t
