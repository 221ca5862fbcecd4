"""The Kaggle notebook's logic (kaggle/project71.ipynb), as small functions a test can import.

A notebook cell is read by no linter and imported by no unit test, so everything
in the notebook that can go wrong lives here instead, and each cell is a few
lines that call it: the settings from the `PROJECT71_*` variables, the search
for the three inputs under /kaggle/input (the competition data, the Kinetics-400
weights, an earlier session's run to resume), the launch command for the GPUs
present (torchrun on two or more), and the time guard that interrupts training
before Kaggle's 12-hour limit ends the session. Only the install cell stands
alone: it runs before this package is importable. tests/test_kaggle_session.py
checks these functions on temporary folders and tiny subprocesses; the guide is
docs/kaggle.md.

Every command runs as `python -m finetune ...` in a subprocess, as a user would
type it, so the notebook exercises the same command line as everyone else.
"""
import contextlib
import csv
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from finetune.run_folder import RunFolder

FINETUNE = [sys.executable, "-m", "finetune"]
# the data's thousands of clip folders (and archive debris): never what we look for, and slow to walk
SKIP = {"data_train", "test", "__MACOSX", ".git"}


@dataclass
class Settings:
    """The notebook's choices, each read from its `PROJECT71_*` variable (the table in its first cell)."""
    start: float  # when the notebook started: the time guard counts from here, as Kaggle's 12 hours do
    input: Path  # PROJECT71_INPUT: where the inputs are searched for (Kaggle mounts them at /kaggle/input)
    work: Path  # PROJECT71_WORK: Kaggle keeps only /kaggle/working as a version's output
    preset: str = "exp4-30ep"  # the course notes' best recipe
    sets: list[str] = field(default_factory=list)  # PROJECT71_SET: extra `--set name=value` overrides
    train_hours: float = 11.0  # leaves an hour of the 12 for predicting and for Kaggle to save the outputs
    tta: str = "tta6"
    data: Path | None = None  # PROJECT71_DATA; None: searched for under `input`
    weights: Path | None = None  # PROJECT71_WEIGHTS; None: searched for under `input`

    @classmethod
    def from_env(cls, start: float, environ=None) -> "Settings":
        env = os.environ if environ is None else environ
        on_kaggle = Path("/kaggle/working").is_dir()
        work = env.get("PROJECT71_WORK") or ("/kaggle/working" if on_kaggle else "outputs/project71")
        return cls(start=start, input=Path(env.get("PROJECT71_INPUT", "/kaggle/input")), work=Path(work).resolve(),
                   preset=env.get("PROJECT71_PRESET", "exp4-30ep"), sets=shlex.split(env.get("PROJECT71_SET", "")),
                   train_hours=float(env.get("PROJECT71_TRAIN_HOURS", "11")), tta=env.get("PROJECT71_TTA", "tta6"),
                   data=Path(env["PROJECT71_DATA"]) if env.get("PROJECT71_DATA") else None,
                   weights=Path(env["PROJECT71_WEIGHTS"]) if env.get("PROJECT71_WEIGHTS") else None)

    @property
    def deadline(self) -> float:
        return self.start + self.train_hours * 3600

    def describe(self) -> str:
        return (f"python {sys.version.split()[0]}; inputs searched in {self.input}; outputs in {self.work}; "
                f"preset {self.preset}")


def run_with_deadline(cmd, deadline: float | None = None, grace_s: float = 300, started: float | None = None):
    """Run cmd, printing its output as it comes; returns (exit status, stopped by the deadline?).

    At `deadline` (a time.time() value) the command is interrupted as Ctrl-C would: SIGINT to its whole
    process group, so torchrun's workers get it too and `train` stops between steps; SIGTERM if it has
    not exited after grace_s, SIGKILL after a further minute. `started` only words the message.
    """
    cmd = [str(c) for c in cmd]
    print("$", shlex.join(cmd), flush=True)
    env = {"FINETUNE_PROGRESS": "lines", **os.environ, "PYTHONUNBUFFERED": "1"}  # a line every 10%, no bar
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)  # its own process group: a signal reaches every worker
    # print, not the child's own stdout: a notebook shows what Python prints, not what a subprocess writes
    pump = threading.Thread(target=lambda: [print(line, end="", flush=True) for line in proc.stdout])
    pump.start()
    stopped = False
    try:
        proc.wait(None if deadline is None else max(deadline - time.time(), 0))
    except subprocess.TimeoutExpired:
        stopped = True
        since = "" if started is None else f"{(time.time() - started) / 3600:.2f} h since the notebook started; "
        print(f"time guard: {since}interrupting (the last checkpoint stays)", flush=True)
    except KeyboardInterrupt:  # the notebook's stop button: stop the command too, then stop here
        stopped = None
    if proc.poll() is None:
        for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 60), (signal.SIGKILL, None)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(wait_s)
                break
            except ProcessLookupError:  # the whole group exited between two signals
                proc.wait()
                break
            except subprocess.TimeoutExpired:
                continue
    pump.join()
    if stopped is None:
        raise KeyboardInterrupt
    return proc.returncode, stopped


def folders(root, max_depth: int = 5):
    """root and the folders under it, breadth first, at most max_depth levels down, outside SKIP."""
    level = [Path(root)]
    for _ in range(max_depth + 1):
        deeper = []
        for folder in level:
            yield folder
            with contextlib.suppress(OSError):  # unreadable or missing: nothing to find there
                deeper += sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in SKIP)
        level = deeper


def find_data(input_root) -> Path:
    """The folder holding data_train/ (on Kaggle /kaggle/input/action-video/data); one with test/ too first."""
    found = [d for d in folders(input_root) if (d / "data_train").is_dir()]
    if not found:
        raise FileNotFoundError(f"no folder with data_train/ under {input_root}: add the competition data "
                                "(Add Input -> Competitions -> action-video) or set PROJECT71_DATA")
    return sorted(found, key=lambda d: not (d / "test").is_dir())[0]  # stable: breadth-first order otherwise


def data_summary(data) -> tuple[list[str], int]:
    """The class names (folders of data_train/) and the number of test clips (folders of test/)."""
    data = Path(data)
    classes = sorted(p.name for p in (data / "data_train").iterdir() if p.is_dir() and not p.name.startswith("."))
    n_test = sum(1 for p in (data / "test").iterdir() if p.is_dir()) if (data / "test").is_dir() else 0
    return classes, n_test


def videomae_folder(folder) -> dict | None:
    """The config of a Hugging Face VideoMAE folder (config.json + weights file), None for any other folder."""
    folder = Path(folder)
    try:
        cfg = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return None
    has_weights = any((folder / n).is_file() for n in ("model.safetensors", "pytorch_model.bin"))
    video = isinstance(cfg, dict) and str(cfg.get("model_type", "")).startswith(("videomae", "VideoMAEv2"))
    return cfg if video and has_weights else None


def weights_rank(path, cfg: dict | None) -> tuple[bool, bool, bool]:
    """Sort key, lower is better: VideoMAE V2's ViT-B distilled from ViT-g (86.6% on K400 for the cost of
    V1's ViT-B, 81.5%: the best weights a T4 trains in time), then the K400 classifier (400 labels),
    then a path naming Kinetics."""
    name = str(path).lower().replace("-", "_")
    v2_base = ("vit_b" in name or "base" in name) and any(k in name for k in ("k710", "distill", "v2"))
    k400_head = len((cfg or {}).get("id2label", {})) == 400
    named = any(k in name for k in ("kinetics", "k400"))
    return not v2_base, not k400_head, not named


def backbone_line(weights) -> str:
    """What `train` will make of the weights: the backbone row of finetune/backbones.py whose official
    values it applies (backbone=auto), read from the file's shapes without loading it."""
    from finetune.backbones import recipe

    row = recipe(weights)
    if row is None:
        return "backbone: not one of the released sizes: the preset's values apply as they are"
    return f"backbone: {row.name} ({row.title}): train applies its official values ({' '.join(row.overrides())})"


def find_weights(input_root) -> Path:
    """The checkpoint to start from under input_root: a VideoMAE HF folder (transformers' or OpenGVLab's V2)
    or an official .pth (V1, V2, or an MMAction2 port); prints them all, best first (`weights_rank`)."""
    hf, pth = [], []
    for d in folders(input_root):
        if cfg := videomae_folder(d):
            hf.append((d, cfg))
        pth += [(f, None) for f in sorted(d.glob("*.pth"))]
    candidates = sorted(hf + pth, key=lambda c: weights_rank(*c))  # stable: HF folders before .pth on a tie
    if not candidates:
        raise FileNotFoundError(f"no VideoMAE checkpoint under {input_root}: add the folder of "
                                "MCG-NJU/videomae-base-finetuned-kinetics as a dataset, or set PROJECT71_WEIGHTS")
    for path, cfg in candidates:
        print("  weights candidate:", path, f"({len(cfg.get('id2label', {}))} labels)" if cfg else "")
    return candidates[0][0]


def find_previous_run(input_root, preset: str) -> Path | None:
    """An earlier session's run folder attached as an input (`.../runs/<preset>/` with a checkpoint), or None."""
    return next((d for d in folders(input_root, 6) if d.name == preset and d.parent.name == "runs"
                 and RunFolder(d).started()), None)


def continue_previous_run(run, input_root) -> Path | None:
    """Copy an earlier session's run into `run` when `run` has no checkpoint (/kaggle/working starts empty)."""
    run = Path(run)
    previous = None if RunFolder(run).started() else find_previous_run(input_root, run.name)
    if previous is not None:
        print(f"continuing the run of an earlier session: copying {previous} -> {run}")
        shutil.copytree(previous, run, dirs_exist_ok=True)
    return previous


def describe_gpus() -> int:
    """Print each GPU with the precision `train` will pick for it (precision=auto); returns how many."""
    import torch

    from finetune.training.engine import choose_precision

    n_gpu = torch.cuda.device_count()
    for i in range(n_gpu):
        cap = torch.cuda.get_device_capability(i)
        dtype = choose_precision("auto", torch.device("cuda", i), cap)
        print(f"GPU {i}: {torch.cuda.get_device_name(i)}, compute capability {cap[0]}.{cap[1]} -> "
              f"{'bf16' if dtype == torch.bfloat16 else 'fp16 with loss scaling'} (precision=auto)")
    return n_gpu


def train_command(n_gpu: int, preset: str, sets) -> tuple[list[str], list[str]]:
    """The `train` command for n_gpu GPUs and the `--set` values to give it (a new list).

    Two or more GPUs: torchrun, one process per GPU (DDP). Each GPU takes `batch_size` clips per
    micro-batch, so accum_steps is divided by the number of GPUs, keeping the recipe's clips per optimizer
    step (and so its lr): only when it divides evenly and the user did not set accum_steps.
    """
    sets = list(sets)
    if n_gpu < 2:
        print("1 GPU: one process" if n_gpu else "no GPU: the CPU (only a tiny toy run makes sense here)")
        return FINETUNE + ["train"], sets
    from finetune.config import get_preset

    accum = get_preset(preset).accum_steps
    if accum % n_gpu == 0 and not any(s.startswith("accum_steps=") for s in sets):
        sets.insert(0, f"accum_steps={accum // n_gpu}")
    print(f"{n_gpu} GPUs: torchrun, {n_gpu} processes")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(n_gpu),
            "-m", "finetune", "train"], sets


def check_data(data) -> int:
    """`finetune check-data`: a path it cannot read is fatal; problems in clips are only reported."""
    rc, _ = run_with_deadline(FINETUNE + ["check-data", data])
    if rc == 2:
        raise RuntimeError(f"check-data could not read {data} (the error line above)")
    if rc == 1:  # an unreadable frame is replaced by its neighbour in training and listed in bad_frames.txt
        print("check-data found problems (above): training replaces unreadable frames and skips empty clips")
    return rc


def train_with_time_guard(train_cmd, run, data, weights, preset: str, sets, deadline: float,
                          started: float | None = None) -> bool:
    """Train (or resume) the run in `run` until it finishes or the deadline; returns whether it finished."""
    run, folder = Path(run), RunFolder(run)
    if folder.finished():
        print(f"{run} is finished ({folder.summary.name}): nothing to train")
    else:
        args = ["--data", data, "--out", run]
        if folder.started():
            args += ["--resume"]  # the run's own config.json wins: PROJECT71_SET is ignored when resuming
        else:
            args += ["--weights", weights, "--preset", preset] + (["--set", *sets] if sets else [])
        rc, stopped = run_with_deadline(list(train_cmd) + args, deadline=deadline, started=started)
        if rc != 0 and not stopped:
            raise RuntimeError(f"train failed with exit status {rc}: its output is above")
        if not folder.started():
            raise RuntimeError(f"stopped before the run's first checkpoint ({folder.checkpoint}): nothing to "
                               "predict from; raise PROJECT71_TRAIN_HOURS or save more often "
                               "(PROJECT71_SET='save_every=50')")
    if not folder.finished():
        print(f"not finished: run the notebook again with this version's output as input to resume {run}")
        return False
    summary = folder.read_summary()
    print(json.dumps({k: v for k, v in summary.items()
                      if k in ("epochs", "train_acc", "val_acc", "tta_acc", "time_per_epoch_s", "precision")}))
    return True


def predict_submission(run, data, out, tta: str, n_test: int) -> list[list[str]]:
    """`finetune predict` into `out`; returns its rows after checking the header and one row per test clip."""
    rc, _ = run_with_deadline(FINETUNE + ["predict", "--run", run, "--data", data, "--out", out, "--tta", tta])
    if rc != 0:
        raise RuntimeError(f"predict failed with exit status {rc}: its output is above")
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["id", "class"] or len(rows) - 1 != n_test:
        raise RuntimeError(f"{out}: expected the header id,class and {n_test} rows (one per test clip), found "
                           f"{rows[0] if rows else 'an empty file'} and {max(len(rows) - 1, 0)} rows")
    return rows


def print_submission(rows, classes, finished: bool = True) -> None:
    """The first rows, then how many test clips went to each class and the classes never predicted."""
    print("\n".join(",".join(r) for r in rows[:6]), "\n...")
    counts = Counter(r[1] for r in rows[1:])
    print(f"{len(rows) - 1} rows, {len(counts)} of {len(classes)} classes predicted"
          + ("" if finished else " (from an unfinished run)"))
    for name, n in counts.most_common():
        print(f"  {name:<16} {n:4d}  {'#' * n}")
    never = sorted(set(classes) - set(counts))
    if never:
        print("never predicted:", ", ".join(never))
