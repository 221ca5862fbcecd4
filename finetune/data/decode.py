"""Decoding the sampled frames of a clip with Pillow, fast, and without letting one bad file end a run.

Speed: the loader must outrun the GPU (VideoMAE-B on a T4: ~11 clips/s training, ~33 evaluating), so
- only the sampled frames are decoded, each distinct frame once per sample
  even when oversampling repeats it (a 5-frame clip -> 5 decodes, not 16);
- JPEG frames larger than needed are decoded at 1/2, 1/4 or 1/8 scale by the
  JPEG decoder itself (`Image.draft`), PNG frames shrunk with `Image.reduce`
  (integer box filter) before any float work.

Robustness: a dataset of 100,000 JPEGs often holds a few truncated ones, and
finding one two hours into training must not kill the run. `read_clip`
replaces a frame that does not decode by the nearest readable frame of the
same clip (neighbouring frames of a video are nearly the same picture, so the
clip keeps its length and its order of time) and reports the file through
`on_bad`. Only a clip with no readable frame at all raises `UnreadableClip`,
naming the clip folder (finetune.data.video does the same for a video that
stops early or does not open). `BadFrameLog` turns those reports into one warning
per file and, optionally, a tab-separated log a run folder can keep;
`python -m finetune check-data` finds every such file before training.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from finetune.data.layout import VIDEO_SUFFIXES
from finetune.errors import DataError

# What Pillow raises for a file that is not a readable image: UnidentifiedImageError
# and "image file is truncated" are OSErrors; corrupt headers give ValueError or
# SyntaxError; an absurd pixel count gives DecompressionBombError.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


class FrameError(DataError):
    """A frame file could not be decoded; the message names the file, `reason` says why."""

    def __init__(self, message: str, path: Path | None = None, reason: str = ""):
        super().__init__(message)   # one positional argument, so the error survives a DataLoader worker
        self.path, self.reason = path, reason


class UnreadableClip(DataError):
    """No frame of a clip can be decoded; the message names the clip folder (or video file)."""

    def __init__(self, message: str, clip: Path | None = None):
        super().__init__(message)
        self.clip = clip


def _decode(path: Path, min_short_side: int) -> Image.Image:
    """One frame as a loaded RGB image, shrunk while its short side stays >= min_short_side; Pillow's errors."""
    with Image.open(path) as img:
        w, h = img.size
        if min_short_side and min(w, h) >= 2 * min_short_side:
            s = min_short_side / min(w, h)
            if img.format == "JPEG":
                img.draft("RGB", (math.ceil(w * s), math.ceil(h * s)))   # the decoder picks the scale
            else:
                img = img.reduce(min(w, h) // min_short_side)
        return img.convert("RGB")                                        # forces the full decode


def _reason(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"


def read_frame(path: Path, min_short_side: int = 0) -> Image.Image:
    """One frame as a loaded RGB PIL image, shrunk while its short side stays >= min_short_side.

    Raises FrameError naming the file, never a bare PIL traceback from deep
    inside a DataLoader worker.
    """
    try:
        return _decode(path, min_short_side)
    except DECODE_ERRORS as e:
        raise FrameError(f"cannot decode frame {path}: {_reason(e)}", path, _reason(e)) from None


def _nearest_first(i: int, n: int):
    """Positions 0..n-1 by distance from i, the earlier one first on a tie: i, i-1, i+1, i-2, i+2, ..."""
    yield i
    for d in range(1, n):
        if i - d >= 0:
            yield i - d
        if i + d < n:
            yield i + d


def read_clip(paths: list[Path], indices: list[int], min_short_side: int = 0,
              on_bad: Callable[[Path, str], None] | None = None) -> list[Image.Image]:
    """The frames paths[i] for i in indices, in that order; a repeated index gives the SAME image object.

    Decoding each distinct frame once also lets the transforms work once per
    distinct frame. Frames whose size differs from the first sampled frame are
    resized to it (check-data reports such clips).

    A frame that does not decode is replaced by the nearest readable frame of
    `paths` (fewest positions away, the earlier one on a tie), decoding frames
    that were not sampled when needed; `on_bad(path, reason)` is called once per
    bad file met in this call (default: one warning per file on stderr).
    Raises UnreadableClip, naming the clip folder, when no frame decodes.
    """
    report = on_bad if on_bad is not None else _default_log
    images: dict[int, Image.Image] = {}   # position in paths -> decoded image
    bad: dict[int, str] = {}              # position in paths -> why it does not decode

    def load(i: int) -> Image.Image | None:
        if i not in images and i not in bad:
            try:
                images[i] = _decode(paths[i], min_short_side)
            except DECODE_ERRORS as e:
                bad[i] = _reason(e)
                report(paths[i], bad[i])
        return images.get(i)

    def nearest_readable(i: int) -> Image.Image:
        for j in _nearest_first(i, len(paths)):
            if (img := load(j)) is not None:
                return img
        clip = Path(paths[i]).parent
        first = min(bad)
        raise UnreadableClip(f"expected at least one readable frame in {clip}, found 0 of {len(paths)} "
                             f"(first: {Path(paths[first]).name}: {bad[first]})", clip)

    if any(not 0 <= i < len(paths) for i in indices):
        raise IndexError(f"expected frame indices in [0, {len(paths)}), found {sorted(set(indices))}")
    chosen = {i: nearest_readable(i) for i in dict.fromkeys(indices)}   # distinct indices, in order
    if not chosen:
        return []
    size = chosen[indices[0]].size
    resized: dict[int, Image.Image] = {}   # id of a decoded image -> its resized copy, made once
    for i, img in chosen.items():
        if img.size != size:
            if id(img) not in resized:
                resized[id(img)] = img.resize(size, Image.BILINEAR)
            chosen[i] = resized[id(img)]
    return [chosen[i] for i in indices]


class BadFrameLog:
    """Where `read_clip` reports bad frames: one warning per file per process, and an optional log file.

        log = BadFrameLog(run / "bad_frames.tsv")
        read_clip(paths, idx, on_bad=log)          # log(frame_path, reason)
        log.clip(clip_dir, reason)                 # a clip left out: no frame decodes

    Each line of the file is `frame<TAB>path<TAB>reason` or `clip<TAB>path<TAB>reason`.
    The file is opened in append mode for every line, so the DataLoader
    workers, each holding its own copy of this object inside the Dataset, can
    write to it side by side; a file met again in another worker or epoch may
    be written again, and `read_bad_frames` drops the repeats. The object holds
    only a path and a set, so it pickles for spawned workers.
    """

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else None
        self.seen: set[tuple[str, str]] = set()   # (kind, path) already reported by this process

    def __call__(self, frame_path: Path, reason: str) -> None:
        video = Path(frame_path).suffix.lower() in VIDEO_SUFFIXES   # a video that stops early (finetune.data.video)
        self._report("frame", frame_path, reason,
                     "cannot decode every frame of video {path} ({reason}); using its last decoded frame" if video
                     else "cannot decode frame {path} ({reason}); using the nearest readable frame of its clip")

    def clip(self, clip_dir: Path, reason: str) -> None:
        self._report("clip", clip_dir, reason, "no readable frame in {path}; the clip is left out")

    def _report(self, kind: str, path: Path, reason: str, warning: str) -> None:
        key = (kind, str(path))
        if key in self.seen:
            return
        self.seen.add(key)
        reason = " ".join(str(reason).split())   # one line: tabs and newlines would break the columns
        print("warning: " + warning.format(path=path, reason=reason), file=sys.stderr, flush=True)
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(f"{kind}\t{path}\t{reason}\n")   # one short write: appends do not interleave
            except OSError as err:   # a full disk: the warning above is printed; the run's next save reports it
                print(f"warning: cannot add this to {self.path}: {err}", file=sys.stderr, flush=True)


def read_bad_frames(path: Path) -> list[tuple[str, str, str]]:
    """The (kind, path, reason) entries of a BadFrameLog file, each (kind, path) once, in first-seen order.

    A missing file means nothing was logged: the log writes its file on the first bad frame only.
    """
    path = Path(path)
    if not path.exists():
        return []
    entries: dict[tuple[str, str], str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3 or parts[0] not in ("frame", "clip"):
            raise DataError(f"{path}:{n}: expected 'frame|clip<TAB>path<TAB>reason', found {line!r}")
        entries.setdefault((parts[0], parts[1]), parts[2])
    return [(kind, p, reason) for (kind, p), reason in entries.items()]


_default_log = BadFrameLog()   # what read_clip reports to when given no on_bad: warnings, no file
