"""The run folder: every file a training run writes, named here once, and the readers and writers of them.

    RUN/config.json        the full TrainConfig of the run (also printed at its start)
    RUN/classes.json       class names = the training folders, in the head's index order
    RUN/split.json         the grouped train/validation split (finetune.data.split writes and reads it)
    RUN/checkpoint.pt      the latest good state: model, optimizer, random generators... (`--resume`)
    RUN/best.pt            with `keep_best`: the weights of the epoch of best validation accuracy, without the
                           optimizer state (a third of checkpoint.pt's size, half with `ema`; `predict
                           --checkpoint best`)
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

A bottom module, like finetune/errors.py: it imports only the standard library,
`finetune.errors` and `finetune.disk`, torch only inside the checkpoint functions,
so the command line can name a run's files without loading torch. Every file is
written atomically by `finetune.disk` (tmp, fsync, rename): a kill or a full disk
leaves the previous file whole, and a failed write is one `WriteFailed` error.
The formats with a logic of their own (the split, the metrics, the probabilities,
the report, the bad-frame log) are read and written by their modules, at the
paths named here.
"""
from __future__ import annotations

import json
from pathlib import Path

from finetune.disk import tensor_bytes, write_atomic, write_text_atomic
from finetune.errors import RunError

CONFIG = "config.json"
CLASSES = "classes.json"
SPLIT = "split.json"
CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
# what best.pt leaves out of a checkpoint: only `--resume` needs them, and AdamW's two moments are 2/3 of the bytes
RESUME_ONLY = ("optimizer", "scaler", "rng")
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
        self.best = self.path / BEST
        self.metrics = self.path / METRICS
        self.curves = self.path / CURVES
        self.summary = self.path / SUMMARY
        self.val_probs = self.path / VAL_PROBS
        self.report = self.path / REPORT
        self.confusion_csv = self.path / CONFUSION_CSV
        self.confusion_png = self.path / CONFUSION_PNG
        self.worst_clips = self.path / WORST_CLIPS
        self.bad_frames = self.path / BAD_FRAMES
        self.last_saved: dict | None = None  # the "state" of the checkpoint last written or read here (messages)

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
        write_text_atomic(self.config, json.dumps(config, indent=2))

    def read_config(self) -> dict:
        return _read_json(self.config, "the run's config, written when `python -m finetune train` starts")

    def write_classes(self, classes: list[str]) -> None:
        write_text_atomic(self.classes, json.dumps(classes, indent=1))

    def read_classes(self) -> list[str]:
        return _read_json(self.classes, "the run's class names, written when `python -m finetune train` starts")

    def write_summary(self, summary: dict) -> None:
        write_text_atomic(self.summary, json.dumps(summary, indent=1))  # never half a file: `finished()` reads it

    def read_summary(self) -> dict:
        return _read_json(self.summary, "the summary `python -m finetune train` writes when a run is finished")

    # -- the checkpoint ---------------------------------------------------------------------------

    def save_checkpoint(self, state: dict) -> None:
        """torch.save to RUN/checkpoint.pt such that a kill or a full disk never leaves a half-written file.

        Save to `checkpoint.pt.tmp`, flush it to disk, then `os.replace` it over the old one: a rename
        is atomic on POSIX, so a kill mid-save leaves the previous checkpoint intact; a failed write
        deletes the .tmp and raises `finetune.disk.WriteFailed` with the checkpoint's size."""
        _torch_save(self.checkpoint, state)
        self.last_saved = state.get("state")

    def save_best(self, state: dict) -> None:
        """RUN/best.pt: the checkpoint `state` without what only `--resume` needs (RESUME_ONLY)."""
        _torch_save(self.best, {k: v for k, v in state.items() if k not in RESUME_ONLY})

    def describe_last_checkpoint(self) -> str:
        """Which checkpoint a failed run leaves, for its error message: a sentence."""
        if not self.checkpoint.is_file():
            return "No checkpoint was written yet: the run starts from the beginning again."
        saved, where = self.last_saved, ""
        if saved:
            where = f" (optimizer step {saved.get('global_step')}, {saved.get('epoch')} epoch(s) done)"
        return f"The last good checkpoint, {self.checkpoint}{where}, is intact."

    def load_checkpoint(self, which: str = "last") -> dict:
        """RUN/checkpoint.pt ("last") or RUN/best.pt ("best") as a dict, loaded without unpickling code
        (`weights_only=True`: tensors and plain data only, so opening a run folder someone sent you
        cannot run code hidden in a pickle)."""
        import torch

        if which not in ("last", "best"):
            raise RunError(f"expected the checkpoint 'last' or 'best', found {which!r}")
        path = self.checkpoint if which == "last" else self.best
        if not path.is_file():
            hint = (" (a run keeps best.pt only with --set keep_best=true and a validation split)"
                    if which == "best" and self.checkpoint.is_file() else "")
            raise RunError(f"no {path.name} in {self.path}: expected a run folder written by "
                           f"`python -m finetune train`{hint}")
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - truncated, not a torch file, or carrying code: all one answer
            raise RunError(f"cannot read {path}: expected a checkpoint saved by `python -m finetune "
                           f"train` (tensors and plain data only), found {type(err).__name__}: "
                           f"{(str(err).splitlines() or [''])[0]}") from None
        if which == "last" and isinstance(ckpt, dict):
            self.last_saved = ckpt.get("state")
        return ckpt


def load_checkpoint(run: str | Path, which: str = "last") -> dict:
    """`RunFolder(run).load_checkpoint(which)`, for a caller that holds the folder's path."""
    return RunFolder(run).load_checkpoint(which)


def _torch_save(path: Path, state: dict) -> None:
    """torch.save `state` to `path` atomically (finetune.disk); its tensors' bytes are the size reported on failure."""
    import torch

    write_atomic(path, lambda f: torch.save(state, f), tensor_bytes(state))


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise RunError(f"expected {path} ({what}), found no such file")
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RunError(f"cannot read {path}: expected JSON ({what}), found {err}") from None
