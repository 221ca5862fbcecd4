"""Error analysis: the pure confusion / per-class functions on a hand-made example, and the report a tiny
training run writes (RUN/val_probs.json, report.md, confusion.csv/png, worst_clips.png), rebuilt by
`python -m finetune report`, checked against numbers computed here from val_probs.json."""
import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from finetune import cli
from finetune.config import apply_overrides, get_preset
from finetune.data.layout import list_frames, list_train_clips
from finetune.data.split import clip_key, grouped_split
from finetune.training import report as R
from finetune.training import report_figures
from finetune.training.probs import read_probs
from finetune.training.val_probs import save_val_predictions
from finetune.training_run import run_training as train

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2",
        "accum_steps=1", "epochs=1", "stage2_epochs=0", "warmup_epochs=0.5", "lr=1e-3", "hflip=0", "tta=tta3",
        "limit_train_batches=2", "val_fraction=0.3"]

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_confusion_per_class_and_pairs_on_a_hand_made_example():
    classes = ["a", "b", "c", "d"]  # d has no validation clip
    labels = [0, 0, 0, 1, 1, 2]
    preds = [0, 1, 0, 1, 1, 0]
    cm = R.confusion_matrix(labels, preds, 4)
    assert cm.tolist() == [[2, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]]
    norm = R.row_normalise(cm)
    np.testing.assert_allclose(norm[:3].sum(1), 1.0)
    np.testing.assert_allclose(norm[0], [2 / 3, 1 / 3, 0, 0])
    assert norm[3].tolist() == [0, 0, 0, 0]
    table = R.per_class(cm, classes)
    assert [(r["class"], r["clips"], r["correct"]) for r in table] == [("c", 1, 0), ("a", 3, 2), ("b", 2, 2)]
    assert table[1]["acc"] == pytest.approx(2 / 3) and table[0]["confused_with"] == "a"
    assert table[2]["confused_with"] == ""  # all right: taken for nothing
    assert R.class_order(cm) == [2, 0, 1, 3]  # worst first, the class without clips last
    pairs = R.top_confusions(cm, classes)
    assert [(p["true"], p["predicted"], p["count"]) for p in pairs] == [("a", "b", 1), ("c", "a", 1)]
    assert pairs[0]["share"] == pytest.approx(1 / 3) and pairs[1]["share"] == 1.0
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.8, 0], [0.5, 0.4, 0.1], [0.3, 0.7, 0], [0.1, 0.9, 0], [0.6, 0.1, 0.3]])
    assert R.worst_clips(labels, probs, 3) == [1, 5, 2]  # p(true) 0.2, 0.3, 0.5; then 0.7, 0.9, 0.9


@pytest.fixture(scope="module")
def run(toy_dataset, tmp_path_factory):
    """A tiny finished run whose validation split holds one clip with no readable frame."""
    data = toy_dataset(classes=3, clips_per_class=6, test_clips=1, height=24, width=32, frames=(4, 8), seed=1)
    cfg = apply_overrides(get_preset("exp4"), TINY)
    clips, _ = list_train_clips(data)
    dead = clips[grouped_split(clips, cfg.val_fraction, cfg.seed)[1][0]]  # the split train will make
    for frame in list_frames(dead.path):
        frame.write_bytes(b"not a jpeg")
    out = tmp_path_factory.mktemp("report") / "run"
    summary = train(cfg, data, out)
    return out, data, summary, clip_key(dead)


def is_png(path) -> bool:
    with Image.open(path) as img:
        img.verify()
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_saves_val_predictions_and_writes_the_report(run):
    out, _, summary, dead = run
    pred = json.loads((out / "val_probs.json").read_text())
    classes = json.loads((out / "classes.json").read_text())
    split = json.loads((out / "split.json").read_text())
    assert pred["classes"] == classes and pred["tta"] == "tta3"
    assert pred["ids"] == [k for k in split["val"] if k != dead] and len(pred["ids"]) >= 6  # each readable one
    assert pred["left_out"] == [dead]
    assert pred["labels"] == [classes.index(key.split("/")[0]) for key in pred["ids"]]
    probs = np.array(pred["probs"])
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    hits = probs.argmax(1) == np.array(pred["labels"])
    assert summary["tta_acc"] == pytest.approx(hits.mean())  # the final TTA pass is the one saved

    # per-class accuracy in report.md = the share of argmax hits per class, computed here
    text = (out / "report.md").read_text()
    assert f"Not counted: 1 validation clip(s) with no readable frame: {dead}" in text
    table = text.split("## Per-class accuracy (worst first)")[1].split("##")[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    want = {c: (int((np.array(pred["labels"]) == k).sum()), int(hits[np.array(pred["labels"]) == k].sum()))
            for k, c in enumerate(classes)}
    got = {r[0].strip(): (int(r[1]), int(r[2]), float(r[3].strip(" %"))) for r in rows}
    assert set(got) == set(classes)
    for c, (n, correct) in want.items():
        assert got[c] == (n, correct, pytest.approx(round(100 * correct / n, 1)))
    accs = [got[r[0].strip()][2] for r in rows]
    assert accs == sorted(accs)  # worst first

    # confusion.csv: counts, rows true, columns predicted; they add up to the validation clips
    with open(out / "confusion.csv") as f:
        grid = list(csv.reader(f))
    assert grid[0][1:] == classes and [r[0] for r in grid[1:]] == classes
    cm = np.array([[int(x) for x in r[1:]] for r in grid[1:]])
    assert cm.sum() == len(pred["ids"]) and np.trace(cm) == hits.sum()
    assert cm.sum(1).tolist() == [want[c][0] for c in classes]
    np.testing.assert_allclose(R.row_normalise(cm).sum(1), 1.0)
    for name in ("confusion.png", "worst_clips.png"):
        assert is_png(out / name) and f"]({name})" in text
    with Image.open(out / "worst_clips.png") as sheet:
        assert sheet.size[1] > sheet.size[0]  # 8 rows of 4 frames: taller than wide


def test_report_command_rebuilds_and_refuses_a_run_without_predictions(run, tmp_path, capsys):
    out, data, *_ = run
    (out / "report.md").unlink()
    (out / "worst_clips.png").unlink()
    assert cli.main(["report", "--run", str(out), "--worst", "2", "--frames", "3", "--data", str(data)]) == 0
    assert "Worst clips" in (out / "report.md").read_text() and is_png(out / "worst_clips.png")
    capsys.readouterr()
    bare = tmp_path / "old_run"
    bare.mkdir()
    assert cli.main(["report", "--run", str(bare)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no validation predictions in")
    assert str(bare / "val_probs.json") in err[0] and "--resume" in err[0]


def test_a_failing_figure_is_logged_and_a_finished_run_gets_its_predictions_back(run, tmp_path, monkeypatch, capsys):
    out, data, summary, _ = run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "val_probs.json").unlink()
    again = train(None, data, copy, resume=True)  # the advice of the error above: evaluates, trains nothing
    assert again["global_step"] == summary["global_step"]
    assert read_probs(copy / "val_probs.json")["ids"] == read_probs(out / "val_probs.json")["ids"]

    def broken(*args, **kwargs):
        raise RuntimeError("no display")

    monkeypatch.setattr(report_figures, "plot_confusion", broken)
    capsys.readouterr()
    figures = R.write_report(copy)  # the other figure and the text are still written
    assert "confusion" not in figures and "worst" in figures
    assert "confusion matrix: not drawn, RuntimeError: no display" in (copy / "report.md").read_text()
    assert "could not draw the confusion figure" in capsys.readouterr().err

    monkeypatch.setattr(R, "write_report", broken)  # even a failing report leaves train's caller running
    pred = R.load_val_predictions(copy)
    save_val_predictions(copy, {**pred, "tta": "center"}, pred["classes"], data)
    assert "could not write the validation report" in capsys.readouterr().err
    assert json.loads((copy / "val_probs.json").read_text())["tta"] == "center"  # saved before the report


def test_a_one_view_run_makes_its_last_validation_pass_once(toy_dataset, tmp_path, monkeypatch):
    """With tta=center the last epoch's evaluation and the final pass see the same view: train keeps the
    per-clip probabilities of the one pass, and its logged loss and accuracy are those of val_probs.json."""
    from finetune.training import engine, val_probs
    from finetune.training.runlog import read_metrics

    passes = []

    def counting(original):
        def wrapped(*args, **kwargs):
            passes.append(kwargs.get("desc"))
            yield from original(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(engine, "predict_probs", counting(engine.predict_probs))
    monkeypatch.setattr(val_probs, "predict_probs", counting(val_probs.predict_probs))
    data = toy_dataset(classes=3, clips_per_class=5, test_clips=1, height=24, width=32, frames=(4, 8), seed=2)
    cfg = apply_overrides(get_preset("exp4"), TINY + ["tta=center", "epochs=2", "eval_every=1"])
    out = tmp_path / "run"
    summary = train(cfg, data, out)
    assert len(passes) == 2  # one per epoch; the last one is also the saved final pass
    pred = json.loads((out / "val_probs.json").read_text())
    last = read_metrics(out)[-1]
    probs, labels = np.array(pred["probs"]), np.array(pred["labels"])
    assert last["val_acc"] == pytest.approx((probs.argmax(1) == labels).mean())
    assert last["val_loss"] == pytest.approx(-np.log(np.maximum(probs[np.arange(len(labels)), labels], 1e-8)).mean())
    assert summary["tta_acc"] == summary["val_acc"] == pytest.approx(last["val_acc"])
