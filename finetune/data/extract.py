"""Raw videos -> the competition's frame folders, resumable (`python -m finetune extract-frames VIDEOS OUT`).

    VIDEOS/data_train/<class>/<clip>.avi   ->  OUT/data_train/<class>/<clip>/10000.jpg, 10001.jpg, ...
    VIDEOS/test/<id>.avi                   ->  OUT/test/<id>/10000.jpg, ...
    VIDEOS/<class>/<clip>.avi              ->  OUT/data_train/<class>/<clip>/...   (HMDB51 / UCF101 as unpacked)

Why extract when the data layer reads videos directly (finetune.data.video)?
A JPEG folder decodes only the sampled frames, each on its own and at 1/2-1/8
scale (finetune.data.decode), while a video is decoded from its start up to the
last sampled frame at full size: an epoch over frames is cheaper, and the
Kaggle competition ships frames, so extracted data is what its notebooks expect.

- Frames are numbered from 10000 as in the competition (`ext` jpg|png,
  `quality` for JPEG). `fps=F` keeps about F frames per second of video
  (the first frame of each 1/F s slot, by the frames' time stamps); by default
  every frame is kept.
- Resumable: a clip is written into a hidden `.<clip>.partial` folder and
  renamed when complete, so a clip folder that exists is finished and a re-run
  skips it; a half-written one (the run was stopped) is written again.
- Frame folders already in VIDEOS are copied as they are, and test_labels.csv
  too, so OUT is the whole dataset and `check-data OUT` can vouch for it.
- A video that does not decode at all is listed in the result's "failed" (the
  command prints each by path and exits 1); one that stops early keeps the
  frames that decode and is listed in "short" (a warning).
"""
from __future__ import annotations

import math
import shutil
import sys
from pathlib import Path

from finetune.data.layout import (
    FIRST_FRAME,
    TEST_DIR,
    TRAIN_DIR,
    clip_entries,
    find_data_root,
    is_litter,
    list_test_clips,
    list_train_clips,
)
from finetune.errors import DataError
from finetune.progress import progress


def plan(videos: Path, out: Path) -> list[tuple[Path, Path, bool]]:
    """(source clip, destination folder, source is a video) for every clip of VIDEOS, in either input layout."""
    try:
        root = find_data_root(videos)
    except FileNotFoundError:
        root = None
    jobs = []
    if root is not None:
        if (root / TRAIN_DIR).is_dir():
            clips, classes = list_train_clips(root)
            jobs += [(c.path, out / TRAIN_DIR / classes[c.label] / c.name, c.video) for c in clips]
        if (root / TEST_DIR).is_dir():
            jobs += [(c.path, out / TEST_DIR / c.name, c.video) for c in list_test_clips(root)]
        return jobs
    classes = sorted(p for p in videos.iterdir() if p.is_dir() and not is_litter(p)) if videos.is_dir() else []
    for c in classes:
        jobs += [(e.path, out / TRAIN_DIR / c.name / e.name, e.video) for e in clip_entries(c)]
    if not any(video for _, _, video in jobs):
        raise DataError(f"expected videos in {videos}/data_train/<class>/, {videos}/test/ or {videos}/<class>/ "
                        f"(.avi/.mp4/.webm/.mkv), found none")
    return jobs


def extract_video(src: Path, dest: Path, ext: str = "jpg", quality: int = 95,
                  fps: float | None = None) -> tuple[int, str]:
    """Write the frames of one video into `dest` (made complete or not at all).

    Returns (frames written, why it stopped early or '')."""
    from finetune.data.video import VideoStopped, decode_frames, probe

    info = probe(src)
    rate = info.fps or 25.0                             # for frames without a time stamp
    tmp = dest.with_name(f".{dest.name}.partial")
    if tmp.exists():
        shutil.rmtree(tmp)                              # left by a stopped run: start this clip again
    tmp.mkdir(parents=True)
    n, decoded, last_slot, stopped = 0, 0, -1, ""
    try:
        for i, frame, t in decode_frames(src):
            decoded = i + 1
            if fps:
                slot = math.floor((t if t is not None else i / rate) * fps + 1e-6)
                if slot <= last_slot:
                    continue
                last_slot = slot
            options = {"quality": quality} if ext == "jpg" else {}
            frame.to_image().save(tmp / f"{FIRST_FRAME + n}.{ext}", **options)
            n += 1
    except VideoStopped as e:
        stopped = e.reason
    if not stopped and decoded < info.frames:          # the file ends early: a truncated video
        stopped = f"{decoded} of the {info.frames} frames its header announces"
    if n == 0:
        shutil.rmtree(tmp)
        return 0, stopped or "no frame decodes"
    tmp.rename(dest)
    return n, stopped


def extract_frames(videos, out, ext: str = "jpg", quality: int = 95, fps: float | None = None,
                   show_progress: bool = True) -> dict:
    """Convert every clip of `videos` into `out`; a summary dict (written, skipped, copied, frames, failed, short)."""
    from finetune.data.decode import UnreadableClip

    videos, out = Path(videos), Path(out)
    if not videos.is_dir():
        raise DataError(f"expected a folder of videos at {videos}, found {'a file' if videos.exists() else 'nothing'}")
    if fps is not None and fps <= 0:
        raise DataError(f"expected --fps > 0, found {fps}")
    jobs = plan(videos, out)
    if any(video for _, _, video in jobs):
        from finetune.data.video import require_av

        require_av(next(src for src, _, video in jobs if video))
    for dest in {d.parent for _, d, _ in jobs}:        # every class folder, even one whose videos all fail
        dest.mkdir(parents=True, exist_ok=True)
    result = {"written": 0, "skipped": 0, "copied": 0, "frames": 0, "failed": [], "short": []}
    for src, dest, video in progress(jobs, desc="extract-frames", unit="clip", disable=not show_progress,
                                     file=sys.stderr):
        if dest.exists():
            result["skipped"] += 1
        elif not video:
            shutil.copytree(src, dest)
            result["copied"] += 1
        else:
            try:
                n, stopped = extract_video(src, dest, ext, quality, fps)
            except UnreadableClip as e:
                n, stopped = 0, str(e)
            if n == 0:
                result["failed"].append((src, stopped))
                continue
            if stopped:
                result["short"].append((src, f"stopped early, {n} frames written ({stopped})"))
            result["written"] += 1
            result["frames"] += n
    for labels in (videos / "test_labels.csv", videos / "data" / "test_labels.csv"):  # toy data's local labels
        if labels.exists() and not (out / labels.name).exists():
            shutil.copy(labels, out / labels.name)
    return result
