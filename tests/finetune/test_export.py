"""`python -m finetune export`: a fine-tuned run -> a transformers VideoMAEForVideoClassification folder
whose predictions on the toy test set equal `predict`'s."""
import json
import subprocess
import sys

import pytest
import torch
import transformers
from einops import rearrange
from torch import nn

from finetune import config as C
from finetune.data.decode import BadFrameLog
from finetune.data.layout import list_test_clips
from finetune.errors import RunError
from finetune.hf_export import export
from finetune.prediction import predict
from finetune.training.distributed import Dist
from finetune.training.engine import predict_probs
from finetune.training.loaders import eval_dataset, eval_loader, mean_std
from finetune.training_run import run_training as train

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2",
        "accum_steps=1", "epochs=1", "stage2_epochs=0", "warmup_epochs=0.5", "lr=1e-3", "tta=tta6",
        "val_fraction=0.2", "limit_train_batches=3"]

pytestmark = pytest.mark.usefixtures("one_thread")


class ChannelsSecond(nn.Module):
    """transformers' VideoMAE takes (B, T, C, H, W); the pipeline hands (B, C, T, H, W)."""

    def __init__(self, hf):
        super().__init__()
        self.hf = hf

    def forward(self, video):
        return self.hf(pixel_values=rearrange(video, "b c t h w -> b t c h w")).logits


@pytest.fixture(scope="module")
def run_and_data(toy_dataset, tmp_path_factory):
    data = toy_dataset(classes=3, clips_per_class=5, test_clips=6, height=24, width=32, frames=(4, 8), seed=3)
    run = tmp_path_factory.mktemp("export") / "run"
    train(C.apply_overrides(C.get_preset("exp4"), TINY), data, run)
    return run, data


def test_exported_folder_predicts_like_predict(run_and_data, tmp_path):
    run, data = run_and_data
    sub = tmp_path / "submission.csv"
    ours = predict(run, data, sub, probs=True, num_workers=0)
    saved = json.loads(sub.with_suffix(".probs.json").read_text())

    export(run, tmp_path / "hf")
    hf = transformers.VideoMAEForVideoClassification.from_pretrained(tmp_path / "hf").eval()
    classes = json.loads((run / "classes.json").read_text())
    assert hf.config.id2label == dict(enumerate(classes))  # the real names, in head order

    # the same clips, the same 6 TTA views, through transformers' model instead of ours
    cfg = C.from_dict(torch.load(run / "checkpoint.pt", weights_only=True)["config"])
    loader = eval_loader(eval_dataset(list_test_clips(data), cfg, "tta6", BadFrameLog(tmp_path / "bad.txt")), cfg,
                         Dist(device=torch.device("cpu")), C.VIEWS["tta6"], None, 0)
    theirs = {}
    with torch.no_grad():
        for ids, p in predict_probs(ChannelsSecond(hf), loader, torch.device("cpu"), None, cfg.image_size, 6,
                                    mean_std(cfg, torch.device("cpu")), show=False):
            theirs.update({int(i): row for i, row in zip(ids, p)})
    assert sorted(theirs) == sorted(saved["ids"]) and ours["rows"] == len(theirs) == 6
    for i, row in zip(saved["ids"], saved["probs"]):
        torch.testing.assert_close(theirs[i], torch.tensor(row), atol=1e-5, rtol=1e-4)
        assert hf.config.id2label[int(theirs[i].argmax())] == saved["classes"][int(torch.tensor(row).argmax())]

    processor = transformers.AutoImageProcessor.from_pretrained(tmp_path / "hf")  # frames -> the model's input
    frames = [torch.randint(0, 256, (24, 32, 3), dtype=torch.uint8).numpy() for _ in range(cfg.num_frames)]
    assert processor(frames, return_tensors="pt")["pixel_values"].shape == (1, cfg.num_frames, 3, 16, 16)
    assert "python -m finetune train" in (tmp_path / "hf" / "README.md").read_text()


def test_export_refuses_a_used_folder_and_a_missing_run(run_and_data, tmp_path):
    run, _ = run_and_data
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x.txt").write_text("mine")
    with pytest.raises(RunError, match="not empty"):
        export(run, tmp_path / "taken")
    cmd = [sys.executable, "-m", "finetune", "export", "--run", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("error:") and str(tmp_path / "nope") in done.stderr


def test_a_sampled_position_table_is_trained_and_refused_by_export(run_and_data, tmp_path):
    """`--set pos_table_frames=8` (4-frame clips, the table of 8): the model samples the longer table, which
    transformers cannot express, so export says so instead of writing a model that predicts differently."""
    _, data = run_and_data
    run = tmp_path / "sampled"
    train(C.apply_overrides(C.get_preset("exp4"), TINY + ["pos_table_frames=8", "limit_train_batches=1"]), data, run)
    spec = torch.load(run / "checkpoint.pt", weights_only=True)["model_spec"]
    assert spec["cfg"]["pos_table_frames"] == 8 and spec["cfg"]["num_frames"] == 4
    with pytest.raises(RunError, match="position table from 8 frames for 4-frame clips"):
        export(run, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()
