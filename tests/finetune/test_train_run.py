"""End to end on tiny toy data: resume after a kill, predict's submission, the non-finite guard."""
import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from finetune.config import apply_overrides, get_preset
from finetune.errors import RunError
from finetune.prediction import predict
from finetune.run_folder import RunFolder, load_checkpoint
from finetune.toy import write_toy_dataset
from finetune.training.engine import NonFiniteLoss
from finetune.training.runlog import read_metrics
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
    full = train(tiny("ema=0.7"), data, tmp_path / "full")  # with the weights' moving average (EMA) on
    steps_per_epoch = full["steps_per_epoch"]
    assert steps_per_epoch >= 3 and full["global_step"] == 2 * steps_per_epoch
    # kill after the second step of the second epoch, with a checkpoint after every step
    kill_at = steps_per_epoch + 2
    killed = train(tiny("ema=0.7", "save_every=1", f"stop_after_steps={kill_at}"), data, tmp_path / "killed")
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
    for k, v in a["ema"].items():  # the EMA went on from the killed run's checkpoint: identical, bit for bit
        assert torch.equal(b["ema"][k], v), k
    assert not all(torch.equal(a["ema"][k], v) for k, v in a["model"].items())  # an average, not a copy
    assert a["weights_used"] == b["weights_used"] == full["weights_used"] == resumed["weights_used"]
    rows = [json.loads(line) for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [0, 1] and rows[1]["stage"] == 2
    assert all({"val_acc", "ema_val_acc", "ema_val_loss"} <= set(r) for r in rows)  # both, at every validation
    assert (tmp_path / "killed" / "curves.png").stat().st_size > 0
    with pytest.raises(RunError, match="--resume"):
        train(tiny(), data, tmp_path / "full")
    again = train(None, data, tmp_path / "full", resume=True)  # a finished run: nothing left to train
    assert again["global_step"] == full["global_step"] and again["train_acc"] == full["train_acc"]
    assert again["weights_used"] == full["weights_used"] and again["ema_val_acc"] == full["ema_val_acc"]

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


def test_predict_and_export_use_the_weights_the_summary_names(data, tmp_path, monkeypatch):
    """With EMA on, the average moves once per optimizer step, and a run's predictions use the weights that
    scored better at the latest validation ("ema" or "raw", as summary.json and the checkpoint say); predict
    and export load exactly those."""
    from safetensors.torch import load_file

    from finetune.hf_export import export
    from finetune.training.ema import WeightEMA

    updates, update = [], WeightEMA.update
    monkeypatch.setattr(WeightEMA, "update", lambda self: updates.append(1) or update(self))
    run = tmp_path / "run"
    summary = train(tiny("ema=0.5", "epochs=1", "stage2_epochs=0", "limit_train_batches=4"), data, run)
    assert summary["global_step"] == len(updates) == 2  # 4 micro-batches, 2 per optimizer step: 2 updates
    last = read_metrics(run)[-1]
    assert summary["weights_used"] == ("ema" if last["ema_val_acc"] > last["val_acc"] else "raw")
    assert summary["ema_val_acc"] == last["ema_val_acc"]
    ckpt = load_checkpoint(run)
    assert ckpt["weights_used"] == summary["weights_used"]

    def variant(name, **changes):
        """A copy of the run folder whose checkpoint has `changes`."""
        shutil.copytree(run, tmp_path / name)
        RunFolder(tmp_path / name).save_checkpoint({**ckpt, **changes})
        return tmp_path / name

    def predicted(folder):
        result = predict(folder, data, tmp_path / f"{folder.name}.csv", probs=True, num_workers=0)
        return result["weights_used"], json.loads(Path(result["probs"]).read_text())["probs"]

    ema_used, ema_probs = predicted(variant("ema", weights_used="ema"))
    raw_used, raw_probs = predicted(variant("raw", weights_used="raw"))
    _, ema_as_raw = predicted(variant("ema_as_raw", model=ckpt["ema"], weights_used="raw"))  # what "ema" must give
    assert (ema_used, raw_used) == ("ema", "raw")
    assert ema_probs == ema_as_raw and ema_probs != raw_probs
    exported = export(variant("export", weights_used="ema"), tmp_path / "hf")
    assert exported["weights_used"] == "ema"
    hf = load_file(tmp_path / "hf" / "model.safetensors")
    assert torch.equal(hf["classifier.weight"], ckpt["ema"]["head.weight"])


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


def test_ablate_runs_the_official_recipe_beside_exp4(data, tmp_path, capsys):
    """`python -m finetune ablate --presets exp4 official`, on tiny settings: both rows, the official one
    trained with its regularisers (repeated augmentation: two copies of every clip)."""
    from finetune.cli import main

    settings = TINY + ["epochs=1", "stage2_epochs=0", "limit_train_batches=2"]
    assert main(["ablate", "--data", str(data), "--out", str(tmp_path), "--presets", "exp4", "official",
                 "--ensemble", "none", "--set", *settings]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")][2:]
    assert [r.split("|")[1].strip() for r in rows] == ["exp4", "official"]
    assert "VideoMAE's own recipe" in rows[1] and "84.90%" in rows[0]
    config = json.loads((tmp_path / "official" / "config.json").read_text())
    assert (config["randaug"], config["reprob"], config["repeated_aug"], config["label_smoothing"]) == (
        "rand-m7-n4-mstd0.5-inc1", 0.25, 2, 0.1)
    seen = {name: read_metrics(tmp_path / name)[0]["clips_seen"] for name in ("exp4", "official")}
    assert seen["official"] == 2 * seen["exp4"]  # each clip twice, two augmentations


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
