"""Every problem of a dataset, up front, each with its path (`python -m finetune check-data DATA`).

Why: a truncated JPEG in clip 5,000 otherwise costs a run a replaced frame (or,
if no frame of the clip decodes, the clip) two hours into training. This walks
the whole dataset once (every frame is decoded, at 1/8 scale via
`Image.draft`, which still reads the whole JPEG stream and so catches
truncation) and reports
  errors   (training or prediction would fail or guess): missing data_train/,
           classes without clips, empty clips, unreadable or truncated images,
           frame names without a number, two frames of a clip with the same
           number, test folders not named by an integer, videos (.avi/.mp4/
           .webm/.mkv clips) that do not open or stop well before the frame
           count their header announces, a video and a folder of one name;
  warnings (works, but look): stray files, grayscale frames, frames of odd or
           mixed sizes, gaps in frame numbers, a clip whose frames are named in
           more than one way, classes with few clips, a missing test/ folder or
           missing test ids.
Files the operating system leaves behind (.DS_Store, Thumbs.db, __MACOSX, ._x.jpg)
are not data: they are only counted in the summary.
`check_data` returns the `Report`; the command exits 1 if it holds any error (or
any warning with --strict), else 0, and prints every problem and `summary(report)`,
a one-screen summary: classes, clips, frames per clip min/median/max, frame
namings (see finetune.data.layout.frame_naming), sizes, and how many clips
are videos and how many frame folders. Every frame of a video is decoded
(PyAV; without it, one `error:` line saying how to install it).
"""
from __future__ import annotations

import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from finetune.data.layout import (
    TEST_DIR,
    TRAIN_DIR,
    DataNotFoundError,
    find_data_root,
    frame_naming,
    frame_number,
    is_litter,
    is_video_file,
    scan_clip,
)
from finetune.progress import progress as track

GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


@dataclass
class Report:
    problems: list[tuple[str, Path, str]] = field(default_factory=list)  # (error|warning, path, what)
    clips_per_class: dict[str, int] = field(default_factory=dict)
    frames_train: list[int] = field(default_factory=list)
    frames_test: list[int] = field(default_factory=list)
    sizes: Counter = field(default_factory=Counter)
    namings: Counter = field(default_factory=Counter)    # frame naming pattern -> number of clips
    litter: list[Path] = field(default_factory=list)     # OS files skipped, for the summary only
    videos: Counter = field(default_factory=Counter)     # '.avi mpeg4' -> number of video clips that open
    video_clips: int = 0                                 # clips that are video files ...
    folders: int = 0                                     # ... and clips that are frame folders

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
    """Check one clip folder; return its number of frames (named by a number)."""
    found = scan_clip(clip)
    rep.litter += found.litter
    for p in found.strays:
        rep.add("warning", p, "stray folder inside a clip" if p.is_dir() else "stray file (not .jpg/.jpeg/.png)")
    for p in found.no_number:
        rep.add("error", p, "frame name has no number (expected e.g. 10000.jpg or frame_0001.jpg); "
                            "the order of time is unknown")
    for group in found.same_number:
        for p in group:
            others = ", ".join(q.name for q in group if q != p)
            rep.add("error", p, f"same frame number {frame_number(p)} as {others}; the order of time is unknown")
    frames = found.frames
    if not frames and not found.no_number:
        rep.add("error", clip, "empty clip: no frames")
    if frames:
        naming = frame_naming(frames)
        rep.namings[naming] += 1
        if " + " in naming:
            rep.add("warning", clip, f"frames named in more than one way: {naming}")
        numbers = sorted({frame_number(p) for p in frames})
        if numbers[-1] - numbers[0] + 1 != len(numbers):
            rep.add("warning", clip, f"gaps in frame numbers {numbers[0]}..{numbers[-1]} ({len(numbers)} numbers)")
    sizes = {s for s in (_check_frame(p, rep) for p in frames + found.no_number) if s}
    if len(sizes) > 1:
        rep.add("warning", clip, f"frames of different sizes {sorted(sizes)}; they will be resized to the first")
    return len(frames)


# A video whose stream ends this many frames (or this fraction) short of its header's count is
# still a warning: some writers round the count; more than that is a truncated file.
SHORT_FRAMES, SHORT_FRACTION = 2, 0.05


def check_video(path: Path, rep: Report) -> int:
    """Decode every frame of one video clip; return the number of frames that decode (0: an error was added)."""
    from finetune.data.decode import UnreadableClip
    from finetune.data.video import scan_video

    try:
        info, n, stopped = scan_video(path)
    except UnreadableClip as e:
        rep.add("error", path, f"unreadable video ({e})")
        return 0
    rep.videos[f"{path.suffix.lower()} {info.codec}"] += 1
    if n == 0:
        rep.add("error", path, "unreadable video: no frame decodes" + (f" ({stopped})" if stopped else ""))
        return 0
    short = info.frames - n
    if stopped or short > max(SHORT_FRAMES, SHORT_FRACTION * info.frames):
        rep.add("error", path, f"truncated video: {n} frames decode" + (f" of the {info.frames} its header announces"
                               if info.frames else "") + (f" ({stopped})" if stopped else ""))
    elif short > 0:
        rep.add("warning", path, f"{n} frames decode, its header announces {info.frames}")
    if min(info.width, info.height) < 64:
        rep.add("warning", path, f"tiny frames {info.width}x{info.height}")
    rep.sizes[(info.width, info.height)] += n
    return n


def _subfolders(folder: Path, rep: Report, videos: bool = False) -> list[Path]:
    """The folders (and with `videos`, the video files) in `folder`; other files are stray-file warnings."""
    dirs = []
    for p in sorted(folder.iterdir()):
        if is_litter(p):
            rep.litter.append(p)
        else:
            (dirs.append(p) if p.is_dir() or (videos and is_video_file(p)) else rep.add("warning", p, "stray file"))
    return dirs


def _clip_name(p: Path) -> str:
    return p.stem if is_video_file(p) else p.name


def _same_names(clips: list[Path], rep: Report) -> None:
    """A frame folder and a video (or two videos) giving one clip name: which one is the clip is a guess."""
    by_name: dict[str, list[Path]] = {}
    for p in clips:
        by_name.setdefault(_clip_name(p), []).append(p)
    for group in by_name.values():
        for p in group[1:]:
            rep.add("error", p, f"two clips named {_clip_name(p)!r}: {group[0].name} and {p.name}; keep one of them")


def check_data(path: str | Path, min_clips: int = 5, progress: bool = True) -> Report:
    """Walk the dataset at `path` (the folder holding data_train/ and test/, or its parent) once, decoding every
    frame; `min_clips`: warn about classes with fewer clips. A path that is not a folder is an error."""
    rep = Report()
    if not Path(path).is_dir():  # nothing to check: the user's path is wrong, not the data
        found = "a file" if Path(path).exists() else "nothing"
        raise DataNotFoundError(f"expected a dataset folder at {path}, found {found}")
    try:
        root = find_data_root(path)
    except FileNotFoundError as e:   # DataNotFoundError: no data_train/ or test/ here
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
            clips = _subfolders(c, rep, videos=True)
            _same_names(clips, rep)
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
        entries = _subfolders(test, rep, videos=True)
        _same_names(entries, rep)
        for d in entries:
            if _clip_name(d).isdigit():
                ids.append(int(_clip_name(d)))
                todo.append((d, rep.frames_test))
            else:
                rep.add("error", d, f"test {'video' if d.is_file() else 'folder'} name is not an integer id")
        missing = sorted(set(range(max(ids) + 1)) - set(ids)) if ids else []
        if missing:
            rep.add("warning", test, f"test ids missing from 0..{max(ids)}: {missing[:10]}")
    videos = [clip for clip, _ in todo if clip.is_file()]
    if videos:   # no PyAV: one error line before the walk, not one per video
        from finetune.data.video import require_av

        require_av(videos[0])
    rep.video_clips, rep.folders = len(videos), len(todo) - len(videos)
    for clip, counts in track(todo, desc="check-data", unit="clip", disable=not progress or len(todo) < 500,
                              file=sys.stderr):
        counts.append(check_video(clip, rep) if clip.is_file() else check_clip(clip, rep))
    return rep


def summary(rep: Report) -> str:
    def stats(xs):
        return f"{min(xs)}/{statistics.median(xs):g}/{max(xs)}" if xs else "-"
    per = list(rep.clips_per_class.values())
    lines = [f"classes: {len(per)}" + (f"  (clips per class min/max {min(per)}/{max(per)})" if per else ""),
             f"train clips: {len(rep.frames_train)}   frames per clip min/median/max: {stats(rep.frames_train)}",
             f"test clips:  {len(rep.frames_test)}   frames per clip min/median/max: {stats(rep.frames_test)}",
             f"clips: {rep.video_clips} videos, {rep.folders} frame folders"
             + (f"   videos: {_top(rep.videos, unit='clips')}" if rep.videos else ""),
             "frame naming: " + _top(rep.namings, unit="clips") + "   (# = one digit, <n> = a number of any width)",
             "frame sizes: " + _top(rep.sizes, lambda s: f"{s[0]}x{s[1]}"),
             f"problems: {rep.errors} errors, {len(rep.problems) - rep.errors} warnings"]
    if rep.litter:
        names = sorted({p.name for p in rep.litter})
        lines.insert(-1, f"skipped: {len(rep.litter)} hidden or OS files ({', '.join(names[:4])}"
                         + (", ..." if len(names) > 4 else "") + ")")
    return "\n".join(lines)


def _top(counts: Counter, show=str, unit: str = "", k: int = 3) -> str:
    """'#####.jpg (6254 clips), frame_####.jpg (10 clips)': the k most common entries, then how many others."""
    parts = [f"{show(key)} ({n}{' ' + unit if unit else ''})" for key, n in counts.most_common(k)]
    if len(counts) > k:
        parts.append(f"{len(counts) - k} more")
    return ", ".join(parts) if parts else "-"

