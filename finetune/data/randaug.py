"""Photometric augmentation applied ONCE per clip: colour jitter and a small RandAugment.

VideoMAE's fine-tuning applies RandAugment "identically to every frame"
(MCG-NJU/VideoMAE `video_transforms.py`): the random choices (which op, which strength) are
drawn once per clip and the same op then runs on all T frames, so the clip
stays a consistent video (a per-frame flicker in brightness would be a fake
motion signal). Every function here takes the whole clip (T, 3, H, W) float in
[0, 1] and statistics such as the mean grey level are taken over the whole
clip, so identical frames stay identical.

RandAugment (Cubuk et al. 2020): pick `num_ops` ops uniformly from a list and
apply each at one global `magnitude` (0..10). We keep only the colour ops; the
geometric ones (rotate, shear, translate) overlap with the crop and would
need per-op interpolation code for little gain on 5-20-frame clips.
"""
from __future__ import annotations

import numpy as np
import torch

_GREY = torch.tensor([0.299, 0.587, 0.114])  # ITU-R 601 luma weights, as PIL's convert("L")


def grey(x: torch.Tensor) -> torch.Tensor:
    """(T, 3, H, W) -> (T, 1, H, W) luma."""
    return (x * _GREY.to(x).view(1, 3, 1, 1)).sum(1, keepdim=True)


def adjust_brightness(x: torch.Tensor, f: float) -> torch.Tensor:
    return (x * f).clamp_(0, 1)


def adjust_contrast(x: torch.Tensor, f: float) -> torch.Tensor:
    m = grey(x).mean()                                  # one grey level for the whole clip
    return ((x - m) * f + m).clamp_(0, 1)


def adjust_saturation(x: torch.Tensor, f: float) -> torch.Tensor:
    g = grey(x)                                         # (T, 1, H, W)
    return ((x - g) * f + g).clamp_(0, 1)


def solarize(x: torch.Tensor, threshold: float) -> torch.Tensor:
    return torch.where(x >= threshold, 1 - x, x)


def posterize(x: torch.Tensor, bits: int) -> torch.Tensor:
    levels = 2 ** bits
    return torch.floor(x * (levels - 1e-6)) / (levels - 1)


def autocontrast(x: torch.Tensor) -> torch.Tensor:
    lo = x.amin(dim=(0, 2, 3), keepdim=True)            # per channel, over the whole clip
    hi = x.amax(dim=(0, 2, 3), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(1e-3)


def colour_jitter(x: torch.Tensor, strength: float, rng: np.random.Generator) -> torch.Tensor:
    """Brightness, contrast, saturation each scaled by a factor in [1-s, 1+s], drawn once per clip."""
    if strength <= 0:
        return x
    b, c, s = rng.uniform(1 - strength, 1 + strength, size=3)
    return adjust_saturation(adjust_contrast(adjust_brightness(x, b), c), s)


def _op(name: str, x: torch.Tensor, m: float, sign: float) -> torch.Tensor:
    """Apply one op at magnitude m in [0, 1]."""
    if name == "brightness":
        return adjust_brightness(x, 1 + sign * 0.9 * m)
    if name == "contrast":
        return adjust_contrast(x, 1 + sign * 0.9 * m)
    if name == "saturation":
        return adjust_saturation(x, 1 + sign * 0.9 * m)
    if name == "solarize":
        return solarize(x, 1.0 - m)
    if name == "posterize":
        return posterize(x, max(1, 8 - round(4 * m)))
    if name == "autocontrast":
        return autocontrast(x)
    return x  # identity


OPS = ("identity", "brightness", "contrast", "saturation", "solarize", "posterize", "autocontrast")


def rand_augment(x: torch.Tensor, num_ops: int, magnitude: float, rng: np.random.Generator) -> torch.Tensor:
    """`num_ops` ops chosen once per clip, each at `magnitude` (0..10), applied to every frame."""
    for _ in range(num_ops):
        name = OPS[int(rng.integers(len(OPS)))]
        sign = 1.0 if rng.random() < 0.5 else -1.0
        x = _op(name, x, magnitude / 10.0, sign)
    return x
