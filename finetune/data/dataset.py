"""`VideoClipDataset`: clip folder or video -> sampled, augmented uint8 clip, in the model's (C, T, H, W) layout.

One sample = sample indices (finetune.data.sampling) -> decode only those frames
(finetune.data.decode for frame folders, finetune.data.video for .avi/.mp4/...
files; a video's frame count is read once and kept) -> one consistent spatial transform for the whole clip
(finetune.data.transforms). Samples stay uint8: normalising (and, for evaluation,
cutting the TTA views) happens on the GPU after the copy (finetune.data.batch).

Modes
- train=True: a random crop/flip/colour decision per clip, jittered indices;
  returns (video uint8 (3, T, size, size), label). With aug=None (the course notes'
  Exp 1, "vanilla"): the evaluation transform instead, nothing random. With
  repeats=R > 1 (repeated augmentation): one frame sample, R independent
  augmentations of it, (R, 3, T, size, size).
- train=False: resize the short side, then (region uint8 (K, 3, T, h, w), label_or_id):
  for K temporal clips, the part of the frame the `views` crops cover
  (`transforms.eval_region`; 1 view: the centre square); `finetune.data.batch.eval_input`
  cuts the views out of it on the device.

Bad data never stops a run: a frame that cannot be decoded is replaced by the
nearest readable frame of its clip, and a clip with no readable frame is left
out (train: the next clip takes its place, so every batch stays full; eval: the
sample is None and `batch.collate_eval` drops it). Each is one warning and one
line of `bad_log` (RUN/bad_frames.txt).

Randomness (repeatable, different per sample, per epoch and per worker)
- Index with (i, epoch), as `distributed.StepBatchSampler` does: sample i of
  epoch e uses numpy `default_rng([seed, e, i])`, so 0, 1 or 8 workers, kept
  alive between epochs or not, give the same batches, and a resumed run the
  same as an uninterrupted one.
- `set_epoch(e)` then index with i: the same, for plain samplers.
- Neither: `default_rng([seed, i, torch.initial_seed(), calls])`: torch gives each
  worker a different seed every epoch and `calls` counts the samples this copy has
  made, so augmentations still change every epoch.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from finetune.data import video
from finetune.data.decode import BadFrameLog, UnreadableClip, read_clip
from finetune.data.layout import Clip, list_frames
from finetune.data.sampling import clip_indices, sample_indices
from finetune.data.transforms import AugConfig, eval_region, train_transform


@dataclass
class VideoClipDataset(Dataset):
    clips: list[Clip]
    num_frames: int = 16                 # VideoMAE K400 weights were trained on 16 frames (course notes IV.3.3)
    size: int = 224                      # the checkpoints' input size: 14x14 patches of 16 px
    train: bool = True
    aug: AugConfig | None = field(default_factory=AugConfig)  # train: None = no augmentation (the course notes' Exp 1)
    views: int | str = 1                 # eval only: 1, 2, 3, 6 or 'tta6'
    temporal_clips: int = 1              # eval only: K clips at offsets (k + 0.5) / K (sampling.clip_indices)
    repeats: int = 1                     # train only: R augmentations of each clip's frames (repeated augmentation,
    #   official `--num_sample 2`); R > 1 returns (R, 3, T, S, S), `batch.collate_repeated` makes them R clips
    short_side: int = 224                # eval resize before the crops (official VideoMAE `--short_side_size`)
    seed: int = 0
    epoch: int | None = None
    bad_log: BadFrameLog = field(default_factory=BadFrameLog)  # warns once per bad file; RUN/bad_frames.txt
    _calls: int = field(default=0, init=False, repr=False)

    def __post_init__(self):
        if self.views == "tta6":
            self.views = 6
        if self.repeats < 1 or (self.repeats > 1 and (not self.train or self.aug is None)):
            raise ValueError(f"repeats is for training with augmentation (copies without it are identical), at "
                             f"least 1; got {self.repeats} with train={self.train}, aug={self.aug}")
        if self.train and (self.views != 1 or self.temporal_clips != 1):
            raise ValueError(f"views/temporal_clips are for evaluation; got train=True, views={self.views}, "
                             f"temporal_clips={self.temporal_clips}")
        if self.views not in (1, 2, 3, 6):
            raise ValueError(f"expected views in (1, 2, 3, 6, 'tta6'), got {self.views!r}")
        self._frames: dict[int, list] = {}   # frame lists, filled lazily (a worker lists only what it reads)
        self._lengths: dict[int, int] = {}   # frames per video clip, from its header or one decode pass
        if any(c.video for c in self.clips):
            video.require_av(next(c.path for c in self.clips if c.video))   # no PyAV: one error now, not per worker

    def __len__(self) -> int:
        return len(self.clips)

    def set_epoch(self, epoch: int) -> None:
        """Make the augmentation of every sample a function of (seed, epoch, index)."""
        self.epoch = epoch

    def frames(self, i: int) -> list:
        if i not in self._frames:
            self._frames[i] = list_frames(self.clips[i].path)
        return self._frames[i]

    def length(self, i: int) -> int:
        """The number of frames of clip i (at least 1, so that sampling works); UnreadableClip for a bad video."""
        if not self.clips[i].video:
            return max(len(self.frames(i)), 1)
        if i not in self._lengths:
            self._lengths[i] = video.count_frames(self.clips[i].path)
        return self._lengths[i]

    def _rng(self, i: int, epoch: int | None) -> np.random.Generator:
        if epoch is not None:
            return np.random.default_rng([self.seed, epoch, i])
        self._calls += 1
        return np.random.default_rng([self.seed, i, torch.initial_seed() % 2**63, self._calls])

    def _read(self, i: int, indices: list[int]) -> list:
        """The frames `indices` of clip i (bad frames replaced); UnreadableClip if none can be read."""
        if self.clips[i].video:
            return video.read_video(self.clips[i].path, indices, max(self.short_side, self.size), on_bad=self.bad_log)
        paths = self.frames(i)
        if not paths:
            raise UnreadableClip(f"no frames (.jpg/.jpeg/.png) in {self.clips[i].path}")
        return read_clip(paths, indices, max(self.short_side, self.size), on_bad=self.bad_log)

    def __getitem__(self, key):
        i, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        if not self.train:
            return self._eval_sample(i)
        for j in [(i + k) % len(self.clips) for k in range(len(self.clips))]:
            try:
                return self._train_sample(j, epoch), self.clips[j].label
            except UnreadableClip as err:  # left out: the next clip takes its place in the batch
                self.bad_log.clip(self.clips[j].path, str(err))
        raise UnreadableClip(f"no clip of the {len(self.clips)} has a readable frame (first: {self.clips[0].path})")

    def _train_sample(self, i: int, epoch: int | None) -> torch.Tensor:
        n = self.length(i)
        if self.aug is None:  # the course notes' Exp 1: the deterministic evaluation transform, centre frames and crop
            idx = sample_indices(n, self.num_frames, False)
            return eval_region(self._read(i, idx), self.size, self.short_side, 1)      # (3, T, S, S) uint8
        rng = self._rng(i, epoch)
        idx = sample_indices(n, self.num_frames, True, rng)
        if self.repeats == 1:
            return train_transform(self._read(i, idx), self.size, self.aug, rng)       # (3, T, S, S) uint8
        # repeated augmentation (official `kinetics.py`: one frame sample, `_aug_frame` num_sample times)
        frames = self._read(i, idx)
        return torch.stack([train_transform(frames, self.size, self.aug, rng) for _ in range(self.repeats)])

    def _eval_sample(self, i: int):
        clip = self.clips[i]
        try:
            n = self.length(i)
            per_clip = clip_indices(n, self.num_frames, self.temporal_clips)
            frames = self._read(i, [j for idx in per_clip for j in idx])   # every distinct frame decoded once
        except UnreadableClip as err:
            self.bad_log.clip(clip.path, str(err))
            return None, clip.label                                        # dropped by batch.collate_eval
        t = self.num_frames
        regions: dict[tuple, torch.Tensor] = {}  # a short clip's K clips are one: resized once
        for k, idx in enumerate(per_clip):
            if tuple(idx) not in regions:
                regions[tuple(idx)] = eval_region(frames[k * t:(k + 1) * t], self.size, self.short_side, self.views)
        return torch.stack([regions[tuple(idx)] for idx in per_clip]), clip.label   # (K, 3, T, h, w) uint8
