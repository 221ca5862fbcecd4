"""finetune/kaggle.py, the logic behind the Kaggle notebook's cells, on temporary folders and tiny processes.

The searches run on folders laid out like Kaggle's /kaggle/input (the competition data, a weights dataset, an
earlier session's output); the time guard on a `python -c` child that starts a grandchild, as torchrun starts
its workers; the GPU report and launch on a mocked torch.cuda (no GPU here). The notebook as a whole is
executed by tests/test_kaggle_notebook.py.
"""
import json
import signal
import sys
import time
from pathlib import Path

import pytest
import torch

from finetune import kaggle


def _hf_folder(path: Path, n_labels: int, model_type: str = "videomae", weights: str = "model.safetensors"):
    """A Hugging Face checkpoint folder: config.json (+ an empty weights file; the search never opens it)."""
    path.mkdir(parents=True)
    labels = {str(i): f"class {i}" for i in range(n_labels)}
    (path / "config.json").write_text(json.dumps({"model_type": model_type, "id2label": labels}))
    if weights:
        (path / weights).touch()
    return path


def _data(path: Path, test: bool = True, classes=("brush_hair", "cartwheel")):
    for name in classes:
        (path / "data_train" / name / "clip_0").mkdir(parents=True)
    if test:
        for i in range(3):
            (path / "test" / str(i)).mkdir(parents=True)
    return path


# ---- the searches under /kaggle/input --------------------------------------------------------------------

def test_find_data_prefers_a_folder_that_also_has_test(tmp_path):
    _data(tmp_path / "a-copy" / "data", test=False)  # found first (breadth first, sorted), but has no test/
    full = _data(tmp_path / "action-video" / "deeper" / "data")
    assert kaggle.find_data(tmp_path) == full
    assert kaggle.data_summary(full) == (["brush_hair", "cartwheel"], 3)
    assert kaggle.find_data(tmp_path / "a-copy") == tmp_path / "a-copy" / "data"  # without test/ if none has it


def test_find_weights_puts_the_400_label_classifier_first(tmp_path, capsys):
    _hf_folder(tmp_path / "videomae-base-hmdb", 51)
    _hf_folder(tmp_path / "my-kinetics-pretrain", 0)  # named after Kinetics, but no 400-label head
    k400 = _hf_folder(tmp_path / "videomae-base-finetuned", 400, weights="pytorch_model.bin")
    _hf_folder(tmp_path / "an-image-vit", 400, model_type="vit")  # not VideoMAE
    _hf_folder(tmp_path / "config-only", 400, weights="")  # no weights file next to config.json
    assert kaggle.find_weights(tmp_path) == k400
    seen = capsys.readouterr().out
    assert "(400 labels)" in seen and "an-image-vit" not in seen and "config-only" not in seen
    assert seen.index("videomae-base-finetuned") < seen.index("my-kinetics-pretrain") < seen.index("hmdb")
    assert kaggle.weights_rank(Path("x/K400/ft.pth"), None) < kaggle.weights_rank(Path("x/ft.pth"), None)


def test_find_weights_accepts_an_official_pth(tmp_path):
    pth = tmp_path / "videomae-official" / "checkpoints" / "vit_b_k400_ft.pth"
    pth.parent.mkdir(parents=True)
    pth.touch()
    assert kaggle.find_weights(tmp_path) == pth


def test_find_weights_puts_videomae_v2_vit_b_first_and_reads_a_v2_hub_folder(tmp_path, capsys):
    _hf_folder(tmp_path / "videomae-base-finetuned-kinetics", 400)
    v2 = tmp_path / "videomae-v2" / "distill" / "vit_b_k710_dl_from_giant.pth"
    v2.parent.mkdir(parents=True)
    v2.touch()
    hub = _hf_folder(tmp_path / "VideoMAEv2-Large", 0, model_type="VideoMAEv2_Large")  # OpenGVLab's hub folder
    assert kaggle.find_weights(tmp_path) == v2
    assert str(hub) in capsys.readouterr().out  # found too, ranked after the K400 classifier


def test_the_backbone_line_names_the_recipe_train_applies(tmp_path, monkeypatch):
    """A real toy-width file (read from its shapes), and a ViT-L's shapes (a real one is 1.2 GB)."""
    from finetune import backbones
    from videomae import VideoMAEConfig, VideoViT

    state = VideoViT(VideoMAEConfig(dim=384, heads=6, depth=2, image_size=32, num_frames=2, num_classes=400))
    torch.save({"module": state.state_dict()}, tmp_path / "toy.pth")
    assert "not one of the released sizes" in kaggle.backbone_line(tmp_path / "toy.pth")
    large = {"dim": 1024, "depth": 24, "patch_size": 16, "num_classes": 400}
    monkeypatch.setattr(backbones, "peek", lambda weights: (large, None))
    assert kaggle.backbone_line(tmp_path / "videomae_vit_large_k400.pth").startswith(
        "backbone: vit-l (VideoMAE V1 ViT-L/16): train applies its official values (layer_decay=0.75 ")


def test_the_search_never_enters_data_train_or_test(tmp_path, monkeypatch):
    data = _data(tmp_path / "action-video" / "data")
    for clip_dir in (data / "data_train" / "cartwheel" / "clip_0", data / "test" / "0"):
        _hf_folder(clip_dir / "videomae-k400", 400)  # bait: would win if the search looked inside
        (clip_dir / "k400.pth").touch()
        _data(clip_dir / "nested")
        (clip_dir / "runs" / "exp4").mkdir(parents=True)
        (clip_dir / "runs" / "exp4" / "checkpoint.pt").touch()
    listed = []
    iterdir = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: listed.append(self) or iterdir(self))
    assert kaggle.find_data(tmp_path) == data
    with pytest.raises(FileNotFoundError):
        kaggle.find_weights(tmp_path)
    assert kaggle.find_previous_run(tmp_path, "exp4") is None
    entered = [p for p in listed if {"data_train", "test"} & set(p.relative_to(tmp_path).parts)]
    assert entered == [], f"the search listed clip folders: {entered[:3]}"


def test_a_missing_input_names_the_folder_and_what_to_add(tmp_path):
    (tmp_path / "some-dataset").mkdir()
    with pytest.raises(FileNotFoundError, match="data_train/") as err:
        kaggle.find_data(tmp_path)
    assert str(tmp_path) in str(err.value) and "action-video" in str(err.value) and "PROJECT71_DATA" in str(err.value)
    with pytest.raises(FileNotFoundError, match="VideoMAE checkpoint") as err:
        kaggle.find_weights(tmp_path / "not-mounted")  # a root that does not exist is searched, not a crash
    assert str(tmp_path / "not-mounted") in str(err.value)
    assert "MCG-NJU/videomae-base-finetuned-kinetics" in str(err.value) and "PROJECT71_WEIGHTS" in str(err.value)


def test_an_earlier_sessions_run_is_found_and_copied_back(tmp_path, capsys):
    inputs = tmp_path / "input"
    done = inputs / "project71-notebook-v1" / "runs" / "exp4"
    done.mkdir(parents=True)
    (done / "checkpoint.pt").write_text("state")
    (inputs / "other-notebook" / "runs" / "exp4-30ep").mkdir(parents=True)  # another preset, no checkpoint
    assert kaggle.find_previous_run(inputs, "exp4") == done
    assert kaggle.find_previous_run(inputs, "exp4-30ep") is None
    run = tmp_path / "working" / "runs" / "exp4"
    assert kaggle.continue_previous_run(run, inputs) == done
    assert (run / "checkpoint.pt").read_text() == "state" and "continuing the run" in capsys.readouterr().out
    (run / "checkpoint.pt").write_text("newer")  # a run already here is never overwritten by an input
    assert kaggle.continue_previous_run(run, inputs) is None and (run / "checkpoint.pt").read_text() == "newer"


def test_settings_come_from_the_project71_variables(tmp_path):
    env = {"PROJECT71_INPUT": str(tmp_path / "in"), "PROJECT71_WORK": str(tmp_path / "work"),
           "PROJECT71_PRESET": "exp4", "PROJECT71_SET": "save_every=50 'epochs=3'", "PROJECT71_TRAIN_HOURS": "0.5",
           "PROJECT71_DATA": str(tmp_path / "d")}
    s = kaggle.Settings.from_env(start=1000.0, environ=env)
    assert (s.input, s.work, s.preset, s.sets) == (tmp_path / "in", tmp_path / "work", "exp4",
                                                   ["save_every=50", "epochs=3"])
    assert (s.data, s.weights, s.tta, s.deadline) == (tmp_path / "d", None, "tta6", 1000.0 + 1800)
    default = kaggle.Settings.from_env(start=0.0, environ={})
    assert (default.input, default.preset, default.train_hours) == (Path("/kaggle/input"), "exp4-30ep", 11.0)


# ---- the time guard ----------------------------------------------------------------------------------------

# A child that starts a grandchild and waits for it, as torchrun waits for its workers; each writes a file
# when SIGINT reaches it (Python turns SIGINT into KeyboardInterrupt), then exits.
GRANDCHILD = """
import sys, time
try:
    time.sleep(60)
except KeyboardInterrupt:
    open(sys.argv[1], "w").close()
"""
CHILD = """
import subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[3]])
print("child and grandchild started", flush=True)
try:
    time.sleep(60)
except KeyboardInterrupt:
    open(sys.argv[2], "w").close()
    grandchild.wait()
    raise
"""


def test_time_guard_interrupts_the_process_group_with_sigint_at_the_deadline(tmp_path, capsys):
    marks = tmp_path / "child.sigint", tmp_path / "grandchild.sigint"
    start = time.time()
    # 4 s: both interpreters are up and inside their try blocks by then, even on a busy 2-core machine
    rc, stopped = kaggle.run_with_deadline([sys.executable, "-c", CHILD, GRANDCHILD, *marks],
                                           deadline=start + 4, grace_s=20, started=start - 3600)
    took = time.time() - start
    out = capsys.readouterr().out
    assert stopped and rc == -signal.SIGINT, (rc, out)  # the re-raised KeyboardInterrupt: killed by SIGINT
    assert all(m.exists() for m in marks), "SIGINT must reach the grandchild too (the whole process group)"
    assert 4 <= took < 20, f"took {took:.1f} s: stopped by SIGINT, not by waiting for SIGTERM"
    assert "child and grandchild started" in out  # the output is printed as it comes
    assert "time guard: 1.00 h since the notebook started; interrupting" in out


def test_time_guard_escalates_to_sigterm_when_sigint_is_ignored(tmp_path):
    stubborn = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(60)"
    rc, stopped = kaggle.run_with_deadline([sys.executable, "-c", stubborn], deadline=time.time() + 3, grace_s=1)
    assert stopped and rc == -signal.SIGTERM


def test_a_command_that_ends_before_the_deadline_keeps_its_status(capsys):
    rc, stopped = kaggle.run_with_deadline([sys.executable, "-c", "print('hi'); raise SystemExit(3)"],
                                           deadline=time.time() + 60)
    assert (rc, stopped) == (3, False)
    out = capsys.readouterr().out
    assert out.startswith("$ ") and "hi\n" in out and "time guard" not in out


def test_the_command_sees_line_progress_and_unbuffered_output(monkeypatch, capsys):
    monkeypatch.delenv("FINETUNE_PROGRESS", raising=False)
    show = "import os; print(os.environ['FINETUNE_PROGRESS'], os.environ['PYTHONUNBUFFERED'])"
    assert kaggle.run_with_deadline([sys.executable, "-c", show]) == (0, False)
    assert "lines 1" in capsys.readouterr().out
    monkeypatch.setenv("FINETUNE_PROGRESS", "bar")  # a user's own choice wins
    kaggle.run_with_deadline([sys.executable, "-c", show])
    assert "bar 1" in capsys.readouterr().out


# ---- the GPUs and the launch -------------------------------------------------------------------------------

def test_two_gpus_launch_torchrun_and_halve_accum_steps_only_when_it_divides(capsys):
    from finetune.config import get_preset

    assert get_preset("exp4-30ep").accum_steps == 4  # what the halving below assumes
    cmd, sets = kaggle.train_command(2, "exp4-30ep", ["save_every=50"])
    assert cmd[1:] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "finetune",
                       "train"]
    assert sets == ["accum_steps=2", "save_every=50"]  # 8 clips x 2 micro-batches x 2 GPUs = 32 per step
    assert "2 GPUs: torchrun, 2 processes" in capsys.readouterr().out
    user = ["accum_steps=8"]
    assert kaggle.train_command(2, "exp4-30ep", user)[1] == ["accum_steps=8"]  # the user's value wins
    assert user == ["accum_steps=8"]  # and the caller's list is not changed
    assert kaggle.train_command(3, "exp4-30ep", [])[1] == []  # 4 steps do not split over 3 GPUs
    cmd, sets = kaggle.train_command(1, "exp4-30ep", [])
    assert (cmd, sets) == ([sys.executable, "-m", "finetune", "train"], [])
    assert "1 GPU: one process" in capsys.readouterr().out


def test_describe_gpus_names_the_precision_train_will_pick(monkeypatch, capsys):
    import torch

    gpus = [("Tesla T4", (7, 5)), ("NVIDIA A100-SXM4-40GB", (8, 0))]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(gpus))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: gpus[i][0])
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i: gpus[i][1])
    assert kaggle.describe_gpus() == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["GPU 0: Tesla T4, compute capability 7.5 -> fp16 with loss scaling (precision=auto)",
                     "GPU 1: NVIDIA A100-SXM4-40GB, compute capability 8.0 -> bf16 (precision=auto)"]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert kaggle.describe_gpus() == 0 and capsys.readouterr().out == ""


# ---- the submission ----------------------------------------------------------------------------------------

def test_print_submission_counts_classes_and_names_those_never_predicted(capsys):
    rows = [["id", "class"], ["0", "cartwheel"], ["1", "cartwheel"], ["2", "brush_hair"]]
    kaggle.print_submission(rows, ["brush_hair", "cartwheel", "dive"], finished=False)
    out = capsys.readouterr().out
    assert "3 rows, 2 of 3 classes predicted (from an unfinished run)" in out
    assert "cartwheel           2  ##" in out and "never predicted: dive" in out

