"""The Kaggle notebook (kaggle/project71.ipynb) and its dataset of wheels (kaggle/build_dataset.py).

The notebook is executed top to bottom with nbclient, as Kaggle's "Run All" would, on toy data laid out
like Kaggle's /kaggle/input (the competition folder, a K400-like weights folder), CPU, no network, a tiny
model: twice, as two Kaggle sessions. The first stops early (stop_after_steps) and still writes a
submission; the second finds that run attached as an earlier session's output, resumes it to the end and
predicts again. The functions those cells call (finetune/kaggle.py) are unit-tested in
tests/test_kaggle_session.py.
"""
import csv
import json
import os
import runpy
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KAGGLE = REPO / "kaggle"
NOTEBOOK = KAGGLE / "project71.ipynb"
# the tiny run: a 1-block D 32 VideoViT on 4 frames of 16x16, two short epochs, no worker processes
TINY_SET = ("model=tiny num_frames=4 image_size=16 resize=16 num_workers=0 batch_size=2 accum_steps=1 epochs=2 "
            "stage2_epochs=1 warmup_epochs=0 drop_path=0 hflip=0")


def test_make_notebook_regenerates_the_committed_notebook():
    render = runpy.run_path(str(KAGGLE / "make_notebook.py"))["render"]
    assert NOTEBOOK.read_text() == render(), "run `python kaggle/make_notebook.py` and commit the notebook"


def test_build_dataset_without_downloads_makes_a_wheel_of_the_five_packages(tmp_path):
    out = tmp_path / "ds"
    subprocess.run([sys.executable, str(KAGGLE / "build_dataset.py"), "--out", str(out), "--no-deps-download"],
                   check=True, capture_output=True, text=True)
    wheels = sorted((out / "wheels").glob("*.whl"))
    assert [w.name for w in wheels] == ["videomae_from_scratch-0.1.0-py3-none-any.whl"]  # nothing downloaded
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for module in ("weights/__init__.py", "weights/files.py", "vit/__init__.py", "vit/blocks.py",
                   "imagemae/__init__.py", "videomae/__init__.py",
                   "videomae/classifier.py", "finetune/__init__.py", "finetune/__main__.py",
                   "finetune/commands/train.py", "finetune/data/layout.py", "finetune/training/engine.py"):
        assert module in names, f"{module} missing from {wheels[0].name}"
    assert not any("__pycache__" in n or n.startswith("tests/") for n in names)
    meta = json.loads((out / "dataset-metadata.json").read_text())
    assert 6 <= len(meta["title"]) <= 50 and 20 <= len(meta["subtitle"]) <= 80  # Kaggle's limits
    assert meta["id"].count("/") == 1 and len(meta["licenses"]) == 1
    assert "--find-links" in (out / "README.md").read_text()


def test_install_cell_finds_the_wheels_without_entering_the_data(tmp_path, capsys):
    # the one cell that cannot call finetune/kaggle.py (it installs it): its own search, run here on a
    # /kaggle/input-like folder; with finetune importable, as here, the cell installs nothing
    nb = json.loads(NOTEBOOK.read_text())
    install = "".join(next(c["source"] for c in nb["cells"] if c.get("id") == "install"))
    scope = {}
    exec(install, scope)
    assert "nothing to install" in capsys.readouterr().out
    data = tmp_path / "action-video" / "data"
    (data / "data_train" / "cartwheel" / "clip_0").mkdir(parents=True)
    (data / "data_train" / "cartwheel" / "clip_0" / "videomae_from_scratch-0.0.1-py3-none-any.whl").touch()
    assert scope["find_wheels"](tmp_path) is None  # bait inside a clip folder: never looked at
    wheels = tmp_path / "project71-wheels" / "kaggle-dataset" / "wheels"
    wheels.mkdir(parents=True)
    (wheels / "videomae_from_scratch-0.1.0-py3-none-any.whl").touch()
    assert scope["find_wheels"](tmp_path) == wheels
    assert scope["find_wheels"](tmp_path, max_depth=2) is None  # bounded: 3 levels down is too deep for 2
    assert scope["find_wheels"](tmp_path / "not-mounted") is None


def _execute(tmp, monkeypatch, inputs, work, extra_set=""):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for name, value in {"PROJECT71_INPUT": inputs, "PROJECT71_WORK": work, "PROJECT71_PRESET": "exp4",
                        "PROJECT71_SET": f"{TINY_SET} {extra_set}", "PROJECT71_TTA": "tta3",
                        "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
                        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}.items():
        monkeypatch.setenv(name, str(value))  # the kernel, and the commands it starts, inherit these
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp)}}).execute()  # cwd of the kernel
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def _submission(path, test_ids, classes):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "class"]
    assert sorted(int(r[0]) for r in rows[1:]) == test_ids  # one row per test clip
    assert {r[1] for r in rows[1:]} <= set(classes)


def test_notebook_trains_stops_resumes_in_a_new_session_and_writes_the_submission(tmp_path, monkeypatch):
    from finetune.cli import main as finetune
    from videomae import videovit_tiny

    inputs = tmp_path / "input"  # what /kaggle/input holds
    data = inputs / "action-video" / "data"
    assert finetune(["make-toy-data", str(data), "--classes", "3", "--clips-per-class", "5", "--test-clips",
                     "4"]) == 0
    # stands in for the K400 checkpoint: an HF VideoMAE classifier folder with a head of another size
    videovit_tiny(num_classes=7, image_size=16, num_frames=4, dim=32, depth=1, heads=2).save_pretrained(
        inputs / "videomae-k400")
    classes = sorted(p.name for p in (data / "data_train").iterdir())

    # session 1: stopped after 2 optimizer steps (as if by the time limit), a checkpoint every step
    work1 = tmp_path / "working1"
    out = _execute(tmp_path, monkeypatch, inputs, work1, "stop_after_steps=2 save_every=1")
    run1 = work1 / "runs" / "exp4"
    assert f"data:    {data}" in out and f"weights: {inputs / 'videomae-k400'}" in out  # found by searching
    assert "check-data" in out and "stopped after 2 optimizer steps" in out and "not finished" in out
    assert (run1 / "checkpoint.pt").exists() and not (run1 / "summary.json").exists()
    _submission(work1 / "submission.csv", [0, 1, 2, 3], classes)

    # session 2: a fresh working folder; session 1's output attached as an input, as Kaggle mounts it
    (work1 / "submission.csv").unlink()
    work1.rename(inputs / "project71-notebook-v1")
    work2 = tmp_path / "working2"
    out = _execute(tmp_path, monkeypatch, inputs, work2)
    run2 = work2 / "runs" / "exp4"
    assert "continuing the run of an earlier session" in out and "--resume" in out
    assert "$ " + sys.executable + " -m finetune check-data" not in out  # checked in session 1
    summary = json.loads((run2 / "summary.json").read_text())
    assert summary["epochs"] == 2 and summary["global_step"] == 2 * summary["steps_per_epoch"] > 2
    _submission(work2 / "submission.csv", [0, 1, 2, 3], classes)
