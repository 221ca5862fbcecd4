"""Synthetic action videos whose class is decided by MOTION, not by appearance.

Why: VideoMAE's claim (Tong et al. 2022, sections 1 and 3; the course notes'
section III) is that videos are temporally redundant and that a good video
model must reason across time. A toy dataset where one frame already tells the
class (e.g. "red = class 3") would let a per-frame image model win and hide
exactly what tube masking and space-time attention are for. So here every
class has the same distribution of shapes, colours, sizes, positions and
backgrounds; only the change from frame to frame differs:

    move_left vs move_right, move_up vs move_down  (direction of translation)
    turn_cw vs turn_ccw                            (direction of rotation)
    grow vs shrink                                 (sign of the scale change)
    appear vs vanish                               (sign of the opacity change)

A single frame of `move_left` looks like a single frame of `move_right`; only
the order of frames separates them. Every shape carries a small marker dot
near its rim so that rotation is visible even on a circle.

Needs no download and is fast (PIL polygons + numpy blending): a few hundred
clips of 5-20 frames at 320x240 take seconds. `finetune.toydata` writes these
clips to disk in the competition layout.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw

# Alphabetical, like class folders sorted by name in the competition layout.
ACTIONS: tuple[str, ...] = (
    "appear", "grow", "move_down", "move_left", "move_right",
    "move_up", "shrink", "turn_ccw", "turn_cw", "vanish",
)

# Number of polygon vertices per shape: 3 triangle, 4 square, 5 pentagon, 32 ~ circle.
_SHAPES = (3, 4, 5, 32)


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A textured background: base colour + linear gradient + fixed coarse blotches. (H, W, 3) float32."""
    base = rng.uniform(30, 225, size=3)                                  # (3,)
    gx, gy = rng.uniform(-40, 40, size=(2, 3))                           # colour change across the image
    ys = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None, None]     # (H, 1, 1)
    xs = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :, None]     # (1, W, 1)
    bg = base + gx * xs + gy * ys                                        # (H, W, 3)
    coarse = rng.integers(0, 256, size=(max(h // 16, 2), max(w // 16, 2), 3), dtype=np.uint8)
    blotch = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR), np.float32)
    return (bg + (blotch - 128.0) * 0.15).astype(np.float32)            # (H, W, 3)


def _polygon(cx: float, cy: float, r: float, angle: float, n: int) -> list[tuple[float, float]]:
    """Vertices of a regular n-gon of circumradius r rotated by angle (radians, y axis points down)."""
    return [(cx + r * math.cos(angle + 2 * math.pi * k / n),
             cy + r * math.sin(angle + 2 * math.pi * k / n)) for k in range(n)]


def _trajectory(action: str, t: int, h: int, w: int, rng: np.random.Generator):
    """Per-frame centre x, y, radius, angle and opacity, each an array of length t."""
    s = np.arange(t, dtype=np.float64) / max(t - 1, 1)                  # 0 -> 1 over the clip
    r0 = rng.uniform(0.10, 0.18) * min(h, w)
    radius = np.full(t, r0)
    if action in ("grow", "shrink"):
        lo, hi = r0 * rng.uniform(0.45, 0.7), r0 * rng.uniform(1.3, 1.6)
        radius = lo + (hi - lo) * (s if action == "grow" else 1 - s)
    angle = rng.uniform(0, 2 * math.pi) + np.zeros(t)
    if action in ("turn_cw", "turn_ccw"):
        speed = rng.uniform(math.radians(6), math.radians(20))           # < 36 deg/frame: no aliasing on a pentagon
        # Screen y points down, so increasing angle turns clockwise on screen.
        angle = angle + (1 if action == "turn_cw" else -1) * speed * np.arange(t)
    opacity = np.ones(t)
    if action in ("appear", "vanish"):
        start, stop = rng.uniform(0.0, 0.3), rng.uniform(0.7, 1.0)
        ramp = np.clip((s - start) / (stop - start), 0, 1)
        opacity = ramp if action == "appear" else 1 - ramp
    margin = radius.max() + 2
    cx = np.full(t, rng.uniform(margin, w - margin))
    cy = np.full(t, rng.uniform(margin, h - margin))
    if action.startswith("move_"):
        horizontal = action in ("move_left", "move_right")
        room = (w if horizontal else h) - 2 * margin                     # path must stay inside the frame
        dist = rng.uniform(0.35, 1.0) * room                             # random speed
        start = rng.uniform(margin, margin + room - dist)
        path = start + dist * s
        if action in ("move_left", "move_up"):
            path = path[::-1]
        if horizontal:
            cx = path
        else:
            cy = path
    return cx, cy, radius, angle, opacity


def make_clip(action: int, num_frames: int, height: int, width: int,
              rng: np.random.Generator) -> np.ndarray:
    """One clip of ACTIONS[action] as (T, H, W, 3) uint8.

    Random per clip: shape, colour (kept apart from the background), size,
    position, textured background, speed. Per frame: a little sensor noise.
    """
    if not 0 <= action < len(ACTIONS):
        raise ValueError(f"action must be in [0, {len(ACTIONS)}), got {action}")
    if num_frames < 1 or height < 8 or width < 8:
        raise ValueError(f"expected num_frames >= 1 and a frame of at least 8x8, "
                         f"got T={num_frames}, H={height}, W={width}")
    name = ACTIONS[action]
    bg = _background(height, width, rng)                                 # (H, W, 3)
    bg_mean = bg.mean(axis=(0, 1))
    colour = rng.uniform(0, 255, size=3)
    while np.abs(colour - bg_mean).sum() < 180:                          # visible against the background
        colour = rng.uniform(0, 255, size=3)
    marker = 255.0 - colour                                              # contrasting dot shows the rotation
    sides = int(rng.choice(_SHAPES))
    cx, cy, radius, angle, opacity = _trajectory(name, num_frames, height, width, rng)
    noise = rng.integers(-6, 7, size=(height, width, 3)).astype(np.float32)  # rolled per frame: cheap noise

    out = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        shape_mask = Image.new("L", (width, height), 0)
        dot_mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(shape_mask).polygon(_polygon(cx[t], cy[t], radius[t], angle[t], sides), fill=255)
        dx, dy = cx[t] + 0.6 * radius[t] * math.cos(angle[t]), cy[t] + 0.6 * radius[t] * math.sin(angle[t])
        dr = max(1.5, 0.18 * radius[t])
        ImageDraw.Draw(dot_mask).ellipse((dx - dr, dy - dr, dx + dr, dy + dr), fill=255)
        a = np.asarray(shape_mask, np.float32)[..., None] / 255.0 * opacity[t]   # (H, W, 1)
        d = np.asarray(dot_mask, np.float32)[..., None] / 255.0 * opacity[t]     # (H, W, 1)
        frame = bg * (1 - a) + colour * a
        frame = frame * (1 - d) + marker * d
        frame += np.roll(noise, shift=(int(rng.integers(height)), int(rng.integers(width))), axis=(0, 1))
        out[t] = np.clip(frame, 0, 255).astype(np.uint8)
    return out


def make_batch(batch: int, num_frames: int, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of random clips: video (B, 3, T, size, size) float32 in [0, 1], labels (B,) int64.

    Repeatable: the same seed gives the same batch.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(ACTIONS), size=batch)
    return render(labels, num_frames, size, rng), torch.from_numpy(labels).long()


def render(actions, num_frames: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """One clip per entry of `actions` (indices into ACTIONS), drawn in order from `rng`:
    video (B, 3, T, size, size) float32 in [0, 1], the layout the models take."""
    clips = np.stack([make_clip(int(a), num_frames, size, size, rng) for a in actions])  # (B, T, H, W, 3)
    video = torch.from_numpy(clips).permute(0, 4, 1, 2, 3).float().div_(255.0)          # -> (B, 3, T, H, W)
    return video.contiguous()
