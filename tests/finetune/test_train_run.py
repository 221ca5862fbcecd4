"""End to end on tiny toy data: resume after a kill, predict's submission, the non-finite guard."""
import csv
import json

import pytest
import torch

from finetune.config import apply_overrides, get_preset
from finetune.errors import RunError
from finetune.prediction import predict
from finetune.run_folder import load_checkpoint
from finetune.toy import write_toy_dataset
from finetune.training.engine import NonFiniteLoss
from finetune.training_run import run_training as train

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2",
        "accum_steps=2", "epochs=2", "stage2_epochs=1", "warmup_epochs=0.5", "lr=1e-3", "hflip=0", "tta=tta3",
        "drop_path=0.1", "val_fraction=0.2"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(toy_dataset):
    return toy_dataset(classes=3, clips_per_class=6, test_clips=5,
                       height=24, width=32, frames=(4, 8), seed=1)


def tiny(*extra):
    return apply_overrides(get_preset("exp4"), TINY + list(extra))


def test_resume_after_kill_ends_like_an_uninterrupted_run(data, tmp_path):
    full = train(tiny(), data, tmp_path / "full")
    steps_per_epoch = full["steps_per_epoch"]
    assert steps_per_epoch >= 3 and full["global_step"] == 2 * steps_per_epoch
    # kill after the second step of the second epoch, with a checkpoint after every step
    kill_at = steps_per_epoch + 2
    killed = train(tiny("save_every=1", f"stop_after_steps={kill_at}"), data, tmp_path / "killed")
    assert killed["stopped"] and killed["global_step"] == kill_at
    ckpt = load_checkpoint(tmp_path / "killed")
    assert ckpt["state"]["epoch"] == 1 and 0 < ckpt["state"]["step_in_epoch"] < steps_per_epoch  # mid-epoch
    resumed = train(None, data, tmp_path / "killed", resume=True)
    assert resumed["global_step"] == full["global_step"]
    a, b = load_checkpoint(tmp_path / "full"), load_checkpoint(tmp_path / "killed")
    adam_steps = lambda c: {int(s["step"]) for s in c["optimizer"]["state"].values()}  # noqa: E731
    assert adam_steps(a) == adam_steps(b) == {full["global_step"]}
    for k, v in a["model"].items():  # same batches, same Mixup draws, same drop-path masks: same weights
        torch.testing.assert_close(b["model"][k], v, msg=k)
    rows = [json.loads(line) for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1] and rows[1]["stage"] == 2
    assert (tmp_path / "killed" / "curves.png").stat().st_size > 0
    with pytest.raises(RunError, match="--resume"):
        train(tiny(), data, tmp_path / "full")
    again = train(None, data, tmp_path / "full", resume=True)  # a finished run: nothing left to train
    assert again["global_step"] == full["global_step"] and again["train_acc"] == full["train_acc"]

    # predict: every test id once, header id,class, names from the training folders
    out = tmp_path / "submission.csv"
    result = predict(tmp_path / "full", data, out, probs=True, num_workers=0)
    with open(out) as f:
        rows = list(csv.reader(f))
    classes = json.loads((tmp_path / "full" / "classes.json").read_text())
    assert rows[0] == ["id", "class"]
    assert sorted(int(r[0]) for r in rows[1:]) == list(range(5))
    assert all(r[1] in classes for r in rows[1:]) and classes == sorted(p.name for p in (data / "data_train").iterdir())
    assert result["views"] == 3 and 0.0 <= result["accuracy"] <= 1.0
    probs = json.loads(out.with_suffix(".probs.json").read_text())
    assert torch.allclose(torch.tensor(probs["probs"]).sum(-1), torch.ones(5), atol=1e-5)


def test_predict_refuses_a_run_trained_on_other_classes(data, tmp_path):
    run = tmp_path / "run"
    train(tiny("epochs=1", "stage2_epochs=0", "limit_train_batches=1"), data, run)
    other = write_toy_dataset(tmp_path / "other", classes=4, clips_per_class=1, test_clips=1, height=24, width=32,
                              frames=(4, 5))
    with pytest.raises(RunError, match="differ from the 4 training folders") as err:
        predict(run, other, tmp_path / "s.csv", num_workers=0)
    assert "only in the data" in str(err.value)


def test_non_finite_steps_are_skipped_then_stop_the_run_and_keep_the_last_good_checkpoint(data, tmp_path):
    run = tmp_path / "run"
    train(tiny("lr=1e30", "epochs=2", "stage2_epochs=0", "warmup_epochs=0", "limit_train_batches=2",
               "accum_steps=1", "save_every=1", "stop_after_steps=1", "max_bad_steps=2"), data, run)  # one step, saved
    good = load_checkpoint(run)
    assert good["state"]["global_step"] == 1
    with pytest.raises(NonFiniteLoss, match="2 optimizer steps in a row had non-finite gradients"):
        train(None, data, run, resume=True)  # the 1e30 lr blew the weights up: every next gradient is NaN
    after = load_checkpoint(run)
    assert after["state"]["bad_steps"] == 1 and after["state"]["global_step"] == 2  # saved at the epoch's end
    for k, v in good["model"].items():  # the skipped steps left the weights as the last good step made them
        assert torch.equal(after["model"][k], v), k


def test_ablate_runs_presets_once_and_tabulates(data, tmp_path, capsys):
    from finetune.ablation import ablate

    settings = TINY + ["epochs=1", "stage2_epochs=0", "limit_train_batches=2"]
    text = ablate(data, None, tmp_path, presets=["exp1", "exp3"], overrides=settings)
    lines = text.splitlines()
    assert lines[0].startswith("| experiment | what it adds | train acc | val acc | TTA acc | time / epoch | "
                               "peak memory")
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["exp1", "exp3", "ensemble (exp1 + exp3)"]
    assert "81.76%" in lines[2] and "84.31%" in lines[3]  # the course notes' numbers beside ours
    report = (tmp_path / "ablation.md").read_text()
    assert report.count("\n| exp1 |") == report.count("\n| exp3 |") == 1 and (tmp_path / "ablation.png").exists()
    stamp = (tmp_path / "exp1" / "checkpoint.pt").stat().st_mtime_ns
    capsys.readouterr()
    ablate(data, None, tmp_path, presets=["exp1", "exp3"], overrides=settings)
    assert capsys.readouterr().out.count("finished earlier, skipped") == 2
    assert (tmp_path / "exp1" / "checkpoint.pt").stat().st_mtime_ns == stamp


def test_command_line_registers_train_predict_ablate_demo():
    from finetune.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["train", "--data", "D", "--out", "R", "--preset", "exp3", "--epochs", "3",
                              "--set", "lr=1e-4", "mixup=0.5"])
    assert (args.preset, args.epochs, args.set) == ("exp3", 3, ["lr=1e-4", "mixup=0.5"])
    assert parser.parse_args(["predict", "--run", "R", "--data", "D", "--probs"]).probs
    assert parser.parse_args(["ablate", "--data", "D", "--out", "O", "--presets", "exp1", "exp4"]).presets == [
        "exp1", "exp4"]
    assert callable(parser.parse_args(["demo"]).func)
