"""The two figures of a run's report: the confusion matrix and a contact sheet of the worst clips.

Confusion matrix: rows normalised (a class with 3 clips weighs as much as one
with 30), classes ordered worst accuracy first so the trouble sits top-left,
every class named, one colour bar. At 51 classes the cells are small, so the
numbers are written into them only for small class counts; the exact counts
are in RUN/confusion.csv.

Contact sheet: one row per clip, a few frames spread over its length, read
with the project's readers (`layout.list_frames`, `decode.read_clip`: the same
frame order and bad-frame handling as training), titled
"true: X / predicted: Y (p)". A look at the frames often shows why: a
mislabelled clip, a clip that holds two actions, a camera that only sees a hand.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from finetune.data import video
from finetune.data.decode import read_clip
from finetune.data.layout import Clip, find_data_root, list_frames, list_train_clips
from finetune.data.sampling import sample_indices
from finetune.data.split import clip_key
from finetune.errors import DataError

THUMB = 112  # short side of a contact-sheet frame, px: enough to see the action, small enough for 8 x 4


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(norm: np.ndarray, classes: list[str], order: list[int], path: Path, title: str) -> Path:
    """Row-normalised (K, K) matrix, rows and columns in `order`, named, with a colour bar, saved as PNG."""
    plt = _pyplot()
    k = len(classes)
    m = norm[np.ix_(order, order)]  # (K, K) rows/columns permuted together: the diagonal stays the diagonal
    names = [classes[i] for i in order]
    side = max(5.0, 0.2 * k + 2.5)
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    im = ax.imshow(m, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    font = 8 if k <= 20 else 6
    ax.set_xticks(range(k), names, rotation=90, fontsize=font)
    ax.set_yticks(range(k), names, fontsize=font)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (worst accuracy first)")
    if k <= 15:
        for i in range(k):
            for j in range(k):
                if m[i, j] > 0:
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if m[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.02, label="share of the true class's clips")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def clip_frames(clip: Clip, n: int) -> list:
    """n frames spread evenly over the clip (centre of n equal segments), as small PIL images."""
    if clip.video:  # a raw .avi/.mp4 clip: the same reader as training
        return video.read_video(clip.path, sample_indices(video.count_frames(clip.path), n, train=False), THUMB)
    paths = list_frames(clip.path)
    if not paths:
        raise DataError(f"expected frames in {clip.path}, found none")
    return read_clip(paths, sample_indices(len(paths), n, train=False), THUMB)


def worst_rows(pred: dict, rows: list[int], data, frames: int = 4) -> list[tuple[list, str]]:
    """(frames, title) for each chosen row of the validation predictions, read from DATA's training clips."""
    if not data:
        raise DataError("expected the data folder of the run (pass --data DATA), found none recorded")
    clips = {clip_key(c): c for c in list_train_clips(data)[0]}  # the ids of val_probs.json are these keys
    out = []
    for i in rows:
        p, y, key = pred["probs"][i], pred["labels"][i], pred["ids"][i]
        if key not in clips:
            raise DataError(f"expected the validation clip {key} in {find_data_root(data)}, found no such clip: "
                            "pass the run's data folder with --data")
        j = int(np.argmax(p))
        title = f"{key}: true: {pred['classes'][y]} / predicted: {pred['classes'][j]} ({p[j]:.2f})"
        out.append((clip_frames(clips[key], frames), title))
    return out


def filmstrip(images: list, gap: int = 4) -> np.ndarray:
    """Frames of one clip side by side, `gap` white pixels apart: (H, n*W + (n-1)*gap, 3) uint8."""
    frames = [np.asarray(img.convert("RGB")) for img in images]  # read_clip gives one size per clip
    white = np.full((frames[0].shape[0], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([x for f in frames for x in (f, white)][:-1], axis=1)


def contact_sheet(rows: list[tuple[list, str]], path: Path) -> Path:
    """A PNG: one filmstrip per clip, its title above it (one image per row: 8 axes draw fast, 32 do not)."""
    plt = _pyplot()
    if not rows:
        raise ValueError("expected at least one clip for the contact sheet, found none")
    strips = [filmstrip(images) for images, _ in rows]
    h, w = strips[0].shape[:2]
    width = 2.2 * len(rows[0][0])  # inches: ~2.2 per frame
    fig, axes = plt.subplots(len(rows), 1, figsize=(width, (width * h / w + 0.35) * len(rows)), squeeze=False)
    for ax, strip, (_, title) in zip(axes[:, 0], strips, rows):
        ax.imshow(strip)
        ax.axis("off")
        ax.set_title(title, loc="left", fontsize=8, color="darkred")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.3 / fig.get_figheight(),
                        hspace=0.35 / (width * h / w))
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)
