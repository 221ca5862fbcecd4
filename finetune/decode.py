"""Decoding the sampled frames of a clip with Pillow, fast and with errors that name the file.

Speed (issue 5 item 9): the loader must outrun the GPU (~20-35 clips/s for
VideoMAE-B on a T4), so
- only the sampled frames are decoded, each distinct frame once per sample
  even when oversampling repeats it (a 5-frame clip -> 5 decodes, not 16);
- JPEG frames larger than needed are decoded at 1/2, 1/4 or 1/8 scale by the
  JPEG decoder itself (`Image.draft`), PNG frames shrunk with `Image.reduce`
  (integer box filter) before any float work.
Robustness: a truncated or unreadable frame raises `FrameError` with the path,
never a bare PIL traceback from deep inside a DataLoader worker.
"""
from __future__ import annotations

import math
from pathlib import Path

from PIL import Image


class FrameError(RuntimeError):
    """A frame file could not be decoded; the message names the file."""


def read_frame(path: Path, min_short_side: int = 0) -> Image.Image:
    """One frame as a loaded RGB PIL image, shrunk while its short side stays >= min_short_side."""
    try:
        with Image.open(path) as img:
            w, h = img.size
            if min_short_side and min(w, h) >= 2 * min_short_side:
                s = min_short_side / min(w, h)
                if img.format == "JPEG":
                    img.draft("RGB", (math.ceil(w * s), math.ceil(h * s)))   # decoder picks the scale
                else:
                    img = img.reduce(min(w, h) // min_short_side)
            return img.convert("RGB")                                        # forces the full decode
    except (OSError, ValueError, SyntaxError) as e:  # UnidentifiedImageError and truncation are OSErrors
        raise FrameError(f"cannot decode frame {path}: {type(e).__name__}: {e}") from None


def read_clip(paths: list[Path], indices: list[int], min_short_side: int = 0) -> list[Image.Image]:
    """The frames paths[i] for i in indices, in that order; a repeated index gives the SAME image object.

    Decoding each distinct frame once also lets the transforms work once per
    distinct frame. Frames whose size differs from the first sampled frame are
    resized to it (check-data reports such clips).
    """
    cache: dict[int, Image.Image] = {}
    for i in indices:
        if i not in cache:
            cache[i] = read_frame(paths[i], min_short_side)
    size = cache[indices[0]].size
    for i, img in cache.items():
        if img.size != size:
            cache[i] = img.resize(size, Image.BILINEAR)
    return [cache[i] for i in indices]
