"""What a run leaves behind to be read later: RUN/metrics.jsonl and RUN/curves.png.

One JSON line per epoch (train/val loss and accuracy, lr, stage, time, clips/s,
peak memory) is easy to append to after a resume, to grep, and to load with
pandas. The plot shows how to read a run:

- train acc far above val acc, val loss rising: over-fitting (Exp 1: 100% train);
- with Mixup, train acc stays BELOW val acc (the mixed clips are harder than
  the real ones): regularisation working (Exp 3: ~90% train);
- the shaded stage-2 epochs (Exp 4): val loss should settle, not jump.
"""
import contextlib
import json
from pathlib import Path

from finetune.disk import WriteFailed
from finetune.run_folder import RunFolder


def append_metrics(run: Path, record: dict) -> None:
    """Append one line. A write that fails (a full disk) is cut back off: the file never ends in half a
    line, which `read_metrics` would choke on when the run is resumed."""
    path = RunFolder(run).metrics
    line = (json.dumps(record) + "\n").encode("utf-8")
    size = path.stat().st_size if path.exists() else 0
    try:
        with open(path, "ab") as f:
            f.write(line)
    except OSError as err:
        with contextlib.suppress(OSError), open(path, "r+b") as f:
            f.truncate(size)  # needs no free space
        raise WriteFailed(path, err, len(line)) from err


def read_metrics(run: Path) -> list[dict]:
    path = RunFolder(run).metrics
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    latest = {}  # a resumed run may repeat an epoch that the kill interrupted after logging: keep the last
    for row in rows:
        latest[row["epoch"]] = row
    return [latest[e] for e in sorted(latest)]


def plot_curves(run: Path, title: str = "") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run)
    epochs = [r["epoch"] + 1 for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key in zip(axes[:2], ("loss", "acc")):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], "o-", label=f"train {key}")
        val = [(e, r[f"val_{key}"]) for e, r in zip(epochs, rows) if r.get(f"val_{key}") is not None]
        if val:
            ax.plot(*zip(*val), "s-", label=f"val {key}")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    axes[2].plot(epochs, [r["lr"] for r in rows], "k.-")
    axes[2].set_yscale("log")
    axes[2].set_title("lr (end of epoch, before layer decay)")
    axes[2].set_xlabel("epoch")
    stage2 = [e for e, r in zip(epochs, rows) if r.get("stage") == 2]
    if stage2:
        for ax in axes:
            ax.axvspan(min(stage2) - 0.5, max(stage2) + 0.5, color="orange", alpha=0.15, label="stage 2")
    fig.suptitle(title)
    fig.tight_layout()
    out = RunFolder(run).curves
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
