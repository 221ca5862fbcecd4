"""Reading the competition's folder layout (the competition guide: docs/04_project71.md).

    data/
      data_train/<class>/<clip_name>/10000.jpg, 10001.jpg, ...   # labelled clips
      test/<id>/10000.jpg, ...                                   # id = 0..509

A clip may also be a raw video next to (or instead of) a frame folder:
`data_train/<class>/<clip_name>.avi` and `test/<id>.avi` (.avi, .mp4, .webm,
.mkv: HMDB51 and UCF101 ship .avi). Its name is the file name without the
suffix, so a video and a frame folder of the same name in one class folder
are one clip twice: an error naming both. Videos are decoded with PyAV
(finetune.data.video); nothing here opens them.

What this file teaches: a dataset layout is a contract, so read it strictly.
Classes are the sorted folder names (index = position, as in the submission),
test ids are integers in numeric order ("10" after "9"), and frames are sorted
by their NUMBER, not as text ("10000.jpg" < "9999.jpg" as text would scramble
time).

Frames may be named any sensible way: `10000.jpg`, `frame_0001.jpg`,
`img_00001.png`, `clip3_frame_0002.JPEG`. The frame number is the LAST run of
digits in the file name without its suffix (in `clip3_frame_0002` the 3 names
the clip, the 0002 the frame). A frame without a number, or two frames of one
clip with the same number, is an error naming the files: the order of time
would otherwise be a guess.

What the operating system leaves behind is not data and is skipped without a
word: hidden files (`.DS_Store`, macOS's AppleDouble `._10000.jpg`), Windows'
`Thumbs.db` and `desktop.ini`, and the `__MACOSX` folder a zip made on a Mac
carries. Anything else unexpected is an error naming the path, never a silent
skip.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from finetune.errors import DataError

TRAIN_DIR = "data_train"   # folder names fixed by the competition
TEST_DIR = "test"
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
VIDEO_SUFFIXES = (".avi", ".mp4", ".webm", ".mkv")
FIRST_FRAME = 10000        # the competition numbers frames from 10000 (make-toy-data, extract-frames write so)

# Files and folders that operating systems and archivers write next to the data
# (compared in lower case). Every name starting with "." is skipped too.
LITTER = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx"})

_DIGITS = re.compile(r"\d+")

# The 51 HMDB51 classes in alphabetical order (Kuehne et al. 2011, HMDB: a large
# video database for human motion recognition): index = position.
CLASSES_HMDB51: tuple[str, ...] = tuple("""
brush_hair cartwheel catch chew clap climb climb_stairs dive draw_sword dribble
drink eat fall_floor fencing flic_flac golf handstand hit hug jump kick kick_ball
kiss laugh pick pour pullup punch push pushup ride_bike ride_horse run
shake_hands shoot_ball shoot_bow shoot_gun sit situp smile smoke somersault
stand swing_baseball sword sword_exercise talk throw turn walk wave
""".split())  # noqa: SIM905 - the names read as a paragraph, not 51 quoted strings
assert len(CLASSES_HMDB51) == 51 and list(CLASSES_HMDB51) == sorted(CLASSES_HMDB51)


class DataNotFoundError(DataError, FileNotFoundError):
    """A data folder that should exist does not; also a FileNotFoundError, so `except OSError` code keeps working."""


@dataclass(frozen=True)
class Clip:
    """One clip: its path, its label (class index for train, test id for test), its name.

    `path` is a frame folder, or a video file when `video` is True (its name is then the file's stem).
    """
    path: Path
    label: int
    name: str
    video: bool = False


def is_litter(path: Path) -> bool:
    """True for hidden files and the files/folders operating systems leave behind (.DS_Store, Thumbs.db, __MACOSX)."""
    return path.name.startswith(".") or path.name.lower() in LITTER


def is_video_file(path: Path) -> bool:
    """A video file (.avi/.mp4/.webm/.mkv, any case) that is not OS litter such as `._clip.avi`."""
    path = Path(path)
    return path.suffix.lower() in VIDEO_SUFFIXES and not is_litter(path) and path.is_file()


def find_data_root(path: str | Path) -> Path:
    """The folder holding data_train/ and/or test/: `path` itself or its `data/` child."""
    path = Path(path)
    for cand in (path, path / "data"):
        if (cand / TRAIN_DIR).is_dir() or (cand / TEST_DIR).is_dir():
            return cand
    found = sorted(p.name for p in path.iterdir() if not is_litter(p))[:10] if path.is_dir() else "no such folder"
    raise DataNotFoundError(f"expected {path}/{TRAIN_DIR}/ or {path}/{TEST_DIR}/ (or the same under "
                            f"{path}/data/), found: {found}")


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not is_litter(p))


def clip_entries(folder: Path) -> list[Clip]:
    """The clips in one class folder (or test/): frame folders and video files, sorted by name, label -1.

    Raises DataError naming both paths when a folder and a video (or two videos) give one clip name.
    """
    clips = [Clip(p, -1, p.name) for p in _subdirs(folder)]
    clips += [Clip(p, -1, p.stem, video=True) for p in sorted(folder.iterdir()) if is_video_file(p)]
    seen: dict[str, Path] = {}
    for c in clips:
        if c.name in seen:
            raise DataError(f"expected one clip named {c.name!r} in {folder}, found two: {seen[c.name]} and {c.path}")
        seen[c.name] = c.path
    return sorted(clips, key=lambda c: c.name)


def list_train_clips(root: str | Path) -> tuple[list[Clip], list[str]]:
    """All training clips with labels, and the class names (sorted folder names)."""
    train = find_data_root(root) / TRAIN_DIR
    if not train.is_dir():
        raise DataNotFoundError(f"expected a training folder {train}, found none")
    classes = [p.name for p in _subdirs(train)]
    if not classes:
        raise DataNotFoundError(f"expected class folders in {train}, found none")
    clips = [Clip(e.path, label, e.name, e.video) for label, c in enumerate(classes) for e in clip_entries(train / c)]
    return clips, classes


def list_test_clips(root: str | Path) -> list[Clip]:
    """All test clips, label = the integer id of the folder, in numeric order."""
    test = find_data_root(root) / TEST_DIR
    if not test.is_dir():
        raise DataNotFoundError(f"expected a test folder {test}, found none")
    clips = []
    for e in clip_entries(test):
        if not e.name.isdigit():
            raise DataError(f"expected test clips named by integer id (test/7/ or test/7.avi), found {e.path}")
        clips.append(Clip(e.path, int(e.name), e.name, e.video))
    return sorted(clips, key=lambda c: c.label)


# ---- frames -----------------------------------------------------------------------------

def _last_number(path: Path) -> re.Match | None:
    """The last run of digits in the file name without its suffix, or None."""
    numbers = list(_DIGITS.finditer(path.stem))
    return numbers[-1] if numbers else None


def frame_number(path: Path) -> int:
    """The frame's number: the last number in its name (10005.jpg -> 10005, clip3_frame_0002.jpg -> 2)."""
    m = _last_number(Path(path))
    if m is None:
        raise DataError(f"expected frame files named by a number (e.g. 10000.jpg or frame_0001.jpg), found {path}")
    return int(m.group())


@dataclass
class ClipFiles:
    """What one clip folder holds, sorted out: the frames in time order and everything else.

    `list_frames` raises on the first two problem lists; check-data reports
    every entry of every list instead.
    """
    frames: list[Path] = field(default_factory=list)           # by frame number
    no_number: list[Path] = field(default_factory=list)        # image files whose name has no number
    same_number: list[list[Path]] = field(default_factory=list)  # groups of frames sharing one number
    strays: list[Path] = field(default_factory=list)           # other files and folders (not litter)
    litter: list[Path] = field(default_factory=list)           # hidden / OS files, skipped


def is_frame_file(path: Path) -> bool:
    """An image file (.jpg/.jpeg/.png, any case) that is not OS litter such as `._10000.jpg`."""
    return path.suffix.lower() in FRAME_SUFFIXES and not is_litter(path) and path.is_file()


def scan_clip(clip_dir: str | Path) -> ClipFiles:
    """Sort the entries of one clip folder into frames (in number order), problems, strays and litter."""
    out = ClipFiles()
    by_number: dict[int, list[Path]] = {}
    for p in sorted(Path(clip_dir).iterdir()):
        if is_litter(p):
            out.litter.append(p)
        elif not is_frame_file(p):
            out.strays.append(p)
        elif (m := _last_number(p)) is None:
            out.no_number.append(p)
        else:
            by_number.setdefault(int(m.group()), []).append(p)
    for n in sorted(by_number):
        out.frames += by_number[n]
        if len(by_number[n]) > 1:
            out.same_number.append(by_number[n])
    return out


def list_frames(clip_dir: str | Path) -> list[Path]:
    """The image files of one clip sorted by frame number (.jpg/.jpeg/.png, any case).

    Other files are skipped here (check-data warns about them). Raises
    DataError naming the files when a frame name holds no number or when two
    frames share a number, since either way the order of time is unknown.
    """
    found = scan_clip(clip_dir)
    if found.no_number:
        names = ", ".join(str(p) for p in found.no_number[:5])
        raise DataError(f"expected frame files named by a number (e.g. 10000.jpg or frame_0001.jpg), "
                        f"found {len(found.no_number)} without one: {names}")
    if found.same_number:
        group = found.same_number[0]
        raise DataError(f"expected one frame per number in {clip_dir}, found {len(group)} frames numbered "
                        f"{frame_number(group[0])}: " + ", ".join(str(p) for p in group)
                        + (f" (and {len(found.same_number) - 1} more numbers used twice)"
                           if len(found.same_number) > 1 else ""))
    return found.frames


def frame_naming(paths: list[Path]) -> str:
    """How the frames of a clip are named, as a pattern with `#` for the digits of the frame number.

    `10000.jpg, 10001.jpg` -> '#####.jpg'; `frame_0001.jpg` -> 'frame_####.jpg';
    numbers of changing width (`1.png ... 12.png`) -> '<n>.png'. A clip that
    mixes namings gives each, most frequent first, joined by ' + '.
    """
    widths: dict[tuple[str, str], list[int]] = {}   # (text before, text after the number) -> digit counts
    counted: Counter = Counter()
    for p in map(Path, paths):
        m = _last_number(p)
        if m is None:
            counted[p.name] += 1                       # a name without a number describes itself
        else:
            widths.setdefault((p.stem[:m.start()], p.stem[m.end():] + p.suffix), []).append(len(m.group()))
    for (before, after), ws in widths.items():
        digits = "#" * ws[0] if len(set(ws)) == 1 else "<n>"
        counted[before + digits + after] += len(ws)
    return " + ".join(name for name, _ in counted.most_common())
