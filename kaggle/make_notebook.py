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
submission.csv. The cells are thin: the logic (the searches, the launch, the
time guard) lives in finetune/kaggle.py, which ruff lints and
tests/test_kaggle_session.py unit-tests. Only the install cell stands alone, as
it runs before the package is importable. The step-by-step guide is
docs/kaggle.md.
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

Each cell below is a few lines that call `finetune/kaggle.py` (in the package, unit-tested in the repository's
`tests/test_kaggle_session.py`); read that file for what a step does in detail.
"""),
    ("install-md", "markdown", """
## 1. Install the package with the internet off

`pip install --no-index --find-links <dataset>/wheels videomae-from-scratch` installs from the wheels of the
attached dataset only (`--no-index`: pip never tries the internet). torch, numpy, matplotlib and Pillow
come from Kaggle's image. Should pip fail to resolve the image's own packages offline, the cell installs
ours and the missing dependencies with `--no-deps`. Skipped when `finetune` is already importable (a second
run in the same session, or the CI). This cell stands alone, since the package is not importable before it:
it looks for `videomae_from_scratch-*.whl` itself, a few folders deep and never inside the data's clip
folders. The next cell reads the settings of the table above.
"""),
    ("install", "code", """
import importlib, importlib.util, os, subprocess, sys, time
from pathlib import Path

NOTEBOOK_START = time.time()  # the time guard counts from here: a Kaggle session lasts 12 hours

# This cell stands alone (finetune is not importable yet): it finds the wheels itself, breadth first and a few
# levels deep, never inside the data's thousands of clip folders. Every later cell calls finetune/kaggle.py.
def find_wheels(root, max_depth=5):
    level = [Path(root)]
    for _ in range(max_depth + 1):
        deeper = []
        for folder in level:
            if any(folder.glob("videomae_from_scratch-*.whl")):
                return folder
            try:
                deeper += sorted(p for p in folder.iterdir() if p.is_dir() and p.name not in ("data_train", "test"))
            except OSError:  # unreadable or missing: nothing there
                pass
        level = deeper
    return None

def pip_install(wheels, *args):  # --no-index: pip never tries the internet
    cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(wheels), *args]
    print("$", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    print(done.stdout, flush=True)  # printed here: a notebook does not show what a subprocess writes itself
    return done.returncode

if importlib.util.find_spec("finetune") is not None:
    print("finetune is already importable, nothing to install:", importlib.util.find_spec("finetune").origin)
else:
    INPUT = Path(os.environ.get("PROJECT71_INPUT", "/kaggle/input"))
    wheels = find_wheels(INPUT)
    if wheels is None:
        raise FileNotFoundError(f"no videomae_from_scratch-*.whl under {INPUT}: build the dataset with "
                                "`make kaggle-dataset`, upload it and add it to this notebook (Add Input)")
    rc = pip_install(wheels, "videomae-from-scratch")
    if rc != 0:  # e.g. a package of the image whose own requirements pip cannot meet offline: install
        # ours and what the image lacks without dependency resolution (torch etc. are the image's)
        missing = [m for m in ("einops", "safetensors", "tqdm") if importlib.util.find_spec(m) is None]
        print("retrying without dependency resolution; also installing:", missing or "nothing", flush=True)
        rc = pip_install(wheels, "--no-deps", "videomae-from-scratch", *missing)
    if rc != 0:
        raise RuntimeError(f"pip could not install from {wheels} (output above): were the wheels built for "
                           f"this Python ({sys.version.split()[0]})? `kaggle/build_dataset.py --python-versions`")
    if importlib.util.find_spec("av") is None:  # PyAV: only `extract-frames` (raw videos) needs it
        pip_install(wheels, "--no-deps", "av")
    importlib.invalidate_caches()
import finetune
print("finetune from", Path(finetune.__file__).parent)
"""),
    ("settings", "code", """
from finetune import kaggle

S = kaggle.Settings.from_env(start=NOTEBOOK_START)  # every PROJECT71_* variable of the table at the top
S.work.mkdir(parents=True, exist_ok=True)
print(S.describe())
"""),
    ("find-md", "markdown", """
## 2. Find the competition data and the K400 weights

The data: the first folder under `/kaggle/input` that holds `data_train/` (on Kaggle
`/kaggle/input/action-video/data`). The weights: a folder with a VideoMAE `config.json` and
`model.safetensors` / `pytorch_model.bin` (transformers' or OpenGVLab's VideoMAE V2), or an official
`.pth` (V1, V2, or an MMAction2 port). VideoMAE V2's ViT-B distilled from ViT-g comes first (86.6% on
Kinetics-400 for the cost of V1's ViT-B), then the Kinetics-400 classifier (400 labels, `kinetics` or
`k400` in its path). A bigger backbone (ViT-L, ViT-H, ViT-g) is recognised from its shapes and `train`
applies its official recipe (layer decay, drop path, lr, micro-batch; `finetune/backbones.py`). Set
`PROJECT71_DATA` / `PROJECT71_WEIGHTS` to choose yourself.
"""),
    ("find", "code", """
DATA = S.data or kaggle.find_data(S.input)  # PROJECT71_DATA, or the first folder with data_train/ (and test/)
CLASSES, N_TEST = kaggle.data_summary(DATA)
print(f"data:    {DATA} ({len(CLASSES)} classes, {N_TEST} test clips)")
WEIGHTS = S.weights or kaggle.find_weights(S.input)  # prints every candidate it saw, the best first
print(f"weights: {WEIGHTS}")
print(kaggle.backbone_line(WEIGHTS))  # the official recipe row `train` applies for these weights
"""),
    ("gpu-md", "markdown", """
## 3. GPUs, precision and the launch command

- **2 GPUs** (Kaggle's T4 x2): `torchrun --nproc_per_node 2 -m finetune train ...`, one process per GPU
  (DDP). Each GPU takes `batch_size` clips per micro-batch, so the notebook halves `accum_steps`: an
  optimizer step stays 32 clips, the recipe's batch and lr. (Only when it divides evenly and `PROJECT71_SET`
  does not set `accum_steps` itself.)
- **1 GPU** (P100, or a single T4): `python -m finetune train ...`.
- **No GPU**: the same plain command on the CPU. Only for the CI's tiny toy run: ViT-B on a CPU is far
  too slow for the real data.

Precision is not set here: `train` picks it from the GPU's compute capability (`precision=auto`): fp16 with
loss scaling on a T4 (7.5) or P100 (6.0), bf16 from 8.0 (A100, H100). A T4 *answers* yes to
`torch.cuda.is_bf16_supported()` but only emulates bf16, slowly.
"""),
    ("gpu", "code", """
N_GPU = kaggle.describe_gpus()  # each GPU, and the precision `train` picks for it
TRAIN, SETS = kaggle.train_command(N_GPU, S.preset, S.sets)  # torchrun on 2+ GPUs, accum_steps divided among them
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
RUN = S.work / "runs" / S.preset
kaggle.continue_previous_run(RUN, S.input)  # an earlier session's run, attached as an input: copied here
if kaggle.RunFolder(RUN).started():
    print(f"{RUN} holds a checkpoint: resuming, the data was checked when the run started")
else:
    kaggle.check_data(DATA)  # a path it cannot read stops here; problems in clips are only listed
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
  (11) hours after the notebook started, like Ctrl-C: SIGINT to the whole process group, torchrun's workers
  included; SIGTERM, then SIGKILL, if it does not stop. That keeps an hour for the prediction and for Kaggle
  to save the outputs: a committed run stopped by the 12-hour limit fails and may lose them. Then run the
  notebook again (with its previous version as input) to continue; the submission of an interrupted session
  comes from the last checkpoint.
"""),
    ("train", "code", """
FINISHED = kaggle.train_with_time_guard(TRAIN, RUN, DATA, WEIGHTS, S.preset, SETS, deadline=S.deadline,
                                        started=S.start)  # SIGINT at the deadline; resumes a checkpoint
"""),
    ("predict-md", "markdown", """
## 6. Predict with test-time augmentation and write the submission

Each test clip is seen in 6 views (3 crops along the long side x plain/mirrored); the softmax outputs are
averaged. `submission.csv` is `id,class`, one row per test clip, the class as its name. *Submit to
competition* from the notebook's output, or download it.
"""),
    ("predict", "code", """
SUBMISSION = S.work / "submission.csv"
rows = kaggle.predict_submission(RUN, DATA, SUBMISSION, tta=S.tta, n_test=N_TEST)  # checks one row per clip
kaggle.print_submission(rows, CLASSES, finished=FINISHED)
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
