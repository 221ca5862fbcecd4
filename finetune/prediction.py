"""What a finished run is used for: the submission (`predict`), averages of runs (`ensemble`), and the
error analysis of its validation predictions (`report`).

predict: a trained run -> the competition's submission.csv (the course notes, section IV.3, Exp 4's TTA).

    id,class
    0,climb_stairs
    1,...

Test-time augmentation: each test clip is cut into V views (6: three crops
along the long side x plain/mirrored), every view goes through the model, and
the SOFTMAX outputs are averaged: a confident view and an unsure one then
weigh as probabilities, not as raw logits of arbitrary scale. The course notes'
Exp 4 gained +0.6 points from this (84.31 -> 84.90, together with the second stage).

Class names come from the run (its training folders, in index order). If DATA
also holds data_train/ and its folders differ, the run was trained for another
class list: predicting would silently mislabel every clip, so it is an error.
`probs=True` also writes the averaged probabilities (for ensembling runs).

Every test id gets a row: a test clip none of whose frames can be decoded is
predicted from the prior (the most frequent training class), with a warning,
and listed in OUT's `.bad_frames.txt` beside frames replaced by a neighbour.

ensemble: each run's per-class probabilities (already averaged over its TTA
views) are averaged again, weighted, and each clip gets the class of highest
mean probability (finetune/training/probs.py says why probabilities, not votes).

report: RUN/report.md, confusion matrix and worst clips, rebuilt from
RUN/val_probs.json (the analysis: finetune/training/report.py).
"""
import csv
import sys
from pathlib import Path

import torch

from finetune import config as C
from finetune.data.decode import BadFrameLog
from finetune.data.layout import TRAIN_DIR, find_data_root, list_test_clips, list_train_clips
from finetune.data.split import split_sizes
from finetune.errors import DataError, RunError
from finetune.run_folder import RunFolder, load_checkpoint
from finetune.training import probs as P
from finetune.training.distributed import Dist
from finetune.training.ema import model_for_prediction
from finetune.training.engine import choose_precision, predict_probs
from finetune.training.loaders import eval_dataset, eval_loader, mean_std
from finetune.training.report import write_report


def read_labels(root: Path) -> dict[int, str] | None:
    """test_labels.csv (toy data only: the real competition hides the test labels)."""
    for path in (root / "test_labels.csv", root.parent / "test_labels.csv"):
        if path.exists():
            with open(path) as f:
                return {int(r["id"]): r["class"] for r in csv.DictReader(f)}
    return None


def check_classes(run_classes: list[str], root: Path, run: Path) -> None:
    if not (root / TRAIN_DIR).is_dir():
        return  # only test/ given: nothing to compare with
    _, data_classes = list_train_clips(root)
    if data_classes != run_classes:
        missing, extra = sorted(set(data_classes) - set(run_classes)), sorted(set(run_classes) - set(data_classes))
        raise RunError(
            f"the run {run} was trained on {len(run_classes)} classes that differ from the {len(data_classes)} "
            f"training folders of {root}: only in the data {missing[:5]}, only in the run {extra[:5]}"
            + ("" if missing or extra else " (same names, different order)")
            + ". Predict with a run trained on this dataset."
        )


def predict(run, data, out="submission.csv", tta: str | None = None, probs: bool = False, batch_size: int | None = None,
            num_workers: int | None = None, device: str = "auto", clips: int = 1, checkpoint: str = "last") -> dict:
    """The submission `out` (id,class) for DATA's test clips from the run `run`, with `tta` views (default: the
    run's) x `clips` temporal clips (finetune.data.sampling.clip_indices; 1 = one centred clip), from its
    `checkpoint` ("last", or "best": RUN/best.pt of a run with keep_best); `probs` also writes OUT.probs.json.
    Returns rows, views, the file(s), and the accuracy when DATA has local test labels (the toy data)."""
    if clips < 1:
        raise RunError(f"--clips must be at least 1 (temporal clips per test clip), found {clips}")
    run, root = Path(run), find_data_root(data)
    ckpt = load_checkpoint(run, checkpoint)
    cfg = C.from_dict(ckpt["config"])
    classes = ckpt["classes"]
    check_classes(classes, root, run)
    tta = tta or cfg.tta
    if tta not in C.VIEWS:
        raise RunError(f"--tta must be one of {', '.join(C.VIEWS)}, found {tta!r}")
    dev = torch.device("cuda" if torch.cuda.is_available() and device != "cpu" else "cpu")
    model, weights_used = model_for_prediction(ckpt)  # the EMA's weights when they validated better
    model = model.to(dev)
    test_clips = list_test_clips(root)
    if not test_clips:
        raise DataError(f"expected test clips in {root}/test, found none")
    views = C.VIEWS[tta]
    bad_log = BadFrameLog(Path(out).with_suffix(".bad_frames.txt"))
    loader = eval_loader(eval_dataset(test_clips, cfg, tta, bad_log, clips), cfg, Dist(device=dev), views * clips,
                         batch_size, num_workers)
    ids, all_probs = [], []
    desc = f"predict {tta}" + (f" x {clips} clips" if clips > 1 else "")
    for keys, p in predict_probs(model, loader, dev, choose_precision(cfg.precision, dev), cfg.image_size, views,
                                 mean_std(cfg, dev), desc=desc):
        ids += [int(k) for k in keys]
        all_probs.append(p.cpu())
    missing = sorted({c.label for c in test_clips} - set(ids))
    if missing:  # clips with no readable frame: the prior, so that every id still has a row
        counts = torch.tensor(ckpt.get("class_counts") or [1] * len(classes), dtype=torch.float32)
        prior = counts / counts.sum()
        print(f"warning: {len(missing)} test clip(s) have no readable frame (ids {missing[:10]}); predicted "
              f"from the prior: {classes[int(prior.argmax())]}", file=sys.stderr, flush=True)
        ids += missing
        all_probs.append(prior.expand(len(missing), -1))
    prob = torch.cat(all_probs)  # (N, K)
    pred = [classes[k] for k in prob.argmax(-1).tolist()]
    if len(set(ids)) != len(ids) or len(ids) != len(test_clips):
        raise RuntimeError(f"expected every one of {len(test_clips)} test ids exactly once, found {len(ids)} rows")
    out = P.write_submission(out, classes, ids, prob)
    result = {"submission": str(out), "rows": len(ids), "tta": tta, "views": views, "clips": clips,
              "checkpoint": checkpoint, "weights_used": weights_used, "from_prior": missing}
    if probs:
        result["probs"] = str(P.write_probs(out.with_suffix(".probs.json"), classes, ids, prob.numpy()))
    labels = read_labels(root)
    if labels is not None:
        hits = [labels.get(i) == c for i, c in zip(ids, pred)]
        result["accuracy"] = sum(hits) / len(hits)
        result["chance"] = 1 / len(classes)
    return result


def ensemble(probs: list, out="submission.csv", weights=None, save_probs: bool = False) -> dict:
    """Average the probabilities files `probs` (from `predict(..., probs=True)`, or runs' val_probs.json),
    weighted (default: equal), into the submission `out`; with validation files, the accuracies too."""
    files = [P.read_probs(p) for p in probs]
    mean = P.ensemble(files, weights)
    result = {"submission": str(P.write_submission(out, mean["classes"], mean["ids"], mean["probs"])),
              "rows": len(mean["ids"]), "weights": mean["weights"]}
    if save_probs:
        extra = {k: mean[k] for k in ("labels", "weights", "members") if k in mean}
        result["probs"] = str(P.write_probs(Path(out).with_suffix(".probs.json"), mean["classes"], mean["ids"],
                                            mean["probs"], **extra))
    if "labels" in mean:  # validation predictions: score the members and the ensemble on the same clips
        result["member_acc"] = [P.accuracy(f["probs"], f["labels"]) for f in files]
        result["accuracy"] = P.accuracy(mean["probs"], mean["labels"])
    return result


def report(run, data=None, worst: int = 8, frames: int = 4) -> dict:
    """RUN/report.md, confusion.csv/png and worst_clips.png from RUN/val_probs.json; the paths written.
    A run without validation clips (a refit with val_fraction=0) has nothing to report: {"note": why}.

    `data`: where to read the worst clips' frames (default: the data folder the run was trained on)."""
    root = find_data_root(data) if data else None  # a wrong data folder is an error, not a missing figure
    note = no_validation(run)
    if note:
        return {"note": note}
    return write_report(run, root, max(worst, 1), max(frames, 1))


def no_validation(run) -> str | None:
    """Why the run `run` has no validation predictions to analyse, if its split holds no validation clip."""
    folder = RunFolder(run)
    if folder.val_probs.is_file() or not folder.split.is_file():
        return None  # a report to write, or a run folder that `write_report` will explain
    _, val = split_sizes(folder.split)
    if val:
        return None
    return (f"{folder.path} has no validation clips (its split.json holds none: trained on every labelled clip, "
            "val_fraction=0), so there is nothing to report; read the report of the run that chose the recipe "
            "on the validation split")
