"""From a data folder and a config to the train / validation / test loaders of a run.

- The validation split is grouped by source video (clips `..._1`, `..._2` of one
  HMDB51 video stay on one side, REFERENCE 1) and saved as RUN/split.json, so a
  resumed run and `predict` see the same split.
- Exp 1 ("vanilla") trains on the evaluation transform: resize + centre crop, the
  middle frame of each segment, nothing random. From Exp 2 on, the training set
  draws ONE crop/flip per clip (finetune.transforms) and jittered frame indices.
- The augmentation of sample i in epoch e depends only on (seed, e, i)
  (`dataset.set_epoch`), and the shuffling on (seed, e) (`SkipSampler`): a run
  resumed mid-epoch sees exactly the batches the killed run would have seen.
"""
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from .config import VIEWS
from .dataset import VideoClipDataset
from .distributed import Dist, SkipSampler
from .layout import Clip
from .split import grouped_split, load_split, save_split
from .transforms import HALF_MEAN, HALF_STD, IMAGENET_MEAN, IMAGENET_STD, AugConfig

SPLIT = "split.json"


def mean_std(cfg) -> tuple[tuple, tuple]:
    if cfg.mean_std not in ("imagenet", "half"):
        raise ValueError(f"mean_std must be 'imagenet' or 'half', found {cfg.mean_std!r}")
    return (IMAGENET_MEAN, IMAGENET_STD) if cfg.mean_std == "imagenet" else (HALF_MEAN, HALF_STD)


def split_clips(clips: list[Clip], cfg, run: Path, write: bool, read: bool = True) -> tuple[list[Clip], list[Clip]]:
    """(train clips, val clips): read RUN/split.json if it exists, else split and (rank 0) save it.

    The split is a function of (clips, val_fraction, seed), so the other processes of a
    fresh DDP run compute it themselves (`read=False`) instead of racing rank 0's write."""
    path = Path(run) / SPLIT
    if read and path.exists():
        tr, va = load_split(path, clips)
    else:
        tr, va = grouped_split(clips, cfg.val_fraction, cfg.seed)
        if write:
            save_split(path, clips, tr, va, seed=cfg.seed, val_fraction=cfg.val_fraction)
    return [clips[i] for i in tr], [clips[i] for i in va]


def train_dataset(clips: list[Clip], cfg) -> VideoClipDataset:
    mean, std = mean_std(cfg)
    common = dict(num_frames=cfg.num_frames, size=cfg.image_size, mean=mean, std=std, short_side=cfg.resize,
                  seed=cfg.seed)
    if not cfg.aug:  # Exp 1: the deterministic evaluation transform
        return VideoClipDataset(clips, train=False, views=1, **common)
    aug = AugConfig(scale=tuple(cfg.aug_scale), flip=cfg.hflip)
    return VideoClipDataset(clips, train=True, aug=aug, **common)


def eval_dataset(clips: list[Clip], cfg, tta: str = "center") -> VideoClipDataset:
    mean, std = mean_std(cfg)
    return VideoClipDataset(clips, num_frames=cfg.num_frames, size=cfg.image_size, train=False, mean=mean, std=std,
                            views=VIEWS[tta], short_side=cfg.resize, seed=cfg.seed)


def train_loader(ds, cfg, d: Dist) -> tuple[DataLoader, SkipSampler]:
    sampler = SkipSampler(len(ds), d, shuffle=True, seed=cfg.seed)
    loader = DataLoader(
        ds, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.num_workers,
        pin_memory=d.device.type == "cuda", drop_last=False,
        # its own generator: creating an epoch's iterator must not consume the global RNG
        # (drop path draws from it), or a resumed run would drift from an uninterrupted one
        generator=torch.Generator().manual_seed(cfg.seed),
    )
    return loader, sampler


def eval_loader(ds, cfg, d: Dist, views: int = 1) -> DataLoader:
    """Each process evaluates every world-th clip (no padding: every clip counted once)."""
    shard = Subset(ds, list(range(d.rank, len(ds), d.world)))
    batch = max(1, cfg.batch_size * 2 // views)  # no gradients: twice the clips fit, divided among the views
    return DataLoader(shard, batch_size=batch, shuffle=False, num_workers=cfg.num_workers,
                      pin_memory=d.device.type == "cuda")
