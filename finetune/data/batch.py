"""The last steps of the input pipeline, done on the device: uint8 -> float, normalise, TTA views.

Why not in the DataLoader workers? Bytes. A 16x224x224 clip is 2.4 MB as uint8
and 9.6 MB as float32; a 6-view TTA clip was 58 MB of floats. Every byte a
worker makes crosses shared memory, is pinned, and is copied to the GPU, and
on an A100/H100 that traffic, not the model, set the pace. So the workers
decode, sample and crop in uint8, and the GPU (which is idle otherwise) does:

  train:  uint8 (B, 3, T, S, S)            -> normalise           -> float (B, 3, T, S, S)
          (repeated augmentation: R copies per clip, `collate_repeated` -> (B*R, 3, T, S, S) first)
  eval:   uint8 regions (B, K, 3, T, h, w) -> crops + mirrors (V) -> normalise -> float (B*K*V, 3, T, S, S)

where a region is the resized clip cut to the span of its crops
(`transforms.eval_region`), K the temporal clips and V the spatial views.
Regions of clips with another aspect ratio have another (h, w): `collate_eval`
pads them to one tensor and keeps each clip's true size.
"""
from __future__ import annotations

import torch
from einops import rearrange
from torch.utils.data import default_collate

from finetune.data.transforms import normalize, views_of


def collate_eval(samples: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """[(region (K, 3, T, h_i, w_i) uint8 or None, key), ...]
    -> (regions padded to (B, K, 3, T, H, W), sizes (B, 2), keys).

    A sample whose region is None (a clip with no readable frame) is left out; the
    caller sees it missing from `keys`.
    """
    samples = [(r, k) for r, k in samples if r is not None]
    if not samples:
        return torch.zeros(0, 1, 3, 1, 1, 1, dtype=torch.uint8), torch.zeros(0, 2, dtype=torch.long), torch.zeros(0)
    regions, keys = zip(*samples)
    sizes = torch.tensor([r.shape[-2:] for r in regions], dtype=torch.long)   # (B, 2): each clip's (h, w)
    h, w = sizes.max(0).values.tolist()
    out = regions[0].new_zeros(len(regions), *regions[0].shape[:-2], h, w)
    for i, r in enumerate(regions):
        out[i, ..., :r.shape[-2], :r.shape[-1]] = r
    return out, sizes, default_collate(list(keys))


def collate_repeated(samples: list) -> tuple[torch.Tensor, torch.Tensor]:
    """[(videos (R, 3, T, S, S) uint8, label), ...] -> (videos (B*R, 3, T, S, S), labels (B*R,)).

    Repeated augmentation: the R copies of a clip sit side by side, [c0a, c0b, c1a, c1b, ...], as the
    official `utils.multiple_samples_collate(fold=False)` lays them out (MCG-NJU/VideoMAE)."""
    videos, labels = default_collate(samples)                               # (B, R, 3, T, S, S), (B,)
    r = videos.shape[1]
    return rearrange(videos, "b r c t h w -> (b r) c t h w"), labels.repeat_interleave(r)


def eval_input(regions: torch.Tensor, sizes: torch.Tensor, size: int, views: int, mean, std) -> torch.Tensor:
    """Padded uint8 regions (B, K, 3, T, H, W) on the device -> float (B*K*V, 3, T, size, size).

    `sizes` (B, 2) is each region's true (h, w), a CPU tensor (it decides the crop
    positions, read on the host). Clips of one size, the usual case, are cut in one go.
    """
    hw = sizes.tolist()
    if all(s == hw[0] for s in hw):
        h, w = hw[0]
        v = views_of(regions[..., :h, :w], size, views)                         # (V, B, K, 3, T, S, S)
    else:
        v = torch.stack([views_of(r[..., :h, :w], size, views) for r, (h, w) in zip(regions, hw)], dim=1)
    v = rearrange(v, "v b k c t h w -> (b k v) c t h w")                        # every view is a clip of its own
    return normalize(v, mean, std)
