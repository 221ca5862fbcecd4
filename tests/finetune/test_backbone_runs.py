"""`train --weights` + `predict --run` end to end from every checkpoint layout, and what the run records.

Each layout (tests/test_backbones.py checks its logits against transformers) is written from
a one- or two-block model of a released width; a tiny fine-tuning run on the toy data starts from it,
predicts the test clips, and must record the real architecture and the weights' path in
config.json and summary.json (a ViT-g run once recorded `model = videovit_base`). The backbone's
official recipe row (finetune/backbones.py) lands in the config between the preset and `--set`.
"""
import csv
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from test_backbones import SIZES, hf_model, mmaction2_names, official_names  # tests/ (tests/conftest.py's folder)

from finetune import predict, train
from finetune.backbones import BACKBONES

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def tiny(side: int) -> list[str]:
    return ["num_frames=4", f"image_size={side}", f"resize={side}", "num_workers=0", "batch_size=2", "accum_steps=1",
            "epochs=1", "stage2_epochs=0", "warmup_epochs=0", "lr=1e-4", "hflip=0", "tta=center",
            "val_fraction=0.3", "limit_train_batches=2", "save_every=0"]


@pytest.fixture(scope="module")
def data(toy_dataset):
    return toy_dataset(classes=3, clips_per_class=5, test_clips=3, height=36, width=48, frames=(4, 8), seed=2)


def write_layout(layout: str, name: str, folder: Path) -> Path:
    """A model of `name`'s width (tests/test_backbones.py's SIZES) saved in `layout`; the path for --weights."""
    model = hf_model(name)
    if layout == "hub":
        model.save_pretrained(folder / "videomae-small-finetuned-kinetics")
        return folder / "videomae-small-finetuned-kinetics"
    if layout == "mmaction2":
        path = folder / "vit-small-p16_videomae-k400-pre_16x4x1_kinetics-400.pth"
        torch.save({"state_dict": mmaction2_names(model)}, path)
        return path
    if layout == "v2-hub":
        path = folder / "VideoMAEv2-Small"
        path.mkdir()
        state = {"model." + k: v.contiguous() for k, v in official_names(model).items() if not k.startswith("head.")}
        save_file(state, str(path / "model.safetensors"))
        width, heads = SIZES[name][:2]
        (path / "config.json").write_text(json.dumps({"model_type": "VideoMAEv2_Small", "model_config": {
            "img_size": 224, "patch_size": 16, "embed_dim": width, "depth": 1, "num_heads": heads, "num_frames": 16,
            "tubelet_size": 2, "use_mean_pooling": True, "num_classes": 0}}))
        return path
    path = folder / f"{name}_official.pth"
    torch.save({"module": official_names(model)} if layout == "pth-module" else official_names(model), path)
    return path


@pytest.mark.parametrize("layout, name", [("hub", "v1-s"), ("pth-module", "v2-s"), ("pth-bare", "v2-g"),
                                          ("mmaction2", "v1-s"), ("v2-hub", "v2-s")])
def test_a_run_from_each_layout_trains_predicts_and_names_its_architecture(layout, name, data, tmp_path):
    width, heads, mlp, patch, blocks = SIZES[name][:5]
    side = 2 * patch
    weights = write_layout(layout, name, tmp_path)
    run = tmp_path / "run"
    summary = train(data, run, weights, preset="exp4", overrides=tiny(side))
    wanted = (f"VideoMAE ViT/{patch}: {width} wide, {blocks} blocks, {heads} heads, MLP {mlp}, tubelet 2, "
              f"4 x {side} x {side}, mean pooling")
    assert summary["model"] == wanted and summary["weights"] == str(weights)
    config = json.loads((run / "config.json").read_text())
    assert config["architecture"] == summary["model"] and config["weights"] == str(weights)
    assert json.loads((run / "summary.json").read_text())["model"] == summary["model"]
    result = predict(run, data, tmp_path / "submission.csv", num_workers=0)
    with open(result["submission"]) as f:
        assert len(list(csv.DictReader(f))) == 3  # every test clip, from the run folder alone


def test_a_recipe_row_lands_between_the_preset_and_the_users_values(data, tmp_path):
    weights = write_layout("pth-bare", "v2-g", tmp_path)
    train(data, tmp_path / "run", weights, preset="exp4", overrides=tiny(28) + ["backbone=vit-g"])
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    g = BACKBONES["vit-g"]
    assert (config["layer_decay"], config["drop_path"], config["head_dropout"], config["blr"]) == (
        g.layer_decay, g.drop_path, g.head_dropout, g.blr)  # the row's values
    assert config["grad_checkpointing"] is True and config["backbone"] == "vit-g"
    assert (config["batch_size"], config["accum_steps"]) == (2, 1)  # the user's --set still wins
