"""Reading the competition's folder layout (REFERENCE.md section 1; the seed's section IV).

    data/
      data_train/<class>/<clip_name>/10000.jpg, 10001.jpg, ...   # labelled clips
      test/<id>/10000.jpg, ...                                   # id = 0..509

What this file teaches: a dataset layout is a contract, so read it strictly.
Classes are the sorted folder names (index = position, as in the submission),
test ids are integers in numeric order ("10" after "9"), and frames are sorted
by their NUMBER, not as text ("10000.jpg" < "9999.jpg" as text would scramble
time). Anything unexpected is an error naming the path, never a silent skip.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TRAIN_DIR = "data_train"   # folder names fixed by the competition
TEST_DIR = "test"
FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")

# The 51 HMDB51 classes in alphabetical order (REFERENCE.md section 1): index = position.
CLASSES_HMDB51: tuple[str, ...] = tuple("""
brush_hair cartwheel catch chew clap climb climb_stairs dive draw_sword dribble
drink eat fall_floor fencing flic_flac golf handstand hit hug jump kick kick_ball
kiss laugh pick pour pullup punch push pushup ride_bike ride_horse run
shake_hands shoot_ball shoot_bow shoot_gun sit situp smile smoke somersault
stand swing_baseball sword sword_exercise talk throw turn walk wave
""".split())
assert len(CLASSES_HMDB51) == 51 and list(CLASSES_HMDB51) == sorted(CLASSES_HMDB51)


@dataclass(frozen=True)
class Clip:
    """One clip folder: its path, its label (class index for train, test id for test), its name."""
    path: Path
    label: int
    name: str


def find_data_root(path: str | Path) -> Path:
    """The folder holding data_train/ and/or test/: `path` itself or its `data/` child."""
    path = Path(path)
    for cand in (path, path / "data"):
        if (cand / TRAIN_DIR).is_dir() or (cand / TEST_DIR).is_dir():
            return cand
    found = sorted(p.name for p in path.iterdir())[:10] if path.is_dir() else "no such folder"
    raise FileNotFoundError(f"expected {path}/{TRAIN_DIR}/ or {path}/{TEST_DIR}/ (or the same under "
                            f"{path}/data/), found: {found}")


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_train_clips(root: str | Path) -> tuple[list[Clip], list[str]]:
    """All training clips with labels, and the class names (sorted folder names)."""
    train = find_data_root(root) / TRAIN_DIR
    if not train.is_dir():
        raise FileNotFoundError(f"expected a training folder {train}, found none")
    classes = [p.name for p in _subdirs(train)]
    if not classes:
        raise FileNotFoundError(f"expected class folders in {train}, found none")
    clips = [Clip(d, label, d.name) for label, c in enumerate(classes) for d in _subdirs(train / c)]
    return clips, classes


def list_test_clips(root: str | Path) -> list[Clip]:
    """All test clips, label = the integer id of the folder, in numeric order."""
    test = find_data_root(root) / TEST_DIR
    if not test.is_dir():
        raise FileNotFoundError(f"expected a test folder {test}, found none")
    clips = []
    for d in _subdirs(test):
        if not d.name.isdigit():
            raise ValueError(f"expected test folders named by integer id, found {d}")
        clips.append(Clip(d, int(d.name), d.name))
    return sorted(clips, key=lambda c: c.label)


def frame_number(path: Path) -> int:
    """10005.jpg -> 10005; a non-numeric name is an error naming the file."""
    if not path.stem.isdigit():
        raise ValueError(f"expected frame files named by number (e.g. 10000.jpg), found {path}")
    return int(path.stem)


def list_frames(clip_dir: str | Path) -> list[Path]:
    """The image files of one clip sorted by frame number (.jpg/.jpeg/.png, any case)."""
    clip_dir = Path(clip_dir)
    frames = [p for p in clip_dir.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file()]
    return sorted(frames, key=frame_number)
