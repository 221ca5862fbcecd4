"""A toy dataset in EXACTLY the competition layout, from the synthetic action clips.

    OUT/data_train/<class>/<clip>/10000.jpg ...   5-20 frames of 320x240, JPEG
    OUT/test/<id>/10000.jpg ...                   ids 0..n-1, no labels here
    OUT/test_labels.csv                           id,class  (local scoring only)

With `--videos avi|mp4|webm|mkv` every clip is one small video file instead
(OUT/data_train/<class>/<clip>.avi, OUT/test/<id>.avi, written with PyAV),
the way HMDB51 and UCF101 ship: raw-video data without a download.

Why: every part of the pipeline (layout reading, check-data, training,
prediction, the submission file) can then be run end to end on a laptop
without the real data (HMDB51 frames from Kaggle). The classes come from
`videomae.synthetic` (decided by motion, so a per-frame model cannot solve
them). Clip names imitate HMDB51, several clips per "source video" that differ
only in the trailing `_<n>`, so the grouped validation split is exercised too.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from videomae.synthetic import ACTIONS, make_clip

from finetune.data.layout import FIRST_FRAME
from finetune.errors import ConfigError

VIDEO_KINDS = ("avi", "mp4", "webm", "mkv")


def _write_clip(folder: Path, frames: np.ndarray, quality: int) -> None:
    folder.mkdir(parents=True, exist_ok=False)
    for k, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{FIRST_FRAME + k}.jpg", quality=quality)


def write_toy_dataset(out: str | Path, classes: int = 10, clips_per_class: int = 8, test_clips: int = 20,
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


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "make-toy-data", help="write synthetic action clips in the competition layout",
        description="Write synthetic action clips (classes decided by motion) as JPEG frames in exactly the "
                    "competition layout: OUT/data_train/<class>/<clip>/10000.jpg..., OUT/test/<id>/..., plus "
                    "OUT/test_labels.csv (id,class) for local scoring only.")
    p.add_argument("out", help="output folder (must not already hold data_train/ or test/)")
    p.add_argument("--classes", type=int, default=10, help=f"number of classes, 1..{len(ACTIONS)} (default 10)")
    p.add_argument("--clips-per-class", type=int, default=8, help="training clips per class (default 8)")
    p.add_argument("--test-clips", type=int, default=20, help="unlabelled test clips (default 20)")
    p.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same data")
    p.add_argument("--videos", choices=VIDEO_KINDS, help="write each clip as one video file of this kind "
                   "(OUT/data_train/<class>/<clip>.avi, OUT/test/<id>.avi; needs PyAV) instead of JPEG frames")
    p.set_defaults(func=_run)


def _run(args) -> int:
    out = write_toy_dataset(args.out, args.classes, args.clips_per_class, args.test_clips, args.seed,
                            videos=args.videos)
    kind = f" as .{args.videos} videos" if args.videos else ""
    print(f"wrote {args.classes} classes x {args.clips_per_class} train clips and {args.test_clips} test clips{kind} "
          f"to {out} (test labels in {out / 'test_labels.csv'})")
    return 0
