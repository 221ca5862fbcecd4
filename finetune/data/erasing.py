"""Random erasing (Zhong et al. 2020) as VideoMAE fine-tunes with it: one box per clip, fresh noise per frame.

The official recipe (MCG-NJU/VideoMAE `run_class_finetuning.py`: `--reprob 0.25 --remode pixel
--recount 1`) erases, with probability 0.25 per clip, one rectangle of 2%-33% of the frame
area (aspect ratio log-uniform in [0.3, 1/0.3]) and fills it with per-pixel Gaussian noise.

Per frame or per clip? `kinetics.py` `_aug_frame` hands the whole clip, as (T, C, H, W), to
`random_erasing.py` `RandomErasing`, whose default `cube=True` path (`_erase_cube`) draws the
coin flip and the box ONCE and erases that same box on every frame: a still occluder, not one
that jumps (which would be fake motion). The noise inside it, however, is drawn anew for each
frame (`_get_pixels` is called per frame). Both are done so here.

The official code erases after normalisation, with N(0, 1) noise in the normalised space.
Our clips stay uint8 until the GPU normalises them (finetune/data/batch.py), so the noise is
drawn as N(mean, std) of the weights' normalisation in [0, 1] pixel units, which normalises to
the same N(0, 1), then rounded to 8 bits and clipped to [0, 255]: with the ImageNet mean/std of the
VideoMAE weights about 3% of the noise values (those beyond ~2 standard deviations) are clipped; with
the 0.5/0.5 of the organizers' per-frame ViT, those beyond 1 standard deviation, 32%.
"""
from __future__ import annotations

import math

import numpy as np
import torch

MIN_AREA, MAX_AREA = 0.02, 1 / 3  # erased share of the frame (official `RandomErasing` defaults)
MIN_ASPECT = 0.3  # aspect ratio log-uniform in [0.3, 1 / 0.3]
TRIES = 100  # official `_erase_cube`: 100 tries to find a box that fits


def erase_box(h: int, w: int, rng: np.random.Generator) -> tuple[int, int, int, int] | None:
    """(top, left, height, width) of a box of 2%-33% of an h x w frame, or None if 100 tries find none."""
    lo, hi = math.log(MIN_ASPECT), math.log(1 / MIN_ASPECT)
    for _ in range(TRIES):
        area = rng.uniform(MIN_AREA, MAX_AREA) * h * w
        aspect = math.exp(rng.uniform(lo, hi))
        bh, bw = round(math.sqrt(area * aspect)), round(math.sqrt(area / aspect))
        if bw < w and bh < h:
            return int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1)), bh, bw
    return None


def random_erase(x: torch.Tensor, prob: float, mean, std, rng: np.random.Generator) -> torch.Tensor:
    """uint8 (3, T, H, W) -> the same clip with, with probability `prob`, one box erased on every frame.

    The box is the same on all T frames; the noise (N(mean, std) per channel, in [0, 1] units) is
    new on each frame. `mean`, `std`: the normalisation the GPU will apply to this clip."""
    if prob <= 0 or rng.random() >= prob:
        return x
    box = erase_box(x.shape[-2], x.shape[-1], rng)
    if box is None:
        return x
    top, left, bh, bw = box
    t = x.shape[1]
    z = rng.standard_normal((3, t, bh, bw), dtype=np.float32)         # (3, T, bh, bw): per frame, per pixel
    m, s = (np.asarray(v, dtype=np.float32).reshape(3, 1, 1, 1) for v in (mean, std))
    noise = np.clip(np.rint((m + s * z) * 255), 0, 255).astype(np.uint8)
    x = x.clone()
    x[:, :, top:top + bh, left:left + bw] = torch.from_numpy(noise)
    return x
