"""The last steps of a competition: a refit on every labelled clip (val_fraction=0) and temporal test clips.

Refit: train, predict, report and ablate all work on a run without validation
clips. Temporal clips (`predict --clips K`): K=1 is exactly the single clip
of before; K=2 on a long clip takes two different frame sets; a clip with no
more frames than sampled gives every temporal clip the same frames.
"""
import json

import numpy as np
import pytest
import torch

from finetune import cli
from finetune.ablation import ablate
from finetune.config import apply_overrides, get_preset
from finetune.data.dataset import VideoClipDataset
from finetune.data.layout import list_test_clips
from finetune.data.sampling import clip_indices, sample_indices, temporal_offsets
from finetune.prediction import predict, report
from finetune.run_folder import RunFolder
from finetune.training_run import run_training

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "accum_steps=1",
        "epochs=2", "stage2_epochs=1", "limit_train_batches=2", "hflip=0", "tta=tta3", "lr=1e-3"]

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(toy_dataset):  # clips of 4-9 frames: with 4 sampled, most are longer, some are not
    return toy_dataset(classes=3, clips_per_class=4, test_clips=6, height=24, width=32, frames=(4, 9), seed=3)


@pytest.fixture(scope="module")
def refit(data, tmp_path_factory):
    """A finished exp4-style run on every labelled clip: no validation split."""
    out = tmp_path_factory.mktemp("refit") / "run"
    summary = run_training(apply_overrides(get_preset("exp4"), TINY + ["val_fraction=0", "keep_best=true"]), data,
                           out)
    return out, summary


# ---- refit: val_fraction=0 ----------------------------------------------------------------

def test_a_refit_trains_every_clip_and_keeps_no_validation_files(refit, data):
    out, summary = refit
    run = RunFolder(out)
    split = json.loads(run.split.read_text())
    assert split["val"] == [] and len(split["train"]) == 12  # every labelled clip trains
    assert summary["global_step"] == 4 and summary["val_acc"] is None and summary["train_acc"] is not None
    assert run.finished() and not run.val_probs.exists() and not run.report.exists()
    assert not run.best.exists()  # keep_best with nothing to judge by: no best.pt, checkpoint.pt is the run


def test_a_refit_predicts_and_report_says_there_is_nothing_to_report(refit, data, tmp_path, capsys):
    out, _ = refit
    result = predict(out, data, tmp_path / "s.csv", num_workers=0, device="cpu")
    assert result["rows"] == 6 and (tmp_path / "s.csv").read_text().startswith("id,class\n")
    capsys.readouterr()
    assert cli.main(["report", "--run", str(out)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("nothing to report:") and "no validation clips" in said and "val_fraction=0" in said
    assert report(out) == {"note": said.removeprefix("nothing to report: ").strip()}


def test_ablate_with_val_fraction_0_tabulates_without_validation(data, tmp_path):
    text = ablate(data, None, tmp_path, presets=["exp1", "exp3"],
                  overrides=TINY + ["val_fraction=0", "epochs=1", "stage2_epochs=0", "limit_train_batches=1"])
    rows = [line.split("|") for line in text.splitlines()[2:]]
    assert [r[1].strip() for r in rows] == ["exp1", "exp3"]  # no ensemble row: no validation probabilities
    assert all(r[4].strip() == "" for r in rows)  # val acc: empty, not a crash


# ---- temporal clips -----------------------------------------------------------------------

def test_one_temporal_clip_is_the_single_clip_of_before():
    for n in range(1, 41):
        for t in (4, 8, 16):  # the eval indices before temporal clips: the centre of every segment
            before = [sample_indices(n, t, False, offset=o) for o in temporal_offsets(1)]
            assert clip_indices(n, t, 1) == before == [sample_indices(n, t, False)]


def test_two_clips_of_a_long_clip_take_different_frames_spread_over_all_of_it():
    a, b = clip_indices(32, 8, 2)
    assert a == [1, 5, 9, 13, 17, 21, 25, 29] and b == [3, 7, 11, 15, 19, 23, 27, 31]  # offsets 1/4, 3/4
    assert not set(a) & set(b)  # 16 distinct frames, each clip at the training's spacing (4), start to end
    assert clip_indices(32, 8, 5)[0] != clip_indices(32, 8, 5)[-1]


def test_a_clip_no_longer_than_sampled_gives_every_temporal_clip_the_same_frames():
    for n, t in ((5, 16), (16, 16), (3, 4)):
        assert clip_indices(n, t, 3) == [sample_indices(n, t, False)] * 3
    with pytest.raises(ValueError, match="at least 1 temporal clip"):
        clip_indices(10, 4, 0)


def test_the_dataset_cuts_k_temporal_clips(data):
    clips = list_test_clips(data)
    ds = VideoClipDataset(clips, num_frames=4, size=16, short_side=16, train=False, views=3, temporal_clips=2)
    single = VideoClipDataset(clips, num_frames=4, size=16, short_side=16, train=False, views=3)
    lengths = [ds.length(i) for i in range(len(clips))]
    assert min(lengths) <= 4 < max(lengths)  # short and long clips both met
    for i, n in enumerate(lengths):
        regions, _ = ds[i]  # (K, 3, T, h, w)
        assert regions.shape[:3] == (2, 3, 4)
        assert torch.equal(regions[0], regions[1]) == (n <= 4)  # a short clip: the same frames twice
        if n <= 4:
            assert torch.equal(regions[0], single[i][0][0])  # ... and those of the single clip


def test_predict_with_two_temporal_clips(refit, data, tmp_path, capsys):
    out, _ = refit
    one = predict(out, data, tmp_path / "one.csv", probs=True, num_workers=0, device="cpu")  # clips=1, the default
    two = predict(out, data, tmp_path / "two.csv", probs=True, num_workers=0, device="cpu", clips=2)
    p1, p2 = (np.array(json.loads((tmp_path / f"{n}.probs.json").read_text())["probs"]) for n in ("one", "two"))
    assert (one["clips"], two["clips"], two["rows"]) == (1, 2, 6)
    np.testing.assert_allclose(p2.sum(-1), 1, atol=1e-5)
    lengths = [VideoClipDataset(list_test_clips(data), num_frames=4).length(i) for i in range(6)]
    assert all(np.allclose(p1[i], p2[i], atol=1e-5) for i in range(6) if lengths[i] <= 4)  # same frames twice
    assert any(not np.allclose(p1[i], p2[i]) for i in range(6) if lengths[i] > 4)  # other frames, other votes
    capsys.readouterr()
    assert cli.main(["predict", "--run", str(out), "--data", str(data), "--out", str(tmp_path / "cli.csv"),
                     "--clips", "2", "--num-workers", "0", "--device", "cpu"]) == 0
    assert "(tta3, 3 view(s) x 2 temporal clips per clip)" in capsys.readouterr().out
    assert (tmp_path / "cli.csv").read_text() == (tmp_path / "two.csv").read_text()
