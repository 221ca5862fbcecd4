"""Choosing `num_frames` frame indices from a clip of any length (the course notes' section IV.3.3).

The model always sees exactly `num_frames` (16 for VideoMAE K400 weights, 8
for the course notes' faster variant), but competition clips hold about 5 to 20
frames. Segment-based sampling (TSN, Wang et al. 2016; used by VideoMAE's
fine-tuning) handles both cases with one rule:

    cut [0, n) into num_frames equal segments; take one index per segment,
    at a random position inside the segment when training (temporal jitter,
    a free augmentation), at the segment centre when evaluating.

- n < num_frames: segments are shorter than one frame, so indices repeat in
  temporal order (0 0 0 1 1 1 2 ...): the course notes' "Oversampling". At eval every
  frame is used at least once.
- n >= num_frames: segments are at least one frame long, so the indices are
  distinct and spread over the whole clip, start to end, never bunched at the
  start (at train time the segments get integer edges, so two draws never
  land on the same frame).
- Indices never decrease, so time never runs backwards (the class of
  "move_left" vs "move_right" depends on it).

`offset` picks the relative position inside each segment at eval time.

Temporal test clips (`clip_indices`, `predict --clips K`): the official VideoMAE
test averages K clips x 3 crops (5 x 3 on Kinetics-400 and UCF101, 2 x 3 on
Something-Something V2: MCG-NJU/VideoMAE `scripts/`, `run_class_finetuning.py`
`--test_num_segment`). Where the K clips sit follows how the model was trained:

- `kinetics.py` (test mode) trains on windows of a fixed frame stride, so it
  slides K windows of that stride over the video, the first at the start and
  the last at the end: start_k = k * max(L - clip_len, 0) / (K - 1). A video no
  longer than one window gives every k the start 0, the same frames.
- `ssv2.py` trains as here, one frame per segment of the whole clip (TSN), so
  its 2 test clips take two positions inside each segment (offsets 0 and 0.5).

Here the K clips are the K evenly spaced positions (k + 0.5) / K inside the
segments: each clip spans the whole clip at the training's frame spacing, and
together they use K times as many distinct frames. A clip with no more frames
than sampled has no frames to spare: like kinetics.py's clamped start, every
clip then gets the same indices (those of K = 1), so no clip repeats frames
in a pattern the training never showed.
"""
from __future__ import annotations

import math

import numpy as np


def sample_indices(num_available: int, num_frames: int, train: bool,
                   rng: np.random.Generator | None = None, offset: float = 0.5) -> list[int]:
    """`num_frames` non-decreasing indices into a clip of `num_available` frames.

    train: a random position in each segment drawn from `rng` (a fresh generator if None);
    eval: the position `offset` in [0, 1) of each segment (0.5 = centre).
    """
    if num_available < 1:
        raise ValueError(f"expected a clip with at least 1 frame, got num_available={num_available}")
    if num_frames < 1:
        raise ValueError(f"expected num_frames >= 1, got {num_frames}")
    if not 0.0 <= offset < 1.0:
        raise ValueError(f"expected offset in [0, 1), got {offset}")
    seg = num_available / num_frames                                       # segment length in frames
    if train and num_available >= num_frames:
        # Integer segment edges: every segment owns >= 1 whole frame, so the draws never collide.
        rng = rng if rng is not None else np.random.default_rng()
        edges = [math.floor(k * seg) for k in range(num_frames + 1)]
        return [int(rng.integers(edges[k], edges[k + 1])) for k in range(num_frames)]
    if train:
        rng = rng if rng is not None else np.random.default_rng()
        pos = rng.random(num_frames)                                       # (T,) one draw per segment
    else:
        pos = np.full(num_frames, offset)
    idx = [min(math.floor((i + p) * seg), num_available - 1) for i, p in enumerate(pos)]
    return idx


def clip_indices(num_available: int, num_frames: int, clips: int = 1) -> list[list[int]]:
    """Eval indices of `clips` temporal clips of a clip of `num_available` frames (see the module docstring).

    clips=1: [sample_indices(..., offset=0.5)], the single centred clip. More clips: offsets
    (k + 0.5) / K in every segment, unless the clip has no more frames than `num_frames`:
    then all K are that single clip."""
    if num_available <= num_frames:
        return [sample_indices(num_available, num_frames, False)] * temporal_clip_count(clips)
    return [sample_indices(num_available, num_frames, False, offset=o) for o in temporal_offsets(clips)]


def temporal_clip_count(k: int) -> int:
    """`k`, checked: at least one temporal clip."""
    if k < 1:
        raise ValueError(f"expected at least 1 temporal clip, got {k}")
    return k


def temporal_offsets(k: int) -> list[float]:
    """Offsets for K evenly spread temporal clips at eval time: K=1 -> [0.5], K=2 -> [0.25, 0.75]."""
    return [(j + 0.5) / k for j in range(temporal_clip_count(k))]
