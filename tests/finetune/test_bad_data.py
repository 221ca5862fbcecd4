"""A run survives bad data, and never unpickles code from a run folder or a weights file."""
import csv
import pathlib
import shutil

import pytest
import torch

from finetune.config import apply_overrides, get_preset
from finetune.data.decode import read_bad_frames
from finetune.data.layout import list_frames, list_test_clips, list_train_clips
from finetune.errors import RunError
from finetune.prediction import predict
from finetune.run_folder import BAD_FRAMES, CHECKPOINT, load_checkpoint
from finetune.toy import write_toy_dataset
from finetune.training_run import run_training as train

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "epochs=1",
        "stage2_epochs=0", "hflip=0", "val_fraction=0.2", "lr=1e-3", "tta=tta3"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def truncate(path: pathlib.Path) -> None:
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 3])


def test_a_run_on_truncated_and_oddly_named_frames_finishes_names_the_bad_and_predict_writes_every_id(
        tmp_path, capsys):
    data = write_toy_dataset(tmp_path / "data", classes=3, clips_per_class=5, test_clips=4, height=24, width=32,
                             frames=(4, 6), seed=5)
    clips, _ = list_train_clips(data)
    dead = [clips[0].path, clips[7].path]            # every frame truncated: nothing to read
    for clip in dead:
        for frame in list_frames(clip):
            truncate(frame)
    for clip, pattern in zip(clips[1:4], ("frame_{:04d}.jpg", "img_{:05d}.jpeg", "{}.png")):  # other namings
        for k, frame in enumerate(list_frames(clip.path)):
            frame.rename(clip.path / pattern.format(k + 1))
        (clip.path / ".DS_Store").write_bytes(b"\0")                                # and OS litter
    tests = list_test_clips(data)
    one_bad = list_frames(tests[1].path)[1]           # one frame of a test clip
    truncate(one_bad)
    for frame in list_frames(tests[2].path):         # and a test clip with no readable frame at all
        truncate(frame)

    run = tmp_path / "run"
    summary = train(apply_overrides(get_preset("exp3"), TINY), data, run)
    assert summary["global_step"] == summary["steps_per_epoch"] >= 1
    listed = read_bad_frames(run / BAD_FRAMES)
    left_out = {path for kind, path, _ in listed if kind == "clip"}
    # each dead clip is met once per epoch (in training or in validation): named as left out, in the
    # file, in the summary and in a warning
    assert {str(c) for c in dead} == left_out == set(summary["bad_clips"])
    assert all(any(path.startswith(str(c)) for c in dead) for kind, path, _ in listed)  # renamed clips read fine
    err = capsys.readouterr().err
    assert all(f"no readable frame in {c}" in err for c in dead)

    out = tmp_path / "submission.csv"
    result = predict(run, data, out, num_workers=0)
    with open(out) as f:
        rows = list(csv.reader(f))[1:]
    assert sorted(int(r[0]) for r in rows) == [c.label for c in tests]  # every test id, once
    assert result["from_prior"] == [tests[2].label]
    named = {path for _, path, _ in read_bad_frames(out.with_suffix(".bad_frames.txt"))}
    assert str(one_bad) in named and str(tests[2].path) in named
    assert "no readable frame" in capsys.readouterr().err


class TouchOnUnpickle:
    """Unpickles as `pathlib.Path(marker).touch()`: a harmless stand-in for any code."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_resume_predict_and_train_weights_refuse_a_checkpoint_that_runs_code(tmp_path):
    data = write_toy_dataset(tmp_path / "data", classes=2, clips_per_class=3, test_clips=1, height=24, width=32,
                             frames=(4, 5), seed=6)
    run = tmp_path / "run"
    train(apply_overrides(get_preset("exp1"), TINY + ["limit_train_batches=1"]), data, run)
    marker = tmp_path / "pwned"
    ckpt = torch.load(run / CHECKPOINT, weights_only=True)
    ckpt["extra"] = TouchOnUnpickle(marker)
    torch.save(ckpt, run / CHECKPOINT)
    with pytest.raises(RunError, match=r"cannot read .*checkpoint\.pt"):
        load_checkpoint(run)
    with pytest.raises(RunError, match="cannot read"):
        train(None, data, run, resume=True)
    with pytest.raises(RunError, match="cannot read"):
        predict(run, data, tmp_path / "s.csv", num_workers=0)
    # --weights: a VideoMAE .pth carrying the same payload
    weights = tmp_path / "videomae.pth"
    torch.save({"model": dict(ckpt["model"]), "args": TouchOnUnpickle(marker)}, weights)
    from weights import CheckpointError

    with pytest.raises(CheckpointError, match=r"videomae\.pth"):
        train(apply_overrides(get_preset("exp1"), TINY), data, tmp_path / "run2", weights=weights)
    assert not marker.exists()
    assert not (tmp_path / "run2").exists()  # the weights are checked before the run folder is written
    shutil.rmtree(run)
