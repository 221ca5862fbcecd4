"""Saved class probabilities: one file format, read strictly, averaged over runs (an ensemble), and
turned into the competition's submission (`write_submission`, used by predict and ensemble).

    {"classes": [K class names], "ids": [N clip ids], "probs": [[K floats], ... N rows]}

`python -m finetune predict --probs` writes it for the test clips (OUT.probs.json,
ids = test ids). A training run writes it for its validation clips at the end
(RUN/val_probs.json, ids = `<class>/<clip>` keys), with three more fields:
"labels" (the true class index of each clip), "data" (the data folder, where
`report` finds the frames) and "tta" (the views the probabilities average).

Ensembling: average the probabilities of several runs, then take the argmax.
Each model votes with a distribution, as each view does in TTA; models trained
with other seeds or recipes make partly independent mistakes, so the average
is right more often than its members (Lakshminarayanan et al. 2017, "Simple and
scalable predictive uncertainty estimation using deep ensembles", Sec. 2.4:
the ensemble's prediction is the mean of the members' softmax outputs).
Files are aligned by id and by class name, so the same clips in another order
are fine; other clips or other classes are an error naming both files.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from finetune.disk import write_text_atomic
from finetune.errors import UserError


class ProbsError(UserError, ValueError):
    """A probabilities file that is not in the format above, or files that cannot be averaged together."""


def write_probs(path: str | Path, classes: list[str], ids: list, probs, **extra) -> Path:
    """Write the JSON atomically (a kill or a full disk leaves the previous file, never half of one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.asarray(probs, dtype=np.float64).tolist()
    return write_text_atomic(path, json.dumps({"classes": list(classes), "ids": list(ids), "probs": rows, **extra}))


def write_submission(path: str | Path, classes: list[str], ids: list, probs) -> Path:
    """`id,class`, one row per id (numeric ids in numeric order), the class of highest probability."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(zip(ids, (classes[k] for k in probs.argmax(-1).tolist())),
                  key=lambda r: (0, r[0], "") if isinstance(r[0], int) else (1, 0, str(r[0])))
    text = io.StringIO()
    csv.writer(text).writerows([("id", "class"), *rows])
    return write_text_atomic(path, text.getvalue())  # a full disk: one error naming the file, no half a CSV


def read_probs(path: str | Path) -> dict:
    """The file as a dict with "probs" a float (N, K) array; ProbsError naming the file if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ProbsError(f"expected a probabilities file at {path} (written by `predict --probs` or `train`), "
                         "found no such file")
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProbsError(f"{path} is not JSON ({err}): expected {{'classes', 'ids', 'probs'}} as written by "
                         "`predict --probs`") from None
    missing = [k for k in ("classes", "ids", "probs") if not isinstance(data, dict) or k not in data]
    if missing:
        found = sorted(data)[:6] if isinstance(data, dict) else type(data).__name__
        raise ProbsError(f"{path}: expected the keys classes, ids, probs (as `predict --probs` writes), "
                         f"missing {missing}, found {found}")
    classes, ids = data["classes"], data["ids"]
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise ProbsError(f"{path}: expected 'classes' to be a list of class names, found {str(classes)[:80]}")
    if not isinstance(ids, list) or len(set(map(str, ids))) != len(ids):
        raise ProbsError(f"{path}: expected 'ids' to be a list of distinct clip ids, found "
                         f"{len(ids) if isinstance(ids, list) else type(ids).__name__} entries with repeats")
    try:
        probs = np.asarray(data["probs"], dtype=np.float64)
    except (TypeError, ValueError):
        probs = np.zeros(0)
    if not ids and probs.size == 0:  # no clip at all (every one unreadable): still a valid, empty file
        probs = probs.reshape(0, len(classes))
    if probs.shape != (len(ids), len(classes)) or not np.isfinite(probs).all() or (probs < 0).any():
        raise ProbsError(f"{path}: expected 'probs' to be {len(ids)} rows of {len(classes)} non-negative numbers "
                         f"(one row per id, one column per class), found shape {probs.shape}")
    return {**data, "probs": probs, "path": path}


def _differ(what: str, a, b, pa: Path, pb: Path) -> str:
    sa, sb = set(map(str, a)), set(map(str, b))  # ids compare as text: 7 and "7" name the same clip
    only_a, only_b = [x for x in a if str(x) not in sb], [x for x in b if str(x) not in sa]
    return (f"{pa} and {pb} hold different {what}: {len(only_a)} only in the first (e.g. {only_a[:3]}), "
            f"{len(only_b)} only in the second (e.g. {only_b[:3]}); expected predictions of the same clips "
            "for the same classes")


def align(ref: dict, other: dict) -> np.ndarray:
    """`other`'s probabilities with rows in `ref`'s id order and columns in `ref`'s class order."""
    pa, pb = ref["path"], other["path"]
    if set(map(str, ref["ids"])) != set(map(str, other["ids"])):
        raise ProbsError(_differ("ids", ref["ids"], other["ids"], pa, pb))
    if set(ref["classes"]) != set(other["classes"]) or len(ref["classes"]) != len(other["classes"]):
        raise ProbsError(_differ("classes", ref["classes"], other["classes"], pa, pb))
    row = {str(i): k for k, i in enumerate(other["ids"])}
    col = {c: k for k, c in enumerate(other["classes"])}
    aligned = other["probs"][[row[str(i)] for i in ref["ids"]]]  # (N, K) in ref's id order
    if "labels" in ref and "labels" in other:
        theirs = [other["classes"][other["labels"][row[str(i)]]] for i in ref["ids"]]
        if theirs != [ref["classes"][y] for y in ref["labels"]]:
            raise ProbsError(f"{pa} and {pb} give the same clips different true labels: expected validation "
                             "predictions of runs trained on the same data and split")
    return aligned[:, [col[c] for c in ref["classes"]]]  # (N, K) in ref's class order


def check_weights(weights, n: int) -> np.ndarray:
    """One non-negative weight per file, not all zero, normalised to sum 1; None = equal weights."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64)
    if len(w) != n:
        raise ProbsError(f"expected one weight per probabilities file ({n}), found {len(w)}: {list(weights)}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ProbsError(f"expected non-negative weights, not all zero, found {list(weights)}")
    return w / w.sum()


def ensemble(files: list[dict], weights=None) -> dict:
    """The weighted mean of the files' probabilities, in the first file's id and class order.

    Returns a dict of the file format (plus "labels" when every file has them)."""
    if len(files) < 2:
        raise ProbsError(f"expected at least two probabilities files to average, found {len(files)}")
    w = check_weights(weights, len(files))
    ref = files[0]
    mean = sum(wk * align(ref, f) for wk, f in zip(w, files))  # (N, K)
    out = {"classes": ref["classes"], "ids": ref["ids"], "probs": mean, "weights": w.tolist(),
           "members": [str(f["path"]) for f in files]}
    if all("labels" in f for f in files):
        out["labels"] = ref["labels"]
    return out


def mean_nll(probs, labels) -> float:
    """Mean negative log-likelihood of the labels, probabilities clamped at 1e-8 as `engine.evaluate` does."""
    labels = np.asarray(labels)
    if not len(labels):
        return math.nan
    picked = np.asarray(probs, dtype=np.float64)[np.arange(len(labels)), labels]
    return float(-np.log(np.maximum(picked, 1e-8)).mean())


def accuracy(probs: np.ndarray, labels) -> float:
    """Share of rows whose argmax is the label."""
    labels = np.asarray(labels)
    return float((np.asarray(probs).argmax(-1) == labels).mean()) if len(labels) else math.nan
