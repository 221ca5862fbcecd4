"""The run folder: every file a training run writes, named here once, and the readers and writers of them.

    RUN/config.json        the full TrainConfig of the run (also printed at its start)
    RUN/classes.json       class names = the training folders, in the head's index order
    RUN/split.json         the grouped train/validation split (finetune.data.split writes and reads it)
    RUN/checkpoint.pt      the latest good state: model, optimizer, random generators... (`--resume`)
    RUN/metrics.jsonl      one JSON line per epoch (finetune.training.runlog); RUN/curves.png the same, plotted
    RUN/summary.json       written when the run is finished: `ablate` skips such a run
    RUN/val_probs.json     the final validation pass's probabilities per clip (`ensemble`, `ablate`, `report`)
    RUN/report.md          per-class accuracy, confused pairs, worst clips (finetune.training.report), with
    RUN/confusion.csv      the confusion matrix as counts, RUN/confusion.png as a figure, and
    RUN/worst_clips.png    the frames of the worst-classified validation clips
    RUN/bad_frames.txt     frames that could not be decoded (replaced by a neighbour) and clips left out

Why one module: `train` writes these files, and `predict`, `export`, `ablate`,
`report`, the command line's Ctrl-C note and a notebook read them. With the
names in one place, a reader cannot look for a file under a name the writer
stopped using, and "is this run finished?" has one answer (`finished`).

A bottom module, like finetune/errors.py: it imports only the standard library
and `finetune.errors`, torch only inside the two checkpoint functions, so the
command line can name a run's files without loading torch. The formats with a
logic of their own (the split, the metrics, the probabilities, the report, the
bad-frame log) are read and written by their modules, at the paths named here.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from finetune.errors import RunError

CONFIG = "config.json"
CLASSES = "classes.json"
SPLIT = "split.json"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"
CURVES = "curves.png"
SUMMARY = "summary.json"
VAL_PROBS = "val_probs.json"
REPORT = "report.md"
CONFUSION_CSV = "confusion.csv"
CONFUSION_PNG = "confusion.png"
WORST_CLIPS = "worst_clips.png"
BAD_FRAMES = "bad_frames.txt"


class RunFolder:
    """A run folder: one path attribute per file above, and the readers/writers of the plain ones.

        run = RunFolder("runs/exp4")
        run.checkpoint             # Path("runs/exp4/checkpoint.pt")
        run.finished()             # RUN/summary.json exists
        run.read_summary()["val_acc"]
        run.load_checkpoint()["classes"]
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.config = self.path / CONFIG
        self.classes = self.path / CLASSES
        self.split = self.path / SPLIT
        self.checkpoint = self.path / CHECKPOINT
        self.metrics = self.path / METRICS
        self.curves = self.path / CURVES
        self.summary = self.path / SUMMARY
        self.val_probs = self.path / VAL_PROBS
        self.report = self.path / REPORT
        self.confusion_csv = self.path / CONFUSION_CSV
        self.confusion_png = self.path / CONFUSION_PNG
        self.worst_clips = self.path / WORST_CLIPS
        self.bad_frames = self.path / BAD_FRAMES

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    def started(self) -> bool:
        """A checkpoint is there: the run can be continued (`--resume`), not started again."""
        return self.checkpoint.is_file()

    def finished(self) -> bool:
        """The run wrote its summary: every epoch is trained and the final validation pass is done."""
        return self.summary.is_file()

    # -- the plain JSON files -------------------------------------------------------------------

    def write_config(self, config: dict) -> None:
        """`config`: `finetune.config.to_dict(cfg)`; read back with `finetune.config.from_dict`."""
        self.config.write_text(json.dumps(config, indent=2))

    def read_config(self) -> dict:
        return _read_json(self.config, "the run's config, written when `python -m finetune train` starts")

    def write_classes(self, classes: list[str]) -> None:
        self.classes.write_text(json.dumps(classes, indent=1))

    def read_classes(self) -> list[str]:
        return _read_json(self.classes, "the run's class names, written when `python -m finetune train` starts")

    def write_summary(self, summary: dict) -> None:
        self.summary.write_text(json.dumps(summary, indent=1))

    def read_summary(self) -> dict:
        return _read_json(self.summary, "the summary `python -m finetune train` writes when a run is finished")

    # -- the checkpoint ---------------------------------------------------------------------------

    def save_checkpoint(self, state: dict) -> None:
        """torch.save to RUN/checkpoint.pt such that a kill never leaves a half-written file.

        Save to `checkpoint.pt.tmp`, flush it to disk, then `os.replace` it over the old one: a rename
        is atomic on POSIX, so a kill mid-save leaves the previous checkpoint intact."""
        import torch

        tmp = self.checkpoint.with_name(self.checkpoint.name + ".tmp")
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.checkpoint)

    def load_checkpoint(self) -> dict:
        """RUN/checkpoint.pt as a dict, loaded without unpickling code (`weights_only=True`: tensors and
        plain data only, so opening a run folder someone sent you cannot run code hidden in a pickle)."""
        import torch

        if not self.checkpoint.is_file():
            raise RunError(f"no {CHECKPOINT} in {self.path}: expected a run folder written by "
                           "`python -m finetune train`")
        try:
            return torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - truncated, not a torch file, or carrying code: all one answer
            raise RunError(f"cannot read {self.checkpoint}: expected a checkpoint saved by `python -m finetune "
                           f"train` (tensors and plain data only), found {type(err).__name__}: "
                           f"{(str(err).splitlines() or [''])[0]}") from None


def load_checkpoint(run: str | Path) -> dict:
    """`RunFolder(run).load_checkpoint()`, for a caller that holds the folder's path."""
    return RunFolder(run).load_checkpoint()


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise RunError(f"expected {path} ({what}), found no such file")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunError(f"cannot read {path}: expected JSON ({what}), found {err}") from None
