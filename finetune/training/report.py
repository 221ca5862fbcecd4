"""Error analysis of a run: which classes it gets wrong, what it takes them for, and the clips themselves.

One accuracy number hides where a model fails. From the run's validation
predictions (RUN/val_probs.json, see `probs.py`) this module computes

- the confusion matrix C[true, predicted] (counts; each row normalised, it reads
  "of the clips of class i, this share was called j"),
- per-class accuracy, worst first, with the class each one is most often taken for,
- the most confused pairs (true -> predicted, how many, what share of the true class),
- the worst clips: lowest probability given to the true class (confident mistakes
  first), whose frames `report_figures.contact_sheet` shows.

On HMDB51 the pairs to expect differ in a detail rather than in the motion
(eat/drink, smile/laugh, sword/sword_exercise, as their names suggest); a look
at the worst clips tells a labelling problem from a model problem.

Everything above the `write_report` section is a pure function of numbers
(numpy, no files, no figures), tested on hand-made examples.
"""
from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import numpy as np

from finetune.disk import write_text_atomic
from finetune.run_folder import VAL_PROBS, RunFolder
from finetune.training.probs import ProbsError, read_probs


def confusion_matrix(labels, preds, num_classes: int) -> np.ndarray:
    """(K, K) integer counts, rows = true class, columns = predicted class; sums to the number of clips."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(labels, dtype=np.int64), np.asarray(preds, dtype=np.int64)), 1)
    return cm


def row_normalise(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its total (rows sum to 1); a class with no clips keeps a row of zeros."""
    totals = cm.sum(1, keepdims=True)
    return np.divide(cm, totals, out=np.zeros(cm.shape, dtype=np.float64), where=totals > 0)


def per_class(cm: np.ndarray, classes: list[str]) -> list[dict]:
    """One dict per class that has clips: clips, correct, acc, the class it is most often taken for; worst first."""
    rows = []
    for k, name in enumerate(classes):
        n = int(cm[k].sum())
        if n == 0:
            continue
        wrong = cm[k].copy()
        wrong[k] = 0
        j = int(wrong.argmax())
        rows.append({"class": name, "clips": n, "correct": int(cm[k, k]), "acc": cm[k, k] / n,
                     "confused_with": classes[j] if wrong[j] else "", "confused_count": int(wrong[j])})
    return sorted(rows, key=lambda r: (r["acc"], -r["clips"], r["class"]))


def class_order(cm: np.ndarray) -> list[int]:
    """Class indices for the figure: worst accuracy first (classes without clips last), ties by index."""
    totals = cm.sum(1)
    acc = np.divide(np.diag(cm), totals, out=np.full(len(cm), 2.0), where=totals > 0)
    return sorted(range(len(cm)), key=lambda k: (acc[k], k))


def top_confusions(cm: np.ndarray, classes: list[str], n: int = 10) -> list[dict]:
    """The n largest off-diagonal counts: true -> predicted, count, share of the true class's clips."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    pairs = sorted(((int(off[i, j]), i, j) for i, j in zip(*np.nonzero(off))), key=lambda x: (-x[0], x[1], x[2]))
    return [{"true": classes[i], "predicted": classes[j], "count": c, "share": c / cm[i].sum()}
            for c, i, j in pairs[:n]]


def worst_clips(labels, probs, n: int = 8) -> list[int]:
    """Row indices of the n clips with the lowest probability on their true class (ties: first row first)."""
    p_true = np.asarray(probs)[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)]
    return [int(i) for i in np.argsort(p_true, kind="stable")[:n]]


def markdown(run: Path, pred: dict, cm: np.ndarray, worst: list[int], figures: dict) -> str:
    """RUN/report.md: the headline, the figures, the per-class table and the confused pairs."""
    classes, probs, labels = pred["classes"], pred["probs"], pred["labels"]
    n, k = int(cm.sum()), len(classes)
    acc = np.trace(cm) / max(n, 1)
    lines = [f"# Validation report: {Path(run).name}", "",
             (f"{n} validation clips, {k} classes, views: {pred.get('tta', '?')}. Accuracy {100 * acc:.2f}% "
              f"(chance {100 / k:.2f}%). Made from `{VAL_PROBS}`; rebuild with "
              f"`python -m finetune report --run {run}`."), ""]
    if pred.get("left_out"):
        lines += [f"Not counted: {len(pred['left_out'])} validation clip(s) with no readable frame: "
                  + ", ".join(pred["left_out"][:10]), ""]
    for key, caption in (("confusion", "confusion matrix"), ("worst", "worst clips")):
        lines += [f"![{caption}]({Path(figures[key]).name})" if key in figures else
                  f"({caption}: not drawn, {figures.get(key + '_error', 'see the log')})", ""]
    header = "| class | clips | correct | accuracy | most often predicted instead |"
    lines += ["## Per-class accuracy (worst first)", "", header, "| :--- | ---: | ---: | ---: | :--- |"]
    for r in per_class(cm, classes):
        other = f"{r['confused_with']} ({r['confused_count']})" if r["confused_with"] else ""
        lines.append(f"| {r['class']} | {r['clips']} | {r['correct']} | {100 * r['acc']:.1f}% | {other} |")
    lines += ["", "## Most confused pairs", "", "| true | predicted | clips | share of the true class |",
              "| :--- | :--- | ---: | ---: |"]
    lines += [f"| {c['true']} | {c['predicted']} | {c['count']} | {100 * c['share']:.1f}% |"
              for c in top_confusions(cm, classes)] or ["| (none: every clip is right) | | | |"]
    lines += ["", "## Worst clips (lowest probability on the true class)", "",
              "| clip | true | predicted (p) | p(true) |", "| :--- | :--- | :--- | ---: |"]
    for i in worst:
        p, y = probs[i], labels[i]
        lines.append(f"| {pred['ids'][i]} | {classes[y]} | {classes[int(p.argmax())]} ({p.max():.2f}) | {p[y]:.2f} |")
    return "\n".join(lines) + "\n"


# ---- writing the report of a run --------------------------------------------------------------

def load_val_predictions(run: Path) -> dict:
    """RUN/val_probs.json, checked; ProbsError saying how to get it when the run has none."""
    path = RunFolder(run).val_probs
    if not path.is_file():
        raise ProbsError(f"no validation predictions in {path}: `python -m finetune train` writes them at the end "
                         f"of a run with a validation split; for a run finished before, evaluate it again with "
                         f"`python -m finetune train --data DATA --out {run} --resume` (nothing is retrained)")
    pred = read_probs(path)
    labels = pred.get("labels")
    if not isinstance(labels, list) or len(labels) != len(pred["ids"]) or not all(
            isinstance(y, int) and 0 <= y < len(pred["classes"]) for y in labels):
        raise ProbsError(f"{path}: expected 'labels', one class index per id, as `train` writes; "
                         "a file from `predict --probs` has no true labels")
    return pred


def write_report(run: str | Path, data: str | Path | None = None, worst: int = 8, frames: int = 4) -> dict:
    """RUN/report.md, confusion.csv, confusion.png, worst_clips.png; a figure that fails is logged, not raised."""
    from finetune.training import report_figures as fig

    folder = RunFolder(run)
    run = folder.path
    pred = load_val_predictions(run)
    classes, probs, labels = pred["classes"], pred["probs"], pred["labels"]
    cm = confusion_matrix(labels, probs.argmax(-1), len(classes))
    text = io.StringIO()  # counts: rows true, columns predicted
    csv.writer(text).writerows([["true \\ predicted", *classes], *([c, *row] for c, row in zip(classes, cm.tolist()))])
    write_text_atomic(folder.confusion_csv, text.getvalue())
    bad = worst_clips(labels, probs, worst)
    figures = {"csv": folder.confusion_csv}
    acc = np.trace(cm) / max(int(cm.sum()), 1)
    jobs = {"confusion": lambda: fig.plot_confusion(row_normalise(cm), classes, class_order(cm), folder.confusion_png,
                                                    f"{run.name}: validation confusion, accuracy {100 * acc:.1f}% "
                                                    f"({int(cm.sum())} clips), rows normalised"),
            "worst": lambda: fig.contact_sheet(fig.worst_rows(pred, bad, data or pred.get("data"), frames),
                                               folder.worst_clips)}
    for key, draw in jobs.items():
        try:
            figures[key] = draw()
        except Exception as err:  # noqa: BLE001 - a figure is never worth losing a run or the rest of a report
            figures[key + "_error"] = f"{type(err).__name__}: {err}".splitlines()[0]
            print(f"warning: could not draw the {key} figure of {run}: {figures[key + '_error']}", file=sys.stderr,
                  flush=True)
    write_text_atomic(folder.report, markdown(run, pred, cm, bad, figures))
    figures["report"] = folder.report
    return figures
