"""`python -m finetune check-data DATA`: every problem of a dataset, up front, each with its path.

Why: a truncated JPEG in clip 5,000 otherwise crashes a DataLoader worker two
hours into training with a PIL traceback. This walks the whole dataset once
(every frame is decoded, at 1/8 scale via `Image.draft`, which still reads the
whole JPEG stream and so catches truncation) and reports
  errors   (training or prediction would fail): missing data_train/, classes
           without clips, empty clips, unreadable or truncated images,
           non-numeric frame or test-folder names;
  warnings (works, but look): stray files, grayscale frames, frames of odd or
           mixed sizes, gaps in frame numbers, classes with few clips, a
           missing test/ folder or missing test ids.
Exit code 1 if there is any error (or any warning with --strict), else 0, with
a one-screen summary: classes, clips, frames per clip min/median/max, sizes.
"""
from __future__ import annotations

import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from finetune.layout import FRAME_SUFFIXES, TEST_DIR, TRAIN_DIR, find_data_root
from finetune.progress import progress as track

GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclass
class Report:
    problems: list[tuple[str, Path, str]] = field(default_factory=list)  # (error|warning, path, what)
    clips_per_class: dict[str, int] = field(default_factory=dict)
    frames_train: list[int] = field(default_factory=list)
    frames_test: list[int] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)

    def add(self, level: str, path: Path, what: str) -> None:
        self.problems.append((level, path, what))

    @property
    def errors(self) -> int:
        return sum(p[0] == "error" for p in self.problems)


def _check_frame(path: Path, rep: Report) -> tuple[int, int] | None:
    try:
        with Image.open(path) as img:
            size, mode = img.size, img.mode
            img.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))  # cheap full read of a JPEG
            img.load()
    except Exception as e:  # noqa: BLE001 - any failure to decode is the finding
        kind = "truncated image" if "truncat" in str(e).lower() else "unreadable image"
        rep.add("error", path, f"{kind} ({type(e).__name__}: {e})")
        return None
    if mode in GREY_MODES:
        rep.add("warning", path, f"grayscale frame (mode {mode}); it will be converted to RGB")
    if min(size) < 64:
        rep.add("warning", path, f"tiny frame {size[0]}x{size[1]}")
    rep.sizes[size] += 1
    return size


def check_clip(clip: Path, rep: Report) -> int:
    """Check one clip folder; return its number of readable frames."""
    frames, numbers = [], []
    for p in sorted(clip.iterdir()):
        if p.is_dir():
            rep.add("warning", p, "stray folder inside a clip")
        elif p.suffix.lower() not in FRAME_SUFFIXES:
            rep.add("warning", p, "stray file (not .jpg/.jpeg/.png)")
        elif not p.stem.isdigit():
            rep.add("error", p, "frame name is not a number (expected e.g. 10000.jpg)")
        else:
            frames.append(p)
            numbers.append(int(p.stem))
    if not frames:
        rep.add("error", clip, "empty clip: no frames")
        return 0
    numbers.sort()
    if numbers[-1] - numbers[0] + 1 != len(numbers):
        rep.add("warning", clip, f"gaps in frame numbers {numbers[0]}..{numbers[-1]} ({len(numbers)} frames)")
    sizes = {s for s in (_check_frame(p, rep) for p in frames) if s}
    if len(sizes) > 1:
        rep.add("warning", clip, f"frames of different sizes {sorted(sizes)}; they will be resized to the first")
    return len(frames)


def _subfolders(folder: Path, rep: Report) -> list[Path]:
    dirs = []
    for p in sorted(folder.iterdir()):
        (dirs.append(p) if p.is_dir() else rep.add("warning", p, "stray file"))
    return dirs


def check_dataset(path: str | Path, min_clips: int = 5, progress: bool = True) -> Report:
    rep = Report()
    try:
        root = find_data_root(path)
    except FileNotFoundError as e:
        rep.add("error", Path(path), str(e))
        return rep
    todo: list[tuple[Path, list[int]]] = []
    train = root / TRAIN_DIR
    if not train.is_dir():
        rep.add("error", train, "missing training folder")
    else:
        classes = _subfolders(train, rep)
        if not classes:
            rep.add("error", train, "no class folders")
        for c in classes:
            clips = _subfolders(c, rep)
            rep.clips_per_class[c.name] = len(clips)
            if not clips:
                rep.add("error", c, "class has no clips")
            elif len(clips) < min_clips:
                rep.add("warning", c, f"class has only {len(clips)} clips (< {min_clips})")
            todo += [(clip, rep.frames_train) for clip in clips]
    test = root / TEST_DIR
    if not test.is_dir():
        rep.add("warning", test, "missing test folder (needed by predict)")
    else:
        ids = []
        for d in _subfolders(test, rep):
            if d.name.isdigit():
                ids.append(int(d.name))
                todo.append((d, rep.frames_test))
            else:
                rep.add("error", d, "test folder name is not an integer id")
        missing = sorted(set(range(max(ids) + 1)) - set(ids)) if ids else []
        if missing:
            rep.add("warning", test, f"test ids missing from 0..{max(ids)}: {missing[:10]}")
    for clip, counts in track(todo, desc="check-data", unit="clip", disable=not progress or len(todo) < 500,
                              file=sys.stderr):
        counts.append(check_clip(clip, rep))
    return rep


def summary(rep: Report) -> str:
    def stats(xs):
        return f"{min(xs)}/{statistics.median(xs):g}/{max(xs)}" if xs else "-"
    per = list(rep.clips_per_class.values())
    lines = [f"classes: {len(per)}" + (f"  (clips per class min/max {min(per)}/{max(per)})" if per else ""),
             f"train clips: {len(rep.frames_train)}   frames per clip min/median/max: {stats(rep.frames_train)}",
             f"test clips:  {len(rep.frames_test)}   frames per clip min/median/max: {stats(rep.frames_test)}",
             "frame sizes: " + ", ".join(f"{w}x{h} ({n})" for (w, h), n in rep.sizes.most_common(3)),
             f"problems: {rep.errors} errors, {len(rep.problems) - rep.errors} warnings"]
    return "\n".join(lines)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "check-data", help="report every problem in a dataset, each with its path",
        description="Walk DATA (the folder holding data_train/ and test/, or its parent) once, decode every "
                    "frame and report each problem with its path. Exit 1 if training or prediction would fail.")
    p.add_argument("data", help="dataset folder")
    p.add_argument("--min-clips", type=int, default=5, help="warn about classes with fewer clips (default 5)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.set_defaults(func=_run)


def _run(args) -> int:
    rep = check_dataset(args.data, args.min_clips)
    for level, path, what in rep.problems:
        print(f"{level.upper():7s} {path}: {what}")
    print(summary(rep))
    failed = rep.errors > 0 or (args.strict and rep.problems)
    print("FAIL: fix the errors above before training" if failed else "OK")
    return 1 if failed else 0
