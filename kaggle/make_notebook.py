"""Write kaggle/project71.ipynb, the Kaggle notebook of the competition, from the cells below.

    python kaggle/make_notebook.py            # (re)write the notebook
    python kaggle/make_notebook.py --check    # exit 1 if the committed notebook differs from these cells

The notebook's source lives here as plain Python strings so that a review reads
it like code (a .ipynb diff is JSON); tests/test_kaggle_notebook.py checks the
two never drift and executes the notebook on toy data. What the notebook does,
cell by cell: install this package from an attached dataset with the internet
off, find the competition data and the Kinetics-400 weights under /kaggle/input,
check the data, pick the GPU launch (torchrun on 2 GPUs), train with resume and a
time guard for Kaggle's 12-hour limit, predict with 6-view TTA and write
submission.csv. The step-by-step guide is docs/kaggle.md.
"""
import argparse
import sys
from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).with_name("project71.ipynb")

CELLS = [  # (cell id, "markdown" | "code", source); ids are fixed so that regenerating gives the same file
    ("intro", "markdown", """
# Project 7.1 (HMDB51 frames): VideoMAE-B from Kinetics-400, with internet off

This notebook trains the course notes' best recipe (`exp4-30ep`: VideoMAE ViT-B from the Kinetics-400
checkpoint, consistent crop/flip, Mixup 0.8, a second stage with label smoothing at a tiny lr, 6-view TTA)
and writes `submission.csv`. Attach three inputs (step by step: `docs/kaggle.md` in the repository):

1. the competition data (`action-video`: `data/data_train/<class>/<clip>/*.jpg`, `data/test/<id>/*.jpg`);
2. the K400 weights: the folder of `MCG-NJU/videomae-base-finetuned-kinetics` (`config.json` +
   `model.safetensors`), uploaded as a dataset or model;
3. the package's wheels, built by `make kaggle-dataset`.

Then: Settings -> Accelerator **GPU T4 x2**, Internet **off**, *Save Version -> Save & Run All*.
Every path can be set by an environment variable instead of searched for; the CI runs this same
notebook on toy data with a tiny model on CPU that way:

| variable | default | what |
| --- | --- | --- |
| `PROJECT71_DATA` | searched under `/kaggle/input` | the folder holding `data_train/` and `test/` |
| `PROJECT71_WEIGHTS` | searched under `/kaggle/input` | the K400 checkpoint (HF folder or official `.pth`) |
| `PROJECT71_WORK` | `/kaggle/working` (elsewhere `outputs/project71`) | where the run folder and `submission.csv` go |
| `PROJECT71_PRESET` | `exp4-30ep` | a preset of `python -m finetune train` |
| `PROJECT71_SET` | (none) | extra `--set name=value ...` overrides |
| `PROJECT71_TRAIN_HOURS` | `11` | stop training this many hours after the notebook started |
| `PROJECT71_TTA` | `tta6` | test-time views: `tta6`, `tta3` or `center` |
| `PROJECT71_INPUT` | `/kaggle/input` | where to search for the three inputs |
"""),
    ("settings", "code", """
import os, shlex, sys, time
from pathlib import Path

NOTEBOOK_START = time.time()  # the time guard below counts from here: a Kaggle session lasts 12 hours
INPUT = Path(os.environ.get("PROJECT71_INPUT", "/kaggle/input"))
ON_KAGGLE = Path("/kaggle/working").is_dir()
WORK = Path(os.environ.get("PROJECT71_WORK") or ("/kaggle/working" if ON_KAGGLE else "outputs/project71")).resolve()
PRESET = os.environ.get("PROJECT71_PRESET", "exp4-30ep")
EXTRA_SET = shlex.split(os.environ.get("PROJECT71_SET", ""))
TRAIN_HOURS = float(os.environ.get("PROJECT71_TRAIN_HOURS", "11"))
TTA = os.environ.get("PROJECT71_TTA", "tta6")
WORK.mkdir(parents=True, exist_ok=True)
print(f"python {sys.version.split()[0]}; inputs searched in {INPUT}; outputs in {WORK}; preset {PRESET}")
"""),
    ("helpers-md", "markdown", """
Two helpers. `run` starts a command, prints its output as it comes, and at a deadline interrupts it as
Ctrl-C would (SIGINT to the whole process group, torchrun's workers included; SIGTERM, then SIGKILL if it
does not stop). `folders` walks `/kaggle/input` a few levels deep without entering the thousands of clip
folders of the data.
"""),
    ("helpers", "code", """
import json, signal, subprocess, threading

def run(cmd, deadline=None, grace_s=300):
    \"\"\"Run cmd, streaming its output; returns (exit status, stopped by the deadline?).\"\"\"
    cmd = [str(c) for c in cmd]
    print("$", shlex.join(cmd), flush=True)
    env = {"FINETUNE_PROGRESS": "lines", **os.environ, "PYTHONUNBUFFERED": "1"}  # a line every 10%, no bar
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)  # its own process group: a signal reaches every worker
    pump = threading.Thread(target=lambda: [print(line, end="", flush=True) for line in proc.stdout])
    pump.start()
    stopped = False
    try:
        proc.wait(None if deadline is None else max(deadline - time.time(), 0))
    except subprocess.TimeoutExpired:
        stopped = True
        print(f"time guard: {(time.time() - NOTEBOOK_START) / 3600:.2f} h since the notebook started; "
              "interrupting (the last checkpoint stays)", flush=True)
    except KeyboardInterrupt:  # the notebook's stop button: stop the command too, then stop here
        stopped = None
    if proc.poll() is None:
        for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 60), (signal.SIGKILL, None)):
            os.killpg(proc.pid, sig)
            try:
                proc.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
    pump.join()
    if stopped is None:
        raise KeyboardInterrupt
    return proc.returncode, stopped

SKIP = {"data_train", "test", "__MACOSX", ".git"}  # thousands of clip folders: never what we look for

def folders(root, max_depth=5):
    \"\"\"root and the folders under it, breadth first, outside the data's clip folders.\"\"\"
    level = [Path(root)]
    for _ in range(max_depth + 1):
        deeper = []
        for folder in level:
            yield folder
            try:
                deeper += sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in SKIP)
            except OSError:
                pass
        level = deeper
"""),
    ("install-md", "markdown", """
## 1. Install the package with the internet off

`pip install --no-index --find-links <dataset>/wheels videomae-from-scratch` installs from the wheels of the
attached dataset only (`--no-index`: pip never tries the internet). torch, numpy, matplotlib and Pillow
come from Kaggle's image. Should pip fail to resolve the image's own packages offline, the cell installs
ours and the missing dependencies with `--no-deps`. Skipped when `finetune` is already importable (a second
run in the same session, or the CI).
"""),
    ("install", "code", """
import importlib, importlib.util

if importlib.util.find_spec("finetune") is not None:
    print("finetune is already importable, nothing to install:", importlib.util.find_spec("finetune").origin)
else:
    wheels = next((d for d in folders(INPUT) if any(d.glob("videomae_from_scratch-*.whl"))), None)
    if wheels is None:
        raise FileNotFoundError(f"no videomae_from_scratch-*.whl under {INPUT}: build the dataset with "
                                "`make kaggle-dataset`, upload it and add it to this notebook (Add Input)")
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", wheels]
    rc, _ = run(pip + ["videomae-from-scratch"])
    if rc != 0:  # e.g. a package of the image whose own requirements pip cannot meet offline: install
        # ours and what the image lacks without dependency resolution (torch etc. are the image's)
        missing = [m for m in ("einops", "safetensors", "tqdm") if importlib.util.find_spec(m) is None]
        print("retrying without dependency resolution; also installing:", missing or "nothing", flush=True)
        rc, _ = run(pip + ["--no-deps", "videomae-from-scratch", *missing])
    if rc != 0:
        raise RuntimeError(f"pip could not install from {wheels} (output above): were the wheels built for "
                           f"this Python ({sys.version.split()[0]})? `kaggle/build_dataset.py --python-versions`")
    if importlib.util.find_spec("av") is None:  # PyAV: only `extract-frames` (raw videos) needs it
        run(pip + ["--no-deps", "av"])
    importlib.invalidate_caches()
import finetune
print("finetune from", Path(finetune.__file__).parent)
"""),
    ("find-md", "markdown", """
## 2. Find the competition data and the K400 weights

The data: the first folder under `/kaggle/input` that holds `data_train/` (on Kaggle
`/kaggle/input/action-video/data`). The weights: a folder with a VideoMAE `config.json` and
`model.safetensors` / `pytorch_model.bin`, or an official `.pth`; the Kinetics-400 fine-tuned one
(400 labels, `kinetics` or `k400` in its path) first. Set `PROJECT71_DATA` / `PROJECT71_WEIGHTS` to
choose yourself.
"""),
    ("find", "code", """
def videomae_folder(d):
    try:
        cfg = json.loads((d / "config.json").read_text())
    except (OSError, ValueError):
        return None
    if cfg.get("model_type") == "videomae" and any((d / n).is_file() for n in ("model.safetensors",
                                                                             "pytorch_model.bin")):
        return cfg

def weights_rank(path, cfg):  # lower is better: the K400 classifier, then anything named after Kinetics
    return (len((cfg or {}).get("id2label", {})) != 400, not any(k in str(path).lower() for k in ("kinetics", "k400")))

if os.environ.get("PROJECT71_DATA"):
    DATA = Path(os.environ["PROJECT71_DATA"])
else:
    found = [d for d in folders(INPUT) if (d / "data_train").is_dir()]
    if not found:
        raise FileNotFoundError(f"no folder with data_train/ under {INPUT}: add the competition data "
                                "(Add Input -> Competitions -> action-video) or set PROJECT71_DATA")
    DATA = sorted(found, key=lambda d: not (d / "test").is_dir())[0]  # one with test/ too, if any
if os.environ.get("PROJECT71_WEIGHTS"):
    WEIGHTS = Path(os.environ["PROJECT71_WEIGHTS"])
else:
    candidates = [(d, cfg) for d in folders(INPUT) if (cfg := videomae_folder(d))]
    candidates += [(f, None) for d in folders(INPUT) for f in sorted(d.glob("*.pth"))]
    if not candidates:
        raise FileNotFoundError(f"no VideoMAE checkpoint under {INPUT}: add the folder of "
                                "MCG-NJU/videomae-base-finetuned-kinetics as a dataset, or set PROJECT71_WEIGHTS")
    candidates.sort(key=lambda c: weights_rank(*c))
    for path, cfg in candidates:
        print("  weights candidate:", path, f"({len(cfg.get('id2label', {}))} labels)" if cfg else "")
    WEIGHTS = candidates[0][0]
classes = sorted(p.name for p in (DATA / "data_train").iterdir() if p.is_dir() and not p.name.startswith("."))
n_test = sum(1 for p in (DATA / "test").iterdir() if p.is_dir()) if (DATA / "test").is_dir() else 0
print(f"data:    {DATA} ({len(classes)} classes, {n_test} test clips)")
print(f"weights: {WEIGHTS}")
"""),
    ("gpu-md", "markdown", """
## 3. GPUs, precision and the launch command

- **2 GPUs** (Kaggle's T4 x2): `torchrun --nproc_per_node 2 -m finetune train ...`, one process per GPU
  (DDP). Each GPU takes `batch_size` clips per micro-batch, so the notebook halves `accum_steps`: an
  optimizer step stays 32 clips, the recipe's batch and lr.
- **1 GPU** (P100, or a single T4): `python -m finetune train ...`.
- **No GPU**: the same plain command on the CPU. Only for the CI's tiny toy run: ViT-B on a CPU is far
  too slow for the real data.

Precision is not set here: `train` picks it from the GPU's compute capability (`precision=auto`): fp16 with
loss scaling on a T4 (7.5) or P100 (6.0), bf16 from 8.0 (A100, H100). A T4 *answers* yes to
`torch.cuda.is_bf16_supported()` but only emulates bf16, slowly.
"""),
    ("gpu", "code", """
import torch
from finetune.config import get_preset
from finetune.training.engine import choose_precision

N_GPU = torch.cuda.device_count()
for i in range(N_GPU):
    cap = torch.cuda.get_device_capability(i)
    dtype = choose_precision("auto", torch.device("cuda", i), cap)
    print(f"GPU {i}: {torch.cuda.get_device_name(i)}, compute capability {cap[0]}.{cap[1]} -> "
          f"{'bf16' if dtype == torch.bfloat16 else 'fp16 with loss scaling'} (precision=auto)")
FINETUNE = [sys.executable, "-m", "finetune"]
SETS = list(EXTRA_SET)
if N_GPU >= 2:
    TRAIN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", N_GPU,
             "-m", "finetune", "train"]
    accum = get_preset(PRESET).accum_steps
    if accum % N_GPU == 0 and not any(s.startswith("accum_steps=") for s in SETS):
        SETS.insert(0, f"accum_steps={accum // N_GPU}")  # the same 32 clips per optimizer step
    print(f"{N_GPU} GPUs: torchrun, {N_GPU} processes")
else:
    TRAIN = FINETUNE + ["train"]
    print("1 GPU: one process" if N_GPU else "no GPU: the CPU (only a tiny toy run makes sense here)")
"""),
    ("check-md", "markdown", """
## 4. The run folder, and a check of the data (a fresh run only)

The run folder is `WORK/runs/<preset>`; if an earlier session's run is attached as an input (see 5), it is
copied here first and resumed, and the data is not checked again.

`check-data` decodes every frame once and lists every problem with its path, before any GPU hour is spent.
An unreadable frame does not stop training (it is replaced by its neighbour and listed in
`RUN/bad_frames.txt`), so errors here are shown, not fatal; a wrong path is.
"""),
    ("check", "code", """
import shutil

RUN = WORK / "runs" / PRESET
if not (RUN / "checkpoint.pt").exists():  # an earlier session's run, attached as an input: continue it here
    previous = [d for d in folders(INPUT, 6) if d.name == PRESET and d.parent.name == "runs"
                and (d / "checkpoint.pt").is_file()]
    if previous:
        print(f"continuing the run of an earlier session: copying {previous[0]} -> {RUN}")
        shutil.copytree(previous[0], RUN, dirs_exist_ok=True)
if not (RUN / "checkpoint.pt").exists():
    rc, _ = run(FINETUNE + ["check-data", DATA])
    if rc == 2:
        raise RuntimeError(f"check-data could not read {DATA} (the error line above)")
    if rc == 1:
        print("check-data found problems (above): training replaces unreadable frames and skips empty clips")
else:
    print(f"{RUN} holds a checkpoint: resuming, the data was checked when the run started")
"""),
    ("train-md", "markdown", """
## 5. Train, resumable, within the 12-hour limit

The run folder is `WORK/runs/<preset>`. `train` saves `checkpoint.pt` atomically every `save_every` (200)
optimizer steps and at every epoch end; `--resume` continues it at the same epoch and step (same
optimizer state, random state and batch size; also on another number of GPUs) with the run's saved config.

- A run folder with `summary.json` is finished: nothing to train.
- A run folder with `checkpoint.pt` is resumed. `/kaggle/working` is emptied between sessions, so to continue
  in a new session add this notebook's previous version as an input (Add Input -> Your Work -> this
  notebook): its `runs/<preset>/` folder is copied back here and resumed.
- **Time guard**: `train` has no time limit of its own, so this cell interrupts it `PROJECT71_TRAIN_HOURS`
  (11) hours after the notebook started, like Ctrl-C. That keeps an hour for the prediction and for Kaggle
  to save the outputs: a committed run stopped by the 12-hour limit fails and may lose them. Then run the notebook again (with its
  previous version as input) to continue; the submission of an interrupted session comes from the last
  checkpoint.
"""),
    ("train", "code", """
if (RUN / "summary.json").exists():
    print(f"{RUN} is finished (summary.json): nothing to train")
    rc, stopped = 0, False
else:
    args = ["--data", DATA, "--out", RUN]
    if (RUN / "checkpoint.pt").exists():
        args += ["--resume"]  # the run's own config.json wins: PROJECT71_SET is ignored when resuming
    else:
        args += ["--weights", WEIGHTS, "--preset", PRESET] + (["--set", *SETS] if SETS else [])
    rc, stopped = run(TRAIN + args, deadline=NOTEBOOK_START + TRAIN_HOURS * 3600)
    if rc != 0 and not stopped:
        raise RuntimeError(f"train failed with exit status {rc}: its output is above")
    if not (RUN / "checkpoint.pt").exists():
        raise RuntimeError("stopped before the run's first checkpoint: nothing to predict from; raise "
                           "PROJECT71_TRAIN_HOURS or save more often (PROJECT71_SET='save_every=50')")
FINISHED = (RUN / "summary.json").exists()
if FINISHED:
    print(json.dumps({k: v for k, v in json.loads((RUN / "summary.json").read_text()).items()
                      if k in ("epochs", "train_acc", "val_acc", "tta_acc", "time_per_epoch_s", "precision")}))
else:
    print(f"not finished: run the notebook again with this version's output as input to resume {RUN}")
"""),
    ("predict-md", "markdown", """
## 6. Predict with test-time augmentation and write the submission

Each test clip is seen in 6 views (3 crops along the long side x plain/mirrored); the softmax outputs are
averaged. `submission.csv` is `id,class`, one row per test clip, the class as its name. *Submit to
competition* from the notebook's output, or download it.
"""),
    ("predict", "code", """
import csv
from collections import Counter

SUBMISSION = WORK / "submission.csv"
rc, _ = run(FINETUNE + ["predict", "--run", RUN, "--data", DATA, "--out", SUBMISSION, "--tta", TTA])
if rc != 0:
    raise RuntimeError(f"predict failed with exit status {rc}: its output is above")
with open(SUBMISSION, newline="") as f:
    rows = list(csv.reader(f))
assert rows[0] == ["id", "class"] and len(rows) - 1 == n_test, f"expected {n_test} rows, found {len(rows) - 1}"
print("\\n".join(",".join(r) for r in rows[:6]), "\\n...")
counts = Counter(r[1] for r in rows[1:])
print(f"{len(rows) - 1} rows, {len(counts)} of {len(classes)} classes predicted"
      + ("" if FINISHED else " (from an unfinished run)"))
for name, n in counts.most_common():
    print(f"  {name:<16} {n:4d}  {'#' * n}")
never = sorted(set(classes) - set(counts))
if never:
    print("never predicted:", ", ".join(never))
"""),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](source.strip("\n"), id=cell_id) for cell_id, kind, source in CELLS]
    nbformat.validate(nb)
    return nb


def render() -> str:
    return nbformat.writes(build()) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the notebook differs from these cells")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        same = NOTEBOOK.exists() and NOTEBOOK.read_text() == text
        print(f"{NOTEBOOK}: {'up to date' if same else 'differs from kaggle/make_notebook.py: regenerate it'}")
        return 0 if same else 1
    NOTEBOOK.write_text(text)
    print(f"wrote {NOTEBOOK} ({len(CELLS)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
