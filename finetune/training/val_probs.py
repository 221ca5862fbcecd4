"""The final validation pass of a run: every validation clip's class probabilities, kept for error analysis.

`engine.evaluate` sums a loss and an accuracy; to see WHICH clips a run gets
wrong (`python -m finetune report`) or to average runs (`ensemble`, the
ensemble row of `ablate`), the probabilities themselves must be kept, each with
the clip it belongs to. The trick: the dataset is given the clips with
`label = position in the validation list`, as `predict` gives test clips their
ids, so every batch names its clips; a clip none of whose frames decodes is
simply missing. Under DDP each process sees every world-th clip and the rows
are gathered on every process before the accuracy is computed.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import torch

from finetune import config as C
from finetune.data.layout import Clip
from finetune.data.split import clip_key
from finetune.disk import WriteFailed
from finetune.run_folder import RunFolder
from finetune.training.distributed import gather
from finetune.training.engine import Trainer, predict_probs
from finetune.training.loaders import eval_dataset, eval_loader
from finetune.training.probs import accuracy, write_probs


def val_predictions(t: Trainer, clips: list[Clip], tta: str, bad_log=None, net=None) -> dict:
    """{"ids": clip keys, "labels": true class indices, "probs": (N, K), "acc", "tta", "left_out"}, on every process.

    "left_out": the keys of clips with no readable frame (not predicted, not counted). `net`: the
    network to evaluate, default the trained one (t.net); e.g. the EMA's."""
    views = C.VIEWS[tta]
    numbered = [replace(c, label=i) for i, c in enumerate(clips)]  # label = position: batches name their clips
    loader = eval_loader(eval_dataset(numbered, t.cfg, tta, bad_log), t.cfg, t.d, views)
    rows, probs = [], []
    net = t.net if net is None else net
    for keys, p in predict_probs(net, loader, t.d.device, t.dtype, t.cfg.image_size, views, t.mean_std,
                                 show=t.d.main, desc=f"val {tta}"):
        rows += [int(k) for k in keys]
        probs.append(p.float().cpu())
    mine = (rows, torch.cat(probs).tolist() if probs else [])
    rows, probs = [], []
    for r, p in gather(mine, t.d):  # every process's share, in rank order
        rows += r
        probs += p
    order = sorted(range(len(rows)), key=rows.__getitem__)  # back to the validation list's order
    kept = [clips[rows[k]] for k in order]
    probs = [probs[k] for k in order]
    labels = [c.label for c in kept]
    got = set(rows)
    return {"ids": [clip_key(c) for c in kept], "labels": labels, "probs": probs, "tta": tta,
            "acc": accuracy(probs, labels) if probs else float("nan"),
            "left_out": [clip_key(c) for i, c in enumerate(clips) if i not in got]}  # no readable frame


def save_val_predictions(run: Path, pred: dict, classes: list[str], data_root: Path) -> None:
    """RUN/val_probs.json (the format of `probs.py` plus labels, data folder, views), then RUN/report.md.

    Called by `train` at the very end of a run: a failure here is logged, never raised, so the
    finished run (its checkpoint and summary) is never lost to a figure; `report` rebuilds it. Except
    a full disk (`WriteFailed`): the summary would fail next, so the run stops here, naming the file."""
    from finetune.training.report import write_report

    try:
        write_probs(RunFolder(run).val_probs, classes, pred["ids"], pred["probs"], labels=pred["labels"],
                    data=str(Path(data_root).resolve()), tta=pred["tta"], left_out=pred.get("left_out", []))
        write_report(run)
    except WriteFailed:
        raise
    except Exception as err:  # noqa: BLE001 - see the docstring
        print(f"warning: could not write the validation report of {run} ({type(err).__name__}: {err}); "
              f"rebuild it with `python -m finetune report --run {run}`", file=sys.stderr, flush=True)
