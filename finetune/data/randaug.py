"""Photometric and geometric augmentation drawn ONCE per clip: colour jitter and VideoMAE's RandAugment.

RandAugment (Cubuk et al. 2020) as VideoMAE fine-tunes with it: the policy string
`rand-m7-n4-mstd0.5-inc1` (MCG-NJU/VideoMAE `run_class_finetuning.py`, `--aa`),
read by `parse_randaug`:

    m7       magnitude 7 on the 0..10 scale
    n4       4 ops per clip, chosen uniformly WITH replacement from the 15 ops below
    mstd0.5  each applied op draws its magnitude from N(7, 0.5), clipped to 0..10
    inc1     the "increasing" op variants: a higher magnitude is always a stronger change
             (posterize keeps fewer bits, solarize a lower threshold, enhance factors
             move further from 1 in a random direction)

Each of the 4 chosen ops runs with probability 0.5. Per frame or per clip? In the
official code (`rand_augment.py`, `AugmentOp.__call__`, called from `kinetics.py`
`_aug_frame` through `video_transforms.create_random_augment`) the op list, the
coin flip, the magnitude and the sign are drawn ONCE per call on the clip's list
of PIL frames, and the same op with the same arguments then runs on every frame.
`sample_randaug` draws them once here too and `apply_randaug` runs them on each
frame. The ops that measure the image (AutoContrast, Equalize) measure each frame
on its own, as PIL does there, so identical frames stay identical but a clip whose
brightness changes is not stretched as one block. The official order is kept as
well: RandAugment on the decoded frames, THEN the random crop (finetune/data/transforms.py).
Geometric ops resample bicubically (the official `--train_interpolation bicubic`) and
fill with grey 128 (`_FILL` of the official file).

Colour jitter (brightness, contrast, saturation, one factor each per clip) works on
the cropped clip as a float (T, 3, H, W) tensor in [0, 1], with statistics (the mean
grey level) taken over the whole clip, so identical frames stay identical. It is not
part of the official recipe (its `--color_jitter` argument is never used by
`kinetics.py`) and is off unless `AugConfig.colour_jitter` is set.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageEnhance, ImageOps

from finetune.errors import ConfigError

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


def colour_jitter(x: torch.Tensor, strength: float, rng: np.random.Generator) -> torch.Tensor:
    """Brightness, contrast, saturation each scaled by a factor in [1-s, 1+s], drawn once per clip."""
    if strength <= 0:
        return x
    b, c, s = rng.uniform(1 - strength, 1 + strength, size=3)
    return adjust_saturation(adjust_contrast(adjust_brightness(x, b), c), s)


# -- RandAugment, as MCG-NJU/VideoMAE rand_augment.py ------------------------------------------------

OFFICIAL_RANDAUG = "rand-m7-n4-mstd0.5-inc1"  # run_class_finetuning.py `--aa` default
MAX_LEVEL = 10.0  # magnitudes live on 0..10
_FILL = (128, 128, 128)  # what rotate / shear / translate leave behind (official `_FILL`)
_RESAMPLE = Image.BICUBIC  # official `--train_interpolation bicubic`


@dataclass(frozen=True)
class RandAugSpec:
    """A parsed policy string; the defaults are the official parser's (magnitude 10, 2 ops, no noise)."""
    magnitude: float = MAX_LEVEL  # m
    num_ops: int = 2  # n
    magnitude_std: float = 0.0  # mstd
    increasing: bool = False  # inc


def parse_randaug(text: str) -> RandAugSpec:
    """'rand-m7-n4-mstd0.5-inc1' -> RandAugSpec(7, 4, 0.5, True); a ConfigError for anything else.

    The official parser reads `inc0` as True too (`bool("0")`); here inc0 means what it says."""
    parts = text.split("-")
    if parts[0] != "rand":
        raise ConfigError(f"randaug: expected a policy like {OFFICIAL_RANDAUG!r} (starting with 'rand'), "
                          f"found {text!r}")
    values = {}
    for part in parts[1:]:
        match = re.fullmatch(r"(mstd|m|n|inc)(\d+(?:\.\d*)?)", part)
        if match is None:
            raise ConfigError(f"randaug: expected sections m<magnitude>, n<ops>, mstd<std>, inc<0|1> as in "
                              f"{OFFICIAL_RANDAUG!r}, found {part!r} in {text!r}")
        values[match[1]] = float(match[2])
    spec = RandAugSpec(magnitude=values.get("m", MAX_LEVEL), num_ops=int(values.get("n", 2)),
                       magnitude_std=values.get("mstd", 0.0), increasing=bool(values.get("inc", 0)))
    if not 0 <= spec.magnitude <= MAX_LEVEL:
        raise ConfigError(f"randaug: expected a magnitude m in 0..10, found {spec.magnitude:g} in {text!r}")
    return spec


class Op(NamedTuple):
    fn: Callable[[Image.Image, float | None], Image.Image]  # (frame, argument) -> frame
    level: Callable[[float, int], float] | None  # (magnitude / 10, sign) -> argument; None: no argument
    signed: bool = False  # the sign is drawn (+1 or -1 with probability 1/2 each)


def _affine(matrix) -> Callable:
    return lambda img, v: img.transform(img.size, Image.AFFINE, matrix(img, v), resample=_RESAMPLE, fillcolor=_FILL)


def _enhance(kind) -> Callable:
    return lambda img, v: kind(img).enhance(v)


def _posterize(img: Image.Image, bits: float) -> Image.Image:
    return img if bits >= 8 else ImageOps.posterize(img, int(bits))


def _solarize_add(img: Image.Image, add: float, threshold: int = 128) -> Image.Image:
    """Add `add` to every value below the threshold (capped at 255)."""
    lut = [min(255, i + int(add)) if i < threshold else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


def _increasing_factor(f: float, sign: int) -> float:
    """Increasing enhance factor: 1 +- 0.9 f, in [0.1, 1.9]; f = 0 leaves the frame as it is."""
    return 1.0 + sign * 0.9 * f


def _plain_factor(f: float, sign: int) -> float:
    """Plain enhance factor: 0.1 (f = 0, nearly grey / black / blurred) .. 1.9 (f = 1)."""
    return 1.8 * f + 0.1


OPS: dict[str, Op] = {
    "AutoContrast": Op(lambda img, _: ImageOps.autocontrast(img), None),
    "Equalize": Op(lambda img, _: ImageOps.equalize(img), None),
    "Invert": Op(lambda img, _: ImageOps.invert(img), None),
    "Rotate": Op(lambda img, v: img.rotate(v, resample=_RESAMPLE, fillcolor=_FILL), lambda f, s: s * 30 * f, True),
    "Posterize": Op(_posterize, lambda f, s: int(4 * f)),
    "PosterizeIncreasing": Op(_posterize, lambda f, s: 4 - int(4 * f)),
    "Solarize": Op(lambda img, v: ImageOps.solarize(img, v), lambda f, s: int(256 * f)),
    "SolarizeIncreasing": Op(lambda img, v: ImageOps.solarize(img, v), lambda f, s: 256 - int(256 * f)),
    "SolarizeAdd": Op(_solarize_add, lambda f, s: int(110 * f)),
    "Color": Op(_enhance(ImageEnhance.Color), _plain_factor),
    "ColorIncreasing": Op(_enhance(ImageEnhance.Color), _increasing_factor, True),
    "Contrast": Op(_enhance(ImageEnhance.Contrast), _plain_factor),
    "ContrastIncreasing": Op(_enhance(ImageEnhance.Contrast), _increasing_factor, True),
    "Brightness": Op(_enhance(ImageEnhance.Brightness), _plain_factor),
    "BrightnessIncreasing": Op(_enhance(ImageEnhance.Brightness), _increasing_factor, True),
    "Sharpness": Op(_enhance(ImageEnhance.Sharpness), _plain_factor),
    "SharpnessIncreasing": Op(_enhance(ImageEnhance.Sharpness), _increasing_factor, True),
    "ShearX": Op(_affine(lambda img, v: (1, v, 0, 0, 1, 0)), lambda f, s: s * 0.3 * f, True),
    "ShearY": Op(_affine(lambda img, v: (1, 0, 0, v, 1, 0)), lambda f, s: s * 0.3 * f, True),
    "TranslateXRel": Op(_affine(lambda img, v: (1, 0, v * img.size[0], 0, 1, 0)), lambda f, s: s * 0.45 * f, True),
    "TranslateYRel": Op(_affine(lambda img, v: (1, 0, 0, 0, 1, v * img.size[1])), lambda f, s: s * 0.45 * f, True),
}
_SHARED = ["AutoContrast", "Equalize", "Invert", "Rotate"]
_GEOMETRIC = ["ShearX", "ShearY", "TranslateXRel", "TranslateYRel"]
RAND_OPS = _SHARED + ["Posterize", "Solarize", "SolarizeAdd", "Color", "Contrast", "Brightness", "Sharpness"] \
    + _GEOMETRIC  # official `_RAND_TRANSFORMS`
RAND_INCREASING_OPS = _SHARED + ["PosterizeIncreasing", "SolarizeIncreasing", "SolarizeAdd", "ColorIncreasing",
                                 "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing"] \
    + _GEOMETRIC  # official `_RAND_INCREASING_TRANSFORMS` (inc1)


def sample_randaug(spec: RandAugSpec, rng: np.random.Generator) -> list[tuple[str, float | None]]:
    """One clip's ops as (name, argument), drawn in the official order: the n ops, then for each its
    coin flip (probability 0.5), its magnitude (N(m, mstd), clipped to 0..10) and its sign."""
    names = RAND_INCREASING_OPS if spec.increasing else RAND_OPS
    chosen = [names[k] for k in rng.integers(len(names), size=spec.num_ops)]  # uniform, with replacement
    ops = []
    for name in chosen:
        if rng.random() > 0.5:
            continue  # this op is skipped for the whole clip
        m = rng.normal(spec.magnitude, spec.magnitude_std) if spec.magnitude_std > 0 else spec.magnitude
        f = min(MAX_LEVEL, max(0.0, m)) / MAX_LEVEL
        op = OPS[name]
        sign = (-1 if rng.random() > 0.5 else 1) if op.signed else 1
        ops.append((name, op.level(f, sign) if op.level is not None else None))
    return ops


def apply_randaug(img: Image.Image, ops: list[tuple[str, float | None]]) -> Image.Image:
    """Run a clip's ops (from `sample_randaug`) on one frame; every frame of the clip gets the same ops."""
    for name, arg in ops:
        img = OPS[name].fn(img, arg)
    return img
