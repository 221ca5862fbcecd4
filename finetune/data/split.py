"""A grouped, stratified, seeded validation split, saved with the run.

HMDB51 cuts one source video into several clips that differ only in the
trailing `_<n>`: `April_09_brush_hair_u_nm_np1_ba_goo_0`, `..._1`, `..._2`
(Kuehne et al. 2011, the HMDB51 paper). If `_0` trains and `_1` validates, the model is
graded on a near-duplicate it has memorised and validation accuracy is
inflated. So the unit of the split is the GROUP (the name without `_<n>`):
each group lands wholly on one side.

Stratified: within every class, about `val_fraction` of its clips go to
validation (whole groups, shuffled with the seed), and every class with at
least two groups keeps one in training. Saved as JSON (clip keys
`<class folder>/<clip name>`) in the run folder so the exact split can be
reloaded to reproduce a run or to compare runs on the same validation clips.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from finetune.data.layout import Clip
from finetune.disk import write_text_atomic
from finetune.errors import ConfigError, RunError

_TRAILING_N = re.compile(r"_\d+$")


def group_of(name: str) -> str:
    """HMDB51 source-video key: the clip name without its trailing `_<n>`."""
    return _TRAILING_N.sub("", name)


def clip_key(clip: Clip) -> str:
    """A key that is unique in the competition layout: `<class folder>/<clip name>`."""
    return f"{clip.path.parent.name}/{clip.name}"


def grouped_split(clips: list[Clip], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, val indices) into `clips`; no group on both sides; stratified by label."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"expected val_fraction in [0, 1), got {val_fraction}")
    groups: dict[str, list[int]] = defaultdict(list)          # group -> clip indices
    for i, c in enumerate(clips):
        groups[group_of(c.name)].append(i)
    by_class: dict[int, list[str]] = defaultdict(list)         # label of a group's first clip -> groups
    for g, idx in groups.items():
        by_class[clips[idx[0]].label].append(g)
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for label in sorted(by_class):
        gs = sorted(by_class[label])
        rng.shuffle(gs)
        total = sum(len(groups[g]) for g in gs)
        want, taken = round(val_fraction * total), 0
        for g in gs[:-1]:                                      # the last group always stays in training
            if taken >= want:
                break
            val += groups[g]
            taken += len(groups[g])
    val_set = set(val)
    return [i for i in range(len(clips)) if i not in val_set], sorted(val)


def save_split(path: str | Path, clips: list[Clip], train_idx: list[int], val_idx: list[int], **info) -> None:
    """Write the split as JSON: the clip keys of each side plus any info (seed, fraction...)."""
    data = {**info, "train": [clip_key(clips[i]) for i in train_idx], "val": [clip_key(clips[i]) for i in val_idx]}
    write_text_atomic(path, json.dumps(data, indent=1))


def split_sizes(path: str | Path) -> tuple[int, int]:
    """(train clips, validation clips) of a saved split, without the dataset."""
    data = json.loads(Path(path).read_text())
    return len(data["train"]), len(data["val"])


def load_split(path: str | Path, clips: list[Clip]) -> tuple[list[int], list[int]]:
    """Read a saved split back as indices into `clips`; a clip key that is missing is an error."""
    data = json.loads(Path(path).read_text())
    index = {clip_key(c): i for i, c in enumerate(clips)}
    missing = [k for k in data["train"] + data["val"] if k not in index]
    if missing:
        raise RunError(f"split {path} names {len(missing)} clips not in the dataset, e.g. {missing[:3]}")
    return [index[k] for k in data["train"]], [index[k] for k in data["val"]]
