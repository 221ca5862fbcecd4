"""From a data folder and a config to the train / validation / test loaders of a run.

- The validation split is grouped by source video (clips `..._1`, `..._2` of one
  HMDB51 video stay on one side) and saved as RUN/split.json, so a
  resumed run and `predict` see the same split.
- Exp 1 ("vanilla") trains on the evaluation transform: resize + centre crop, the
  middle frame of each segment, nothing random. From Exp 2 on, the training set
  draws ONE crop/flip per clip (finetune.data.transforms) and jittered frame indices.
- The augmentation of sample i in epoch e depends only on (seed, e, i), and the
  order on (seed, e) (`StepBatchSampler`): a run resumed mid-epoch, even with
  another number of processes, trains on exactly the clips the killed run had left.
- Workers ship uint8 and live for the whole run (`persistent_workers`); pinned
  host memory lets the copy to the GPU overlap the compute (`non_blocking`);
  normalising and the TTA crops happen on the GPU (finetune.data.batch).
"""
import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from finetune.config import VIEWS
from finetune.data.batch import collate_eval, collate_repeated
from finetune.data.dataset import VideoClipDataset
from finetune.data.layout import Clip
from finetune.data.split import grouped_split, load_split, save_split
from finetune.data.transforms import HALF_MEAN, HALF_STD, IMAGENET_MEAN, IMAGENET_STD, AugConfig
from finetune.errors import ConfigError
from finetune.run_folder import RunFolder
from finetune.training.distributed import Dist, StepBatchSampler

MAX_WORKERS = 8  # JPEG decoding of ~30 clips/s per GPU needs a few cores; more only adds start-up time


def mean_std(cfg, device: torch.device | None = None) -> tuple:
    """The weights' normalisation (mean, std): tuples, or tensors made once on `device`.

    Made once on the GPU: building them from Python numbers for every batch would be a
    copy from pageable host memory, which waits for the GPU (a sync per batch)."""
    if cfg.mean_std not in ("imagenet", "half"):
        raise ConfigError(f"mean_std must be 'imagenet' or 'half', found {cfg.mean_std!r}")
    pair = (IMAGENET_MEAN, IMAGENET_STD) if cfg.mean_std == "imagenet" else (HALF_MEAN, HALF_STD)
    return pair if device is None else tuple(torch.tensor(v, dtype=torch.float32, device=device) for v in pair)


def split_clips(clips: list[Clip], cfg, run: Path, write: bool, read: bool = True) -> tuple[list[Clip], list[Clip]]:
    """(train clips, val clips): read RUN/split.json if it exists, else split and (rank 0) save it.

    The split is a function of (clips, val_fraction, seed), so the other processes of a
    fresh DDP run compute it themselves (`read=False`) instead of racing rank 0's write."""
    path = RunFolder(run).split
    if read and path.exists():
        tr, va = load_split(path, clips)
    else:
        tr, va = grouped_split(clips, cfg.val_fraction, cfg.seed)
        if write:
            save_split(path, clips, tr, va, seed=cfg.seed, val_fraction=cfg.val_fraction)
    return [clips[i] for i in tr], [clips[i] for i in va]


def class_counts(clips: list[Clip], num_classes: int) -> list[int]:
    """Training clips per class: the prior `predict` falls back on for a test clip it cannot read."""
    counts = [0] * num_classes
    for clip in clips:
        counts[clip.label] += 1
    return counts


def num_workers(cfg, d: Dist) -> int:
    """cfg.num_workers, or (-1, the default) the cores this process may use, minus one for itself, capped."""
    if cfg.num_workers >= 0:
        return cfg.num_workers
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cores // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", d.world)))  # torchrun: GPUs share the cores
    return max(0, min(MAX_WORKERS, per_process - 1))


def _loader(ds, d: Dist, workers: int, prefetch: int = 2, **kw) -> DataLoader:
    ahead = {"prefetch_factor": prefetch} if workers > 0 else {}  # DataLoader refuses it without workers
    return DataLoader(ds, num_workers=workers, persistent_workers=workers > 0, pin_memory=d.device.type == "cuda",
                      **ahead, **kw)


def aug_config(cfg) -> AugConfig | None:
    """The training augmentation a TrainConfig asks for; None without `aug` (Exp 1: no augmentation)."""
    if not cfg.aug:
        return None
    return AugConfig(scale=tuple(cfg.aug_scale), flip=cfg.hflip, randaug=cfg.randaug, reprob=cfg.reprob,
                     erase_mean_std=mean_std(cfg))


def train_dataset(clips: list[Clip], cfg, bad_log=None) -> VideoClipDataset:
    extra = {"bad_log": bad_log} if bad_log is not None else {}
    return VideoClipDataset(clips, num_frames=cfg.num_frames, size=cfg.image_size, train=True, aug=aug_config(cfg),
                            short_side=cfg.resize, seed=cfg.seed, repeats=cfg.repeated_aug, **extra)


def eval_dataset(clips: list[Clip], cfg, tta: str = "center", bad_log=None,
                 temporal_clips: int = 1) -> VideoClipDataset:
    """`tta`'s spatial views x `temporal_clips` clips in time (finetune.data.sampling.clip_indices) per clip."""
    extra = {"bad_log": bad_log} if bad_log is not None else {}
    return VideoClipDataset(clips, num_frames=cfg.num_frames, size=cfg.image_size, train=False, views=VIEWS[tta],
                            temporal_clips=temporal_clips, short_side=cfg.resize, seed=cfg.seed, **extra)


def train_loader(ds, cfg, d: Dist, per_step: int) -> tuple[DataLoader, StepBatchSampler]:
    """Micro-batches of `cfg.batch_size`, `per_step` clips (over all processes) per optimizer step; with
    repeated augmentation each clip arrives `cfg.repeated_aug` times, so a micro-batch holds that many more."""
    limit = cfg.limit_train_batches * cfg.batch_size
    sampler = StepBatchSampler(len(ds), cfg.batch_size, per_step, d, shuffle=True, seed=cfg.seed, limit=limit)
    # its own generator: starting the workers must not consume the global RNG (drop path draws from it)
    return _loader(ds, d, num_workers(cfg, d), cfg.prefetch, batch_sampler=sampler,
                   collate_fn=collate_repeated if cfg.repeated_aug > 1 else None,  # None: torch's default
                   generator=torch.Generator().manual_seed(cfg.seed)), sampler


def eval_loader(ds, cfg, d: Dist, views: int = 1, batch_size: int | None = None, workers: int | None = None):
    """Each process evaluates every world-th clip (no padding: every clip counted once). `views`: the model
    inputs per clip (spatial views x temporal clips), which share the default batch."""
    shard = Subset(ds, list(range(d.rank, len(ds), d.world)))
    batch = batch_size or max(1, cfg.batch_size * 2 // views)  # no gradients: twice the clips fit, shared by the views
    return _loader(shard, d, num_workers(cfg, d) if workers is None else workers, cfg.prefetch, batch_size=batch,
                   shuffle=False, collate_fn=collate_eval)
