"""The Python API (`from finetune import train, predict`) is the command line's own code: the same files, the
same results, the same errors; and `import finetune` stays light (no torch)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from finetune import cli, predict, train
from finetune.errors import ConfigError
from finetune.run_folder import RunFolder

REPO = Path(__file__).resolve().parents[2]
TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "accum_steps=1",
        "hflip=0", "val_fraction=0.3", "limit_train_batches=2", "tta=tta3"]

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(toy_dataset):
    return toy_dataset(classes=3, clips_per_class=5, test_clips=3, height=24, width=32, frames=(4, 6), seed=2)


def test_import_finetune_does_not_import_torch():
    code = ("import sys, finetune; assert callable(finetune.__getattr__); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
    with pytest.raises(AttributeError, match="no attribute 'trian'"):
        import finetune

        finetune.trian  # noqa: B018 - a typo is an AttributeError, not a lazy import of nothing


def test_api_run_writes_what_the_command_writes(data, tmp_path, capsys):
    """`train(..., epochs=1)` and `python -m finetune train --epochs 1`: the same run folder, file for file, the
    same config and split, the same trained weights; `predict` and the command write the same submission."""
    by_cli, by_api = tmp_path / "cli", tmp_path / "api"
    argv = ["train", "--data", str(data), "--out", str(by_cli), "--preset", "exp1", "--device", "cpu", "--epochs",
            "1", "--set", *TINY]
    assert cli.main(argv) == 0
    summary = train(data, by_api, preset="exp1", overrides=TINY, device="cpu", epochs=1)
    a, b = RunFolder(by_cli), RunFolder(by_api)
    assert sorted(p.name for p in a.path.iterdir()) == sorted(p.name for p in b.path.iterdir())
    for name in ("config", "classes", "split", "checkpoint", "metrics", "curves", "summary", "val_probs", "report",
                 "confusion_csv", "confusion_png", "worst_clips"):  # every file run_folder names, but bad_frames
        assert getattr(b, name).is_file(), name
    assert a.read_config() == b.read_config() and b.read_config()["epochs"] == 1
    assert a.read_classes() == b.read_classes() == sorted(p.name for p in (data / "data_train").iterdir())
    assert json.loads(a.split.read_text()) == json.loads(b.split.read_text())
    assert summary["global_step"] == b.read_summary()["global_step"] == a.read_summary()["global_step"]
    for key, value in a.load_checkpoint()["model"].items():
        torch.testing.assert_close(b.load_checkpoint()["model"][key], value, msg=key)

    capsys.readouterr()
    assert cli.main(["predict", "--run", str(by_cli), "--data", str(data), "--out", str(tmp_path / "cli.csv"),
                     "--num-workers", "0", "--device", "cpu"]) == 0
    assert "wrote 3 rows (tta3, 3 view(s) per clip)" in capsys.readouterr().out
    result = predict(by_api, data, tmp_path / "api.csv", num_workers=0, device="cpu")
    assert (result["rows"], result["tta"]) == (3, "tta3")
    assert (tmp_path / "api.csv").read_text() == (tmp_path / "cli.csv").read_text()

    # resuming a finished run through the API keeps its config, as --resume does, and says so
    again = train(data, by_api, resume=True, device="cpu", epochs=5)
    assert "--set and shortcuts are ignored" in capsys.readouterr().out
    assert again["epochs"] == 1 and again["global_step"] == summary["global_step"]


@pytest.mark.parametrize("api, argv", [
    ({"overrides": ["epochs=two"]}, ["--set", "epochs=two"]),
    ({"overrides": ["lr"]}, ["--set", "lr"]),
    ({"epoch": 3}, ["--set", "epoch=3"]),                     # a field that does not exist
    ({"epochs": 1.5}, ["--set", "epochs=1.5"]),               # a shortcut of the wrong type
    ({"stage2_epochs": 20}, ["--set", "stage2_epochs=20"]),   # refused when the run starts, not when parsed
])
def test_a_bad_setting_is_the_error_the_command_prints(data, tmp_path, capsys, api, argv):
    with pytest.raises(ConfigError) as err:
        train(data, tmp_path / "api", preset="exp1", device="cpu", **api)
    capsys.readouterr()
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path / "cli"), "--preset", "exp1", "--device",
                     "cpu", *argv]) == 2
    assert capsys.readouterr().err.strip() == f"error: {err.value}"
    assert not (tmp_path / "api").exists() and not (tmp_path / "cli").exists()  # nothing written
