"""`python -m finetune ensemble` on hand-made probability files, its refusals, and ablate's ensemble row
(from the saved validation predictions of two fake finished runs: nothing is trained)."""
import csv
import json

import numpy as np
import pytest

from finetune import cli
from finetune.ablation import ablate, parse_groups
from finetune.errors import RunError

CLASSES = ["climb", "jump", "run"]
# three test clips; clip 2 goes to 'run' with equal weights (climb 0.35, run 0.45), to 'climb' with 0.8 / 0.2
# (climb 0.50, run 0.42)
A = {0: [0.7, 0.2, 0.1], 1: [0.1, 0.6, 0.3], 2: [0.6, 0.0, 0.4]}
B = {0: [0.2, 0.5, 0.3], 1: [0.3, 0.3, 0.4], 2: [0.1, 0.4, 0.5]}


def write(path, rows: dict, classes=CLASSES, order=None, **extra):
    ids = order or list(rows)
    path.write_text(json.dumps({"classes": classes, "ids": ids, "probs": [rows[i] for i in ids], **extra}))
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli.main(["ensemble", *map(str, args)])
    out = capsys.readouterr()
    return status, out.out, out.err


def submission(path) -> dict:
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["id", "class"]
    return {int(i): c for i, c in rows[1:]}


@pytest.mark.parametrize("weights", [None, [0.8, 0.2]])
def test_submission_is_the_argmax_of_the_weighted_mean(tmp_path, capsys, weights):
    a = write(tmp_path / "a.probs.json", A)
    # b lists the clips in another order and its columns in another class order: aligned by id and name
    b_classes = ["run", "climb", "jump"]
    b = write(tmp_path / "b.probs.json", {i: [p[2], p[0], p[1]] for i, p in B.items()}, classes=b_classes,
              order=[2, 0, 1])
    out = tmp_path / "sub.csv"
    status, printed, _ = run(capsys, "--probs", a, b, "--out", out, "--save-probs",
                             *(["--weights", *weights] if weights else []))
    assert status == 0 and "wrote 3 rows" in printed
    w = np.array(weights or [1, 1], dtype=float)
    w = w / w.sum()
    mean = {i: w[0] * np.array(A[i]) + w[1] * np.array(B[i]) for i in A}
    want = {i: CLASSES[int(np.argmax(m))] for i, m in mean.items()}
    assert submission(out) == want
    assert want[2] == ("climb" if weights else "run")  # the weights change the answer
    with open(out) as f:
        assert [line.split(",")[0] for line in f.read().splitlines()[1:]] == ["0", "1", "2"]  # one row per id
    saved = json.loads(out.with_suffix(".probs.json").read_text())
    assert saved["classes"] == CLASSES
    for i, p in zip(saved["ids"], saved["probs"]):
        np.testing.assert_allclose(p, mean[i])


def test_refusals_are_one_error_line(tmp_path, capsys):
    a = write(tmp_path / "a.json", A)
    other_ids = write(tmp_path / "ids.json", {**B, 7: [1.0, 0.0, 0.0]})
    other_classes = write(tmp_path / "classes.json", B, classes=["climb", "jump", "walk"])
    not_json = tmp_path / "notes.json"
    not_json.write_text("id,class\n0,run\n")
    wrong_shape = write(tmp_path / "shape.json", {0: [0.5, 0.5], 1: [1.0, 0.0], 2: [0.0, 1.0]})
    cases = [
        ([a, other_ids], ["a.json", "ids.json", "different ids", "[7]"]),
        ([a, other_classes], ["a.json", "classes.json", "different classes", "walk"]),
        ([a, a, "--weights", 1], ["one weight per probabilities file (2), found 1"]),
        ([a, a, "--weights", 1, -1], ["non-negative weights", "-1.0"]),
        ([a, not_json], ["notes.json is not JSON"]),
        ([a, wrong_shape], ["shape.json", "3 rows of 3 non-negative numbers", "(3, 2)"]),
        ([a], ["at least two probabilities files"]),
        ([a, tmp_path / "missing.json"], ["missing.json", "no such file"]),
    ]
    for args, named in cases:
        status, _, err = run(capsys, "--probs", *args, "--out", tmp_path / "s.csv")
        lines = err.strip().splitlines()
        assert status == 2 and len(lines) == 1 and lines[0].startswith("error: "), (args, err)
        assert all(n in lines[0] for n in named), (named, lines[0])
    assert not (tmp_path / "s.csv").exists()


def fake_run(runs, name, acc_rows: dict, classes=CLASSES):
    """A finished run folder: summary.json and val_probs.json (ids -> (label, probs))."""
    run = runs / name
    run.mkdir(parents=True)
    (run / "summary.json").write_text(json.dumps({"preset": name, "train_acc": 0.9, "val_acc": 0.5,
                                                  "tta_acc": 0.5, "tta": "center", "time_per_epoch_s": 1.0}))
    ids = list(acc_rows)
    write(run / "val_probs.json", {i: p for i, (_, p) in acc_rows.items()}, classes=classes, order=ids,
          labels=[acc_rows[i][0] for i in ids], data="", tta="center")


def test_ablate_adds_an_ensemble_row_from_the_runs_val_predictions(tmp_path, capsys):
    labels = {"c/0": 0, "c/1": 1, "c/2": 2, "c/3": 2}
    # each run gets 2 of 4 right; their mean gets 3 (computed below, not by the code under test)
    p3 = {"c/0": [0.9, 0.1, 0.0], "c/1": [0.5, 0.4, 0.1], "c/2": [0.6, 0.0, 0.4], "c/3": [0.1, 0.0, 0.9]}
    p4 = {"c/0": [0.4, 0.6, 0.0], "c/1": [0.1, 0.8, 0.1], "c/2": [0.0, 0.3, 0.7], "c/3": [0.0, 1.0, 0.0]}
    fake_run(tmp_path, "exp3", {i: (labels[i], p3[i]) for i in labels})
    fake_run(tmp_path, "exp4", {i: (labels[i], p4[i]) for i in reversed(labels)})  # another clip order
    def acc(p):
        return np.mean([np.argmax(p[i]) == y for i, y in labels.items()])

    mean = {i: (np.array(p3[i]) + np.array(p4[i])) / 2 for i in labels}
    assert acc(p3) == acc(p4) == 0.5 and acc(mean) == 0.75

    text = ablate(None, None, tmp_path, presets=["exp3", "exp4"])  # both finished: nothing is trained
    rows = [line.split("|")[1:-1] for line in text.splitlines()[2:]]
    assert [r[0].strip() for r in rows] == ["exp3", "exp4", "ensemble (exp3 + exp4)"]
    assert rows[2][3].strip() == "75.00%" and rows[2][4].strip() == "75.00% (runs' views)"
    # an ensemble row has no train accuracy, no time, no course notes' accuracy
    assert rows[2][2].strip() == rows[2][5].strip() == rows[2][-1].strip() == ""
    assert "| ensemble (exp3 + exp4) |" in (tmp_path / "ablation.md").read_text()

    assert "| ensemble" not in ablate(None, None, tmp_path, presets=["exp3", "exp4"], ensembles=[])
    with pytest.raises(RunError, match=r"exp9/val_probs\.json"):
        ablate(None, None, tmp_path, presets=["exp3", "exp4"], ensembles=[["exp3", "exp9"]])
    (tmp_path / "exp4" / "val_probs.json").unlink()  # a run from before: no row, no error
    assert "| ensemble" not in ablate(None, None, tmp_path, presets=["exp3", "exp4"])
    assert parse_groups(None) is None and parse_groups(["none"]) == []
    assert parse_groups(["exp4,exp4-30ep", "exp3,exp4"]) == [["exp4", "exp4-30ep"], ["exp3", "exp4"]]
    with pytest.raises(RunError, match="two or more different run names"):
        parse_groups(["exp4"])
