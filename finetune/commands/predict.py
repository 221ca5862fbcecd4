"""`python -m finetune predict`: a trained run -> the competition's submission.csv (seed IV.3, Exp 4 TTA).

    id,class
    0,climb_stairs
    1,...

Test-time augmentation: each test clip is cut into V views (6: three crops
along the long side x plain/mirrored), every view goes through the model, and
the SOFTMAX outputs are averaged: a confident view and an unsure one then
weigh as probabilities, not as raw logits of arbitrary scale. The seed's Exp 4
gained +0.6 points from this (84.31 -> 84.90, together with the second stage).

Class names come from the run (its training folders, in index order). If DATA
also holds data_train/ and its folders differ, the run was trained for another
class list: predicting would silently mislabel every clip, so it is an error.
`--probs` also writes the averaged probabilities (for ensembling runs).

Every test id gets a row: a test clip none of whose frames can be decoded is
predicted from the prior (the most frequent training class), with a warning,
and listed in OUT's `.bad_frames.txt` beside frames replaced by a neighbour.
"""
import csv
from pathlib import Path

import sys

import torch

from finetune import config as C
from finetune.training.checkpoint import load_checkpoint
from finetune.data.decode import BadFrameLog
from finetune.training.distributed import Dist
from finetune.training.engine import choose_precision, predict_probs
from finetune.errors import DataError, RunError
from finetune.data.layout import TRAIN_DIR, find_data_root, list_test_clips, list_train_clips
from finetune.training.loaders import eval_dataset, eval_loader, mean_std
from finetune.training.probs import write_probs, write_submission
from finetune.training.models import model_from_checkpoint


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


def predict(run, data, out, tta: str | None = None, probs: bool = False, batch_size: int | None = None,
            num_workers: int | None = None, device: str = "auto") -> dict:
    run, root = Path(run), find_data_root(data)
    ckpt = load_checkpoint(run)
    cfg = C.from_dict(ckpt["config"])
    classes = ckpt["classes"]
    check_classes(classes, root, run)
    tta = tta or cfg.tta
    if tta not in C.VIEWS:
        raise RunError(f"--tta must be one of {', '.join(C.VIEWS)}, found {tta!r}")
    dev = torch.device("cuda" if torch.cuda.is_available() and device != "cpu" else "cpu")
    model = model_from_checkpoint(ckpt).to(dev)
    clips = list_test_clips(root)
    if not clips:
        raise DataError(f"expected test clips in {root}/test, found none")
    views = C.VIEWS[tta]
    bad_log = BadFrameLog(Path(out).with_suffix(".bad_frames.txt"))
    loader = eval_loader(eval_dataset(clips, cfg, tta, bad_log), cfg, Dist(device=dev), views, batch_size, num_workers)
    ids, all_probs = [], []
    for keys, p in predict_probs(model, loader, dev, choose_precision(cfg.precision, dev), cfg.image_size, views,
                                 mean_std(cfg, dev), desc=f"predict {tta}"):
        ids += [int(k) for k in keys]
        all_probs.append(p.cpu())
    missing = sorted({c.label for c in clips} - set(ids))
    if missing:  # clips with no readable frame: the prior, so that every id still has a row
        counts = torch.tensor(ckpt.get("class_counts") or [1] * len(classes), dtype=torch.float32)
        prior = counts / counts.sum()
        print(f"warning: {len(missing)} test clip(s) have no readable frame (ids {missing[:10]}); predicted "
              f"from the prior: {classes[int(prior.argmax())]}", file=sys.stderr, flush=True)
        ids += missing
        all_probs.append(prior.expand(len(missing), -1))
    prob = torch.cat(all_probs)  # (N, K)
    pred = [classes[k] for k in prob.argmax(-1).tolist()]
    if len(set(ids)) != len(ids) or len(ids) != len(clips):
        raise RuntimeError(f"expected every one of {len(clips)} test ids exactly once, found {len(ids)} rows")
    out = write_submission(out, classes, ids, prob)
    result = {"submission": str(out), "rows": len(ids), "tta": tta, "views": views, "from_prior": missing}
    if probs:
        result["probs"] = str(write_probs(out.with_suffix(".probs.json"), classes, ids, prob.numpy()))
    labels = read_labels(root)
    if labels is not None:
        hits = [labels.get(i) == c for i, c in zip(ids, pred)]
        result["accuracy"] = sum(hits) / len(hits)
        result["chance"] = 1 / len(classes)
    return result


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="write submission.csv (id,class) from a trained run, with TTA",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="the run folder written by `finetune train`")
    p.add_argument("--data", required=True, help="the data folder (holds test/, and data_train/ to check classes)")
    p.add_argument("--out", default="submission.csv", help="output CSV (default submission.csv)")
    p.add_argument("--tta", choices=list(C.VIEWS), help="views per clip (default: the run's config)")
    p.add_argument("--probs", action="store_true", help="also save the averaged probabilities as OUT.probs.json")
    p.add_argument("--batch-size", type=int, help="clips per batch (default: from the run)")
    p.add_argument("--num-workers", type=int, help="data loading processes (default: from the run)")
    p.add_argument("--device", default="auto", help="auto (GPU if present) or cpu")
    p.set_defaults(func=_run)


def _run(args) -> int:
    r = predict(args.run, args.data, args.out, args.tta, args.probs, args.batch_size, args.num_workers, args.device)
    print(f"wrote {r['rows']} rows ({r['tta']}, {r['views']} view(s) per clip) to {r['submission']}")
    if "accuracy" in r:
        print(f"accuracy on the local test labels: {r['accuracy']:.4f} (chance {r['chance']:.4f}, "
              f"{r['accuracy'] / r['chance']:.1f}x chance)")
    return 0
