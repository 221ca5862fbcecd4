"""A run that meets Kaggle's limits: a full disk, a data-loading worker killed for memory, and keep_best.

Each failure is made on purpose in a tiny real run through the command line
(`cli.main`, in this process, so that a monkeypatch reaches the writes and the
forked DataLoader worker) and must end in exit status 2, ONE `error:` line
that names the file or the settings, and the last good checkpoint still
loadable; then the same command with --resume finishes the run.
"""
import errno
import multiprocessing
import os
import signal
from pathlib import Path

import pytest
import torch
from torch.utils.data import get_worker_info

from finetune import cli, disk
from finetune.config import apply_overrides, get_preset
from finetune.data.dataset import VideoClipDataset
from finetune.errors import RunError
from finetune.prediction import predict
from finetune.run_folder import RESUME_ONLY, RunFolder, load_checkpoint
from finetune.training.runlog import read_metrics
from finetune.training_run import run_training

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "accum_steps=1",
        "epochs=2", "limit_train_batches=1", "val_fraction=0.3", "lr=1e-3", "warmup_epochs=0"]
NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(toy_dataset):
    return toy_dataset(classes=3, clips_per_class=4, test_clips=3, height=24, width=32, frames=(4, 6), seed=2)


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)


def train(capsys, data, out, *extra) -> tuple[int, str]:
    """`python -m finetune train ... --set TINY extra` in this process: (exit status, stderr)."""
    capsys.readouterr()
    rc = cli.main(["train", "--data", str(data), "--out", str(out), "--preset", "exp1", "--device", "cpu",
                   "--set", *TINY, *extra])
    return rc, capsys.readouterr().err


def one_error(rc: int, err: str, *named) -> str:
    """Exit status 2, one `error:` line naming every one of `named`, no traceback; the line."""
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(lines) == 1 and "Traceback" not in err, f"exit {rc}:\n{err}"
    for name in named:
        assert str(name) in lines[0], f"{name!r} not in {lines[0]!r}"
    return lines[0]


class FullDisk:
    """A file whose writes stop with ENOSPC after a few bytes, as a full disk does."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(bytes(data[:10]))
        raise OSError(errno.ENOSPC, NO_SPACE)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def __getattr__(self, name):
        return getattr(self.f, name)


def fill_disk_for(monkeypatch, name: str) -> None:
    """Writing the run's file `name` (through finetune.disk, as every run file is written) hits a full disk."""
    def fake_open(path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)  # noqa: SIM115 - closed by whoever opened it, as open()'s result
        return FullDisk(f) if Path(path).name == name + ".tmp" else f

    monkeypatch.setattr(disk, "open", fake_open, raising=False)


def test_a_full_disk_at_a_checkpoint_is_one_error_and_the_last_checkpoint_stays(data, tmp_path, monkeypatch, capsys):
    run = RunFolder(tmp_path / "run")
    real_save, saves = torch.save, []

    def save(obj, f, *args, **kwargs):  # the second epoch's checkpoint meets a full disk, half-way
        saves.append(1)
        if len(saves) == 2:
            f.write(b"the first bytes")
            raise OSError(errno.ENOSPC, NO_SPACE)
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    rc, err = train(capsys, data, run.path)
    good = load_checkpoint(run.path)  # still loadable: the first epoch's
    assert good["state"]["epoch"] == 1 and good["state"]["global_step"] == 1
    line = one_error(rc, err, run.checkpoint, NO_SPACE, "--resume", "is intact",
                     f"needs about {disk.human_bytes(disk.tensor_bytes(good))}",  # the new one is as big
                     "optimizer step 1, 1 epoch(s) done")
    assert "free there" in line
    assert not run.checkpoint.with_name("checkpoint.pt.tmp").exists()  # the partial file gave its space back

    monkeypatch.setattr(torch, "save", real_save)  # space freed: the same command with --resume finishes the run
    rc, err = train(capsys, data, run.path, "--resume")
    assert rc == 0 and run.finished() and load_checkpoint(run.path)["state"]["epoch"] == 2, err


def test_a_full_disk_at_the_end_of_a_run_names_each_file_then_resume_writes_them(data, tmp_path, monkeypatch,
                                                                                 capsys):
    run = RunFolder(tmp_path / "run")
    for path in (run.val_probs, run.report, run.summary):  # in the order a run writes them: each resume gets further
        fill_disk_for(monkeypatch, path.name)
        rc, err = train(capsys, data, run.path, *(["--resume"] if run.checkpoint.exists() else []))
        one_error(rc, err, path, NO_SPACE, "needs about", "--resume", "is intact", run.checkpoint,
                  "optimizer step 2, 2 epoch(s) done")
        assert not path.exists() and not path.with_name(path.name + ".tmp").exists(), path
        assert load_checkpoint(run.path)["state"]["epoch"] == 2  # every epoch trained, its checkpoint intact
        monkeypatch.undo()
    rc, err = train(capsys, data, run.path, "--resume")  # nothing retrained: the final pass and its files
    assert rc == 0 and run.finished() and run.val_probs.exists() and run.report.exists(), err


def test_a_full_disk_in_predict_is_one_error_naming_the_submission(data, tmp_path, monkeypatch, capsys):
    run_training(apply_overrides(get_preset("exp1"), TINY + ["epochs=1"]), data, tmp_path / "run")
    fill_disk_for(monkeypatch, "submission.csv")
    capsys.readouterr()
    rc = cli.main(["predict", "--run", str(tmp_path / "run"), "--data", str(data), "--out",
                   str(tmp_path / "submission.csv"), "--num-workers", "0", "--device", "cpu"])
    one_error(rc, capsys.readouterr().err, tmp_path / "submission.csv", NO_SPACE)
    assert not (tmp_path / "submission.csv").exists()


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="the worker must inherit the patched dataset: a forked process does")
def test_a_worker_killed_for_memory_is_one_error_naming_what_to_lower(data, tmp_path, monkeypatch, capsys):
    run = RunFolder(tmp_path / "run")
    real = VideoClipDataset.__getitem__

    def getitem(self, key):  # what the out-of-memory killer does to a worker: SIGKILL, uncatchable
        if self.train and get_worker_info() is not None:
            self.calls_here = getattr(self, "calls_here", 0) + 1  # this worker's copy of the dataset counts
            if self.calls_here == 3:  # the first clip of epoch 2 (epoch 1 has one batch of 2)
                os.kill(os.getpid(), signal.SIGKILL)
        return real(self, key)

    monkeypatch.setattr(VideoClipDataset, "__getitem__", getitem)
    rc, err = train(capsys, data, run.path, "num_workers=1")
    one_error(rc, err, "killed by signal", "out-of-memory", "num_workers=0 (now 1)", "batch_size=1 (now 2)",
              "prefetch=1 (now 2)", "--resume", run.checkpoint, "optimizer step 1, 1 epoch(s) done", "is intact")
    assert load_checkpoint(run.path)["state"]["epoch"] == 1

    rc, err = train(capsys, data, run.path, "--resume", "--set", "num_workers=0")  # what the error asked for
    assert rc == 0 and run.finished(), err
    assert load_checkpoint(run.path)["config"]["num_workers"] == 0  # --resume took the loading setting


def test_keep_best_keeps_the_best_epochs_weights_at_a_third_of_the_size(data, tmp_path):
    cfg = apply_overrides(get_preset("exp1"), TINY + ["epochs=3", "keep_best=true", "limit_train_batches=2"])
    run_training(cfg, data, tmp_path / "run")
    run = RunFolder(tmp_path / "run")
    accs = [row["val_acc"] for row in read_metrics(run.path)]
    best = load_checkpoint(run.path, "best")
    assert best["state"]["epoch"] == accs.index(max(accs)) + 1  # the first epoch of the best accuracy
    assert best["state"]["best_val_acc"] == max(accs) == load_checkpoint(run.path)["state"]["best_val_acc"]
    assert not set(RESUME_ONLY) & set(best)  # no optimizer moments: weights (+ EMA) and what predict reads
    assert run.best.stat().st_size < 0.5 * run.checkpoint.stat().st_size  # ~1/3: AdamW keeps 2 moments per weight
    result = predict(run.path, data, tmp_path / "s.csv", num_workers=0, device="cpu", checkpoint="best")
    assert result["rows"] == 3 and result["checkpoint"] == "best"


def test_without_keep_best_predict_best_says_how_to_get_it(data, tmp_path):
    run_training(apply_overrides(get_preset("exp1"), TINY + ["epochs=1"]), data, tmp_path / "run")
    assert not RunFolder(tmp_path / "run").best.exists()
    with pytest.raises(RunError, match="keep_best=true"):
        predict(tmp_path / "run", data, tmp_path / "s.csv", num_workers=0, checkpoint="best")
