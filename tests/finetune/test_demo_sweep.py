"""The demo's settings and its sweep (`python -m finetune.demo_run --sweep`): the demo's rows keep the course
notes' structure (exp1 vanilla on one view, exp4 with Mixup, a second stage and TTA), and the sweep runs
the whole demo per seed x thread count and tabulates both rows' test accuracy, here on a shrunken setting
(seconds; the real sweep takes minutes a run and is not part of `make test`)."""
import json

import pytest

from finetune import config as C
from finetune import demo_run as D
from finetune.run_folder import RunFolder

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py; also restores the sweep's thread counts

# every size shrunk: 3 classes of 16x16 clips, a 1-block encoder, 2 epochs
SMALL = dict(
    toy=dict(classes=3, clips_per_class=4, test_clips=4, height=16, width=16, frames=(4, 5)),
    pretrain=dict(epochs=1, num_frames=4, image_size=16, batch_size=2, norm_target=False, decoder_dim=16,
                  decoder_depth=1, decoder_heads=1, head_init_scale=1.0, dim=16, depth=1, heads=1),
    overrides=["image_size=16", "resize=18", "epochs=2", "eval_every=1", "batch_size=2", "val_fraction=0.3"],
    stage2=1, workers=0,
)


@pytest.mark.parametrize("name", D.ROWS)
def test_demo_rows_are_valid_configs_with_the_course_notes_structure(name):
    cfg = C.apply_overrides(C.get_preset(name), D.DEMO + D.row_overrides(name))
    C.validate(cfg)
    if name == "exp1":  # vanilla: no augmentation, no Mixup, one stage, one centre view
        assert (cfg.aug, cfg.mixup, cfg.stage2_epochs, cfg.tta) == (False, 0.0, 0, "center")
    else:  # consistent augmentation, Mixup, a second stage, TTA without mirrored views (the toy's labels)
        assert (cfg.aug, cfg.mixup, cfg.stage2_epochs, cfg.tta) == (True, D.DEMO_MIXUP, D.DEMO_STAGE2, "tta3")
    assert cfg.hflip == 0 and 0 < cfg.stage2_epochs + 1 <= cfg.epochs
    assert D.PRETRAIN["head_init_scale"] == 1.0  # stored in the weights' config: the fine-tuning head's init


def test_sweep_runs_the_demo_per_seed_and_thread_count_and_tabulates_both_rows(tmp_path):
    lines = []
    result = D.sweep(tmp_path, seeds=(0,), threads=(1, 2), log=lines.append, **SMALL)
    runs = result["runs"]
    assert [(r["seed"], r["threads"]) for r in runs] == [(0, 1), (0, 2)]
    for r in runs:
        assert set(r["test"]) == {"exp1", "exp4"} and all(0 <= a <= 1 for a in r["test"].values())
        case = tmp_path / f"seed{r['seed']}_threads{r['threads']}"
        assert (case / "submission.csv").is_file() and (case / "runs" / "exp1" / "submission.csv").is_file()
        exp1, exp4 = (json.loads(RunFolder(case / "runs" / n).config.read_text()) for n in ("exp1", "exp4"))
        assert (exp1["tta"], exp1["mixup"], exp4["tta"], exp4["mixup"], exp4["stage2_epochs"]) == (
            "center", 0.0, "tta3", D.DEMO_MIXUP, 1)
    assert all(set(r["left_plateau"]) == {"exp1", "exp4"} for r in runs)
    assert result["last_above_first"] == all(r["test"]["exp4"] > r["test"]["exp1"] for r in runs)
    table = result["table"].splitlines()
    assert table[0].startswith("| seed | threads | exp1 test | exp4 test | exp4 - exp1 | loss < 2.0 from epoch")
    assert len([t for t in table if t.startswith("| ") and t[2].isdigit()]) == 2
    assert table[-1].startswith("exp4 - exp1: ") and table[-1].endswith(" of 2 runs")
    assert result["table"] in lines and any(line.startswith("sweep: seed 0, 2 thread(s): exp1 ") for line in lines)


def test_sweep_table_gives_each_rows_range_and_how_often_the_last_row_is_above():
    runs = [{"seed": 0, "threads": 1, "test": {"exp1": 0.5, "exp4": 0.7}, "left_plateau": {"exp1": 9, "exp4": 12},
             "time_s": 170.0},
            {"seed": 1, "threads": 2, "test": {"exp1": 0.6, "exp4": 0.55}, "left_plateau": {"exp1": 9, "exp4": None},
             "time_s": 181.0}]
    text = D.sweep_table(runs)
    assert "| 0 | 1 | 50.0% | 70.0% | +20.0 | 9, 12 | 170 s |" in text
    assert "| 1 | 2 | 60.0% | 55.0% | -5.0 | 9, never | 181 s |" in text
    assert "exp1: 50.0% to 60.0%" in text and "exp4: 55.0% to 70.0%" in text
    assert text.endswith("exp4 - exp1: -5.0 to +20.0 points; exp4 above exp1 in 1 of 2 runs")


@pytest.mark.parametrize("above", [True, False])
def test_command_line_of_the_sweep_fails_unless_exp4_is_above_exp1_in_every_run(monkeypatch, above):
    seen = {}

    def fake_sweep(out, seeds, threads):
        seen.update(out=out, seeds=seeds, threads=threads)
        return {"last_above_first": above}

    monkeypatch.setattr(D, "sweep", fake_sweep)
    assert D.main(["--sweep", "--seeds", "3", "4", "--threads", "2"]) == (0 if above else 1)
    assert seen == {"out": "outputs/finetune_demo_sweep", "seeds": [3, 4], "threads": [2]}
