"""`VideoClipDataset`: clip folder -> sampled, augmented, normalised (C, T, H, W) tensor.

One sample = sample indices (finetune.sampling) -> decode only those frames
(finetune.decode) -> one consistent spatial transform for the whole clip
(finetune.transforms) -> normalise with the weights' mean/std.

Modes
- train=True: a random crop/flip/colour decision per clip, jittered indices;
  returns (video (C, T, size, size), label).
- train=False, views=1: resize short side, centre crop; (video, label_or_id).
- train=False, views='tta6' or 2/3/6, temporal_clips=K: (views (K*V, C, T, size, size), id),
  views produced on the fly (the seed's Exp 4); ordered temporal clip major,
  then [c0, c1, c2, flip(c0), flip(c1), flip(c2)].

Randomness (repeatable, different per sample, per epoch and per worker)
- After `set_epoch(e)` (call it every epoch, like DistributedSampler), sample i
  uses numpy `default_rng([seed, e, i])`: the augmentation of a sample depends on
  (seed, epoch, index) only, so 0, 1 or 8 workers give the same batches. With
  persistent_workers=True the workers keep their own copy of the dataset and
  never see set_epoch: leave persistent_workers off (the default).
- Without set_epoch, sample i uses `default_rng([seed, i, torch.initial_seed(), calls])`:
  torch gives each worker a different seed every epoch and `calls` counts the
  samples this copy has made, so augmentations still change every epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from finetune.decode import read_clip
from finetune.layout import Clip, list_frames
from finetune.sampling import sample_indices, temporal_offsets
from finetune.transforms import IMAGENET_MEAN, IMAGENET_STD, AugConfig, eval_views, normalize, train_transform


@dataclass
class VideoClipDataset(Dataset):
    clips: list[Clip]
    num_frames: int = 16                 # VideoMAE K400 weights were trained on 16 frames (seed IV.3.3)
    size: int = 224                      # the checkpoints' input size: 14x14 patches of 16 px
    train: bool = True
    aug: AugConfig = field(default_factory=AugConfig)
    mean: tuple[float, ...] = IMAGENET_MEAN  # IMAGENET_* for VideoMAE K400; HALF_* for the timm ViT baseline
    std: tuple[float, ...] = IMAGENET_STD
    views: int | str = 1                 # eval only: 1, 2, 3, 6 or 'tta6'
    temporal_clips: int = 1              # eval only: K clips at offsets (k + 0.5) / K
    short_side: int = 256                # eval resize before the centre crop (VideoMAE's test protocol)
    seed: int = 0
    epoch: int | None = None
    _calls: int = field(default=0, init=False, repr=False)

    def __post_init__(self):
        if self.views == "tta6":
            self.views = 6
        if self.train and (self.views != 1 or self.temporal_clips != 1):
            raise ValueError(f"views/temporal_clips are for evaluation; got train=True, views={self.views}, "
                             f"temporal_clips={self.temporal_clips}")
        if self.views not in (1, 2, 3, 6):
            raise ValueError(f"expected views in (1, 2, 3, 6, 'tta6'), got {self.views!r}")
        self._frames: dict[int, list] = {}   # frame lists, filled lazily (a worker lists only what it reads)

    def __len__(self) -> int:
        return len(self.clips)

    def set_epoch(self, epoch: int) -> None:
        """Make the augmentation of every sample a function of (seed, epoch, index)."""
        self.epoch = epoch

    def frames(self, i: int) -> list:
        if i not in self._frames:
            paths = list_frames(self.clips[i].path)
            if not paths:
                raise FileNotFoundError(f"expected frames (.jpg/.jpeg/.png) in {self.clips[i].path}, found none")
            self._frames[i] = paths
        return self._frames[i]

    def _rng(self, i: int) -> np.random.Generator:
        if self.epoch is not None:
            return np.random.default_rng([self.seed, self.epoch, i])
        self._calls += 1
        return np.random.default_rng([self.seed, i, torch.initial_seed() % 2**63, self._calls])

    def __getitem__(self, i: int):
        clip, paths = self.clips[i], self.frames(i)
        need = max(self.short_side, self.size)
        if self.train:
            rng = self._rng(i)
            idx = sample_indices(len(paths), self.num_frames, True, rng)
            x = train_transform(read_clip(paths, idx, need), self.size, self.aug, rng)  # (T, 3, S, S)
            return normalize(x, self.mean, self.std), clip.label                         # (3, T, S, S)
        per_clip = [sample_indices(len(paths), self.num_frames, False, offset=o)
                    for o in temporal_offsets(self.temporal_clips)]
        flat = [j for idx in per_clip for j in idx]
        frames = read_clip(paths, flat, need)                   # every distinct frame decoded once
        views = [eval_views(frames[k * self.num_frames:(k + 1) * self.num_frames], self.size,
                            self.short_side, self.views) for k in range(len(per_clip))]
        x = normalize(torch.cat(views), self.mean, self.std)   # (K*V, T, 3, S, S) -> (K*V, 3, T, S, S)
        if self.views == 1 and self.temporal_clips == 1:
            return x[0], clip.label                             # (3, T, S, S)
        return x, clip.label
