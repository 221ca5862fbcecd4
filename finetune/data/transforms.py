"""Consistent spatial augmentation, evaluation crops and TTA views (the course notes' Exp 2 and Exp 4).

The course notes' Exp 2 lifted test accuracy from 81.76% to 83.73% by applying "the
same transform (flip, crop) to all 16 frames of a video". A per-frame random
crop would make a still object jump around: fake motion, exactly the signal
the model must learn from. So every random decision here is drawn ONCE per
clip (`sample_params`) and then applied to every frame. The official recipe's
RandAugment (finetune/data/randaug.py) and random erasing (finetune/data/erasing.py),
both off by default, keep its order: RandAugment, then crop and flip, then erasing.

Speed: frames enter as a list of PIL images in sampled order, where a frame
repeated by oversampling is the same object; the crop + resize + flip runs in
Pillow on uint8 (one `resize(box=...)` call, antialiased) once per DISTINCT
frame, several times faster than float interpolation of the stacked clip.
They leave as uint8 (3, T, S, S), the model's (C, T, H, W) layout, and
`normalize` turns them into floats, on the GPU, with the mean/std of the weights:
  IMAGENET_MEAN/STD for VideoMAE Kinetics-400 weights (their pre-processing),
  HALF_MEAN/STD (0.5) for the organizers' timm ViT-S baseline.

Evaluation: resize the short side to 224, centre crop 224 (the official VideoMAE
fine-tuning's `--short_side_size 224`; `short_side=256` gives the ImageNet habit).
TTA (the course notes' Exp 4, 6 views): 3 crops along the long side (left/centre/right
for landscape frames, top/centre/bottom for portrait) x (plain, mirrored),
ordered [c0, c1, c2, flip(c0), flip(c1), flip(c2)].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from einops import rearrange
from PIL import Image

from finetune.data.erasing import random_erase
from finetune.data.randaug import apply_randaug, colour_jitter, parse_randaug, sample_randaug
from vit.imagenet import IMAGENET_MEAN, IMAGENET_STD  # re-exported too: VideoMAE K400 pre-processing

HALF_MEAN = (0.5, 0.5, 0.5)             # timm vit_small_patch16_224 (organizers' baseline)
HALF_STD = (0.5, 0.5, 0.5)


@dataclass
class AugConfig:
    """Training augmentation, one random decision per clip."""
    scale: tuple[float, float] = (0.5, 1.0)  # crop area / frame area; wider than the organizers' 0.8-1.0
    #   because the course notes' Exp 1 overfits (train 100%), narrower than ImageNet's 0.08 because
    #   HMDB51 frames are small (320x240) and the actor fills much of them.
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # crop aspect range (log-uniform), the usual RandomResizedCrop range
    flip: float = 0.5           # mirror probability; no HMDB51 class depends on left vs right
    colour_jitter: float = 0.0  # brightness/contrast/saturation strength; 0 = off, as in the course notes' Exp 2
    randaug: str = ""           # RandAugment policy, e.g. the official "rand-m7-n4-mstd0.5-inc1"; "" = off, as in
    #   the course notes' Exp 2-4 (finetune/data/randaug.py)
    reprob: float = 0.0         # random erasing probability per clip (official 0.25); 0 = off (data/erasing.py)
    erase_mean_std: tuple = (IMAGENET_MEAN, IMAGENET_STD)  # the weights' normalisation: erasing noise is N(0, 1)
    #   after it, as in the official code


@dataclass
class ClipParams:
    """The random decisions for one clip: crop box (top, left, height, width), flip, a seed for colour ops."""
    top: int
    left: int
    height: int
    width: int
    flip: bool
    colour_seed: int


def sample_params(h: int, w: int, cfg: AugConfig, rng: np.random.Generator) -> ClipParams:
    """Draw the crop box (RandomResizedCrop rule: area and log-aspect uniform, 10 tries) and the flip."""
    area = h * w
    for _ in range(10):
        target = area * rng.uniform(*cfg.scale)
        aspect = math.exp(rng.uniform(math.log(cfg.ratio[0]), math.log(cfg.ratio[1])))
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            break
    else:  # fall back to the largest centred crop of the nearest allowed aspect
        aspect = min(max(w / h, cfg.ratio[0]), cfg.ratio[1])
        cw, ch = (w, min(h, round(w / aspect))) if w / h < aspect else (min(w, round(h * aspect)), h)
    top, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    return ClipParams(top, left, ch, cw, bool(rng.random() < cfg.flip), int(rng.integers(2**31)))


def _per_frame(frames: list[Image.Image], fn) -> torch.Tensor:
    """Apply fn once per distinct image object; stack to uint8 (3, T, h, w), the model's layout."""
    done: dict[int, np.ndarray] = {}
    for img in frames:
        if id(img) not in done:
            done[id(img)] = np.asarray(fn(img))
    clip = torch.from_numpy(np.stack([done[id(img)] for img in frames]))   # (T, h, w, 3) uint8
    return rearrange(clip, "t h w c -> c t h w").contiguous()              # (3, T, h, w): one byte a value


def _map_distinct(frames: list[Image.Image], fn) -> list[Image.Image]:
    """fn applied once per distinct image object; a repeated frame stays one (new) object."""
    done: dict[int, Image.Image] = {}
    for img in frames:
        if id(img) not in done:
            done[id(img)] = fn(img)
    return [done[id(img)] for img in frames]


def train_transform(frames: list[Image.Image], size: int, cfg: AugConfig, rng: np.random.Generator) -> torch.Tensor:
    """T PIL frames -> uint8 (3, T, size, size): one crop, one flip, one colour op set for all frames.

    In the official order (MCG-NJU/VideoMAE `kinetics.py` `_aug_frame`): RandAugment on the decoded
    frames, then the crop and flip, then random erasing; each drawn once per clip."""
    if cfg.randaug:  # the same ops on every frame (finetune/data/randaug.py)
        ops = sample_randaug(parse_randaug(cfg.randaug), rng)
        frames = _map_distinct(frames, lambda img: apply_randaug(img, ops))
    w, h = frames[0].size
    p = sample_params(h, w, cfg, rng)
    box = (p.left, p.top, p.left + p.width, p.top + p.height)

    def spatial(img: Image.Image) -> Image.Image:
        img = img.resize((size, size), Image.BILINEAR, box=box)    # crop + resize in one antialiased pass
        return img.transpose(Image.FLIP_LEFT_RIGHT) if p.flip else img

    x = _per_frame(frames, spatial)
    if cfg.colour_jitter:
        # the colour ops work on float (T, 3, H, W) in [0, 1]; back to uint8 for the trip to the GPU
        f = rearrange(x, "c t h w -> t c h w").float().div_(255)
        f = colour_jitter(f, cfg.colour_jitter, np.random.default_rng(p.colour_seed))
        x = rearrange(f.mul_(255).round_().to(torch.uint8), "t c h w -> c t h w").contiguous()
    if cfg.reprob > 0:  # one box for the whole clip, fresh noise on each frame (finetune/data/erasing.py)
        x = random_erase(x, cfg.reprob, *cfg.erase_mean_std, rng)
    return x


def short_side_size(h: int, w: int, short_side: int) -> tuple[int, int]:
    """(h, w) scaled so that the shorter side is `short_side`, aspect kept."""
    s = short_side / min(h, w)
    return max(short_side, round(h * s)), max(short_side, round(w * s))


def crop_positions(h: int, w: int, size: int, n: int) -> list[tuple[int, int]]:
    """(top, left) of n crops evenly spread along the long side, centred on the short side."""
    if n == 1:
        return [((h - size) // 2, (w - size) // 2)]
    if w >= h:
        return [((h - size) // 2, round(k * (w - size) / (n - 1))) for k in range(n)]
    return [(round(k * (h - size) / (n - 1)), (w - size) // 2) for k in range(n)]


def eval_region(frames: list[Image.Image], size: int = 224, short_side: int = 224, views: int = 1) -> torch.Tensor:
    """T PIL frames -> uint8 (3, T, h, w): the resized clip, cut to the part the `views` crops cover.

    Resize the short side to `short_side`, then keep the centre `size` pixels across the
    short side (every crop lies there) and, for 3 crops, the whole long side; for one crop,
    just the centre square. `views_of` cuts the views out of this region, on the GPU, so a
    worker ships one region of ~1.5 crops instead of 6 float views (15x fewer bytes).
    """
    if views not in (1, 2, 3, 6):
        raise ValueError(f"expected views in (1, 2, 3, 6), got {views}")
    w, h = frames[0].size
    rh, rw = short_side_size(h, w, max(short_side, size))
    if views in (1, 2):  # only the centre crop is needed
        box_h, box_w = size, size
    else:
        box_h, box_w = (size, rw) if rw >= rh else (rh, size)
    top, left = (rh - box_h) // 2, (rw - box_w) // 2
    x = _per_frame(frames, lambda img: img.resize((rw, rh), Image.BILINEAR))   # (3, T, rh, rw)
    return x[..., top:top + box_h, left:left + box_w].contiguous()


def views_of(region: torch.Tensor, size: int, views: int) -> torch.Tensor:
    """(..., 3, T, h, w) region from `eval_region` -> (V, ..., 3, T, size, size) views, on the region's device.

    views 1: centre crop; 2: centre + mirrored; 3: three crops along the long side;
    6: three crops + their mirrors, ordered [c0, c1, c2, flip(c0), flip(c1), flip(c2)].
    """
    h, w = region.shape[-2:]
    positions = crop_positions(h, w, size, 3 if views in (3, 6) else 1)
    crops = [region[..., top:top + size, left:left + size] for top, left in positions]
    if views in (2, 6):
        crops += [c.flip(-1) for c in crops]
    return torch.stack(crops)                                  # (V, ..., 3, T, size, size)


def eval_views(frames: list[Image.Image], size: int = 224, short_side: int = 224, views: int = 1) -> torch.Tensor:
    """T PIL frames -> uint8 (V, 3, T, size, size): `eval_region` then `views_of`, all on the CPU."""
    return views_of(eval_region(frames, size, short_side, views), size, views)


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 (..., 3, T, H, W) in 0..255 -> float (x / 255 - mean) / std, on x's device.

    Workers ship uint8 (4x fewer bytes through shared memory, pinning and the copy to
    the GPU); this runs after the copy, on the GPU.
    """
    m = torch.as_tensor(mean, dtype=torch.float32, device=x.device).view(3, 1, 1, 1)  # no copy if already there
    s = torch.as_tensor(std, dtype=torch.float32, device=x.device).view(3, 1, 1, 1)
    return x.float().div_(255).sub_(m).div_(s)  # in place on the one new float tensor
