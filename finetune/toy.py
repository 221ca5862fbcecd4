"""The toy data and the toy pretraining: the whole pipeline on a laptop, with no download.

make_toy_data: a toy dataset in EXACTLY the competition layout, from the synthetic action clips.

    OUT/data_train/<class>/<clip>/10000.jpg ...   5-20 frames of 320x240, JPEG
    OUT/test/<id>/10000.jpg ...                   ids 0..n-1, no labels here
    OUT/test_labels.csv                           id,class  (local scoring only)

With `videos="avi"|"mp4"|"webm"|"mkv"` every clip is one small video file instead
(OUT/data_train/<class>/<clip>.avi, OUT/test/<id>.avi, written with PyAV),
the way HMDB51 and UCF101 ship: raw-video data without a download.

Why: every part of the pipeline (layout reading, check-data, training,
prediction, the submission file) can then be run end to end on a laptop
without the real data (HMDB51 frames from Kaggle). The classes come from
`videomae.synthetic` (decided by motion, so a per-frame model cannot solve
them). Clip names imitate HMDB51, several clips per "source video" that differ
only in the trailing `_<n>`, so the grouped validation split is exercised too.

pretrain_toy: a few minutes of VideoMAE pretraining on CPU, the demo's stand-in
for the Kinetics-400 weights. The competition starts from
`MCG-NJU/videomae-base-finetuned-kinetics`: a ViT-B that was first pretrained
by masked reconstruction (90% tube masking, the course notes, section III.2),
then fine-tuned on K400. The demo has no network and two CPU cores, so it plays
the same story at toy scale: a tiny VideoMAE reconstructs its unlabelled
training clips with 90% of every frame hidden (the same hidden positions in
every frame: tube masking), and its encoder becomes the `weights` of the
fine-tuning run, in the same HF folder format a real checkpoint has. Labels
are never used there.
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from finetune.data.dataset import VideoClipDataset
from finetune.data.layout import FIRST_FRAME, list_train_clips
from finetune.data.transforms import IMAGENET_MEAN, IMAGENET_STD, AugConfig, normalize
from finetune.errors import ConfigError
from videomae import tube_mask, videomae_tiny
from videomae.synthetic import ACTIONS, make_clip

VIDEO_KINDS = ("avi", "mp4", "webm", "mkv")


def _write_clip(folder: Path, frames: np.ndarray, quality: int) -> None:
    folder.mkdir(parents=True, exist_ok=False)
    for k, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{FIRST_FRAME + k}.jpg", quality=quality)


def make_toy_data(out: str | Path, classes: int = 10, clips_per_class: int = 8, test_clips: int = 20,
                      seed: int = 0, frames: tuple[int, int] = (5, 20), height: int = 240, width: int = 320,
                      quality: int = 90, videos: str | None = None) -> Path:
    """Write the toy dataset under `out` and return `out`. Classes are the first K synthetic actions.

    videos: None for JPEG frame folders, or 'avi' / 'mp4' / 'webm' / 'mkv' for one video file per clip.
    """
    out = Path(out)
    if not 1 <= classes <= len(ACTIONS):
        raise ConfigError(f"expected 1 <= classes <= {len(ACTIONS)} (the synthetic actions), got {classes}")
    if videos is not None and videos not in VIDEO_KINDS:
        raise ConfigError(f"expected videos in {VIDEO_KINDS} (or None for frame folders), got {videos!r}")
    write = _write_clip
    if videos is not None:
        from finetune.data.video import require_av, write_video

        require_av()                                       # no PyAV: one error before anything is written

        def write(folder: Path, pixels: np.ndarray, quality: int) -> None:   # the clip as one video file
            write_video(folder.with_name(f"{folder.name}.{videos}"), pixels)
    if (out / "data_train").exists() or (out / "test").exists():
        raise FileExistsError(f"{out} already holds data_train/ or test/; choose an empty folder")
    rng = np.random.default_rng(seed)
    names = sorted(ACTIONS[:classes])
    for c in names:
        n, source = 0, 0
        while n < clips_per_class:                      # 1-3 clips per source video, like HMDB51
            per_source = min(int(rng.integers(1, 4)), clips_per_class - n)
            for k in range(per_source):
                clip_name = f"Toy_{source:03d}_{c}_u_nm_np1_fr_med_{k}"
                t = int(rng.integers(frames[0], frames[1] + 1))
                write(out / "data_train" / c / clip_name, make_clip(ACTIONS.index(c), t, height, width, rng),
                            quality)
            n, source = n + per_source, source + 1
    rows = []
    for i in range(test_clips):
        c = names[int(rng.integers(classes))]
        t = int(rng.integers(frames[0], frames[1] + 1))
        write(out / "test" / str(i), make_clip(ACTIONS.index(c), t, height, width, rng), quality)
        rows.append((i, c))
    with open(out / "test_labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("id", "class"), *rows])
    return out


write_toy_dataset = make_toy_data  # its older name, which tests/conftest.py and benchmarks/loader_speed.py import


def pretrain_toy(data, out, epochs: int = 8, num_frames: int = 8, image_size: int = 48, batch_size: int = 8,
                 mask_ratio: float = 0.9, lr: float = 1.5e-3, seed: int = 0, num_workers: int = 0,
                 log=print, **model_kw) -> Path:
    """Pretrain `videomae_tiny` on DATA's training clips (no labels) and save it to OUT (HF folder)."""
    clips, _ = list_train_clips(data)
    torch.manual_seed(seed)
    model = videomae_tiny(num_frames=num_frames, image_size=image_size, **model_kw)
    ds = VideoClipDataset(clips, num_frames=num_frames, size=image_size, train=True, short_side=image_size,
                          aug=AugConfig(scale=(0.6, 1.0), flip=0.0), seed=seed)  # no flip: direction is a class
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=num_workers, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.05)  # official betas
    total = epochs * len(loader)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for epoch in range(epochs):
        ds.set_epoch(epoch)
        losses = []
        for videos, _ in loader:
            mask = tube_mask(videos.shape[0], model.cfg.grid, mask_ratio, generator=gen)  # (B, N), True = hidden
            loss, _ = model(normalize(videos, IMAGENET_MEAN, IMAGENET_STD), mask)  # uint8 clips -> what finetune feeds
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        log(f"  pretrain epoch {epoch + 1}/{epochs}: reconstruction loss {sum(losses) / len(losses):.4f} "
            f"({time.perf_counter() - start:.0f} s)")
    out = Path(out)
    model.save_pretrained(out)
    return out
