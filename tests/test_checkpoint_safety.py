"""Checkpoint files that must not load, and the errors that say why.

- A `.pth` is a pickle, and a pickle can call any function while it is read.
  Every `from_pretrained` reads `torch.save` files with
  `torch.load(weights_only=True)` only (plus the `argparse.Namespace` that the
  official training scripts store), so a crafted file is refused before any of
  its code runs.
- Every other mistake with a checkpoint path (a text file, a truncated or empty
  file, a folder without weights, another model's weights, keys that do not fit)
  is a `CheckpointError` whose message names the file and says what is read.

Tiny models throughout: the whole file takes a few seconds on CPU.
"""
import argparse
import io
import pathlib

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import VideoMAEConfig as HFVideoMAEConfig
from transformers import (
    VideoMAEForPreTraining,
    VideoMAEForVideoClassification,
    ViTForImageClassification,
    ViTMAEConfig,
    ViTMAEForPreTraining,
)
from transformers import ViTConfig as HFViTConfig

from imagemae import MAE, MAEConfig
from videomae import VideoMAE, VideoMAEConfig, VideoViT
from vit import ViT, ViTConfig
from weights import CheckpointError

LOADERS = {
    "ViT": ViT.from_pretrained,
    "MAE": MAE.from_pretrained,
    "VideoViT": VideoViT.from_pretrained,
    "VideoMAE": VideoMAE.from_pretrained,
}
# Widths that no released model has, so each loader is told the head counts.
HEADS = {"ViT": dict(heads=2), "MAE": dict(heads=2, decoder_heads=2), "VideoViT": dict(heads=2),
         "VideoMAE": dict(heads=2, decoder_heads=2)}
VIDEO = dict(image_size=16, patch_size=8, num_frames=4, dim=32, depth=1, heads=2, decoder_dim=16, decoder_depth=1,
             decoder_heads=2, num_classes=3)


def tiny_models() -> dict:
    """One small random model per loader."""
    torch.manual_seed(0)
    return {
        "ViT": ViT(ViTConfig(image_size=16, patch_size=8, dim=32, depth=1, heads=2, num_classes=3)),
        "MAE": MAE(MAEConfig(image_size=16, patch_size=8, dim=32, depth=1, heads=2, decoder_dim=16,
                             decoder_depth=1, decoder_heads=2)),
        "VideoViT": VideoViT(VideoMAEConfig(**VIDEO)),
        "VideoMAE": VideoMAE(VideoMAEConfig(**VIDEO)),
    }


def official_state(name: str, model) -> dict:
    """The state dict as the official repositories lay it out (ours already is,
    except the MAE's encoder, which has no `encoder.` prefix there)."""
    state = model.state_dict()
    if name == "MAE":
        state = {k.removeprefix("encoder."): v for k, v in state.items()}
        state["pos_embed"], state["decoder_pos_embed"] = model.encoder.pos_embed, model.decoder_pos_embed
    return state


def assert_names_file_and_formats(message: str, path) -> None:
    assert str(path) in message, message
    for fmt in ("config.json", ".safetensors", ".pth"):  # says which formats are read
        assert fmt in message, (fmt, message)


# -- code in a pickle never runs -------------------------------------------------------
class TouchOnUnpickle:
    """Pickles as the call `pathlib.Path(marker).touch()`: whoever unpickles it
    with weights_only=False creates `marker` (a harmless stand-in for any code)."""

    def __init__(self, marker):
        self.marker = pathlib.Path(marker)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def crafted(tmp_path, name: str) -> tuple[pathlib.Path, pathlib.Path]:
    """An otherwise valid official-style checkpoint whose 'args' entry runs code when read."""
    marker, path = tmp_path / f"pwned_{name}", tmp_path / f"{name}_checkpoint.pth"
    state = official_state(name, tiny_models()[name])
    torch.save({"model": state, "epoch": 9, "args": TouchOnUnpickle(marker)}, path)
    return path, marker


def test_the_crafted_file_really_runs_code_when_unpickled(tmp_path):
    """The threat is real: torch.load(weights_only=False) on this file creates the marker."""
    path, marker = crafted(tmp_path, "ViT")
    torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("name", LOADERS)
def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path, name):
    path, marker = crafted(tmp_path, name)
    with pytest.raises(CheckpointError) as err:
        LOADERS[name](path, **HEADS[name])
    assert not marker.exists(), "the checkpoint's code ran"
    msg = str(err.value)
    assert str(path) in msg and "refused" in msg and "arbitrary code" in msg
    assert "`getattr`" in msg  # the global torch refused: pickle reaches Path.touch through getattr
    assert "weights_only=False)['model'], 'clean.pth')" in msg  # how to opt in for a trusted file


@pytest.mark.parametrize("name", LOADERS)
def test_official_pth_with_training_args_still_loads(tmp_path, name):
    """facebookresearch/mae and MCG-NJU/VideoMAE save {'model', 'optimizer', 'epoch',
    'scaler', 'args': argparse.Namespace}: plain data, read without unpickling code."""
    model = tiny_models()[name].eval()
    args = argparse.Namespace(model="vit_base_patch16_224", lr=1e-3, input_size=224, layer_decay=0.75,
                              color_jitter=None, mean=(0.485, 0.456, 0.406), sizes=[16, 224], finetune="")
    path = tmp_path / "checkpoint-799.pth"
    torch.save({"model": official_state(name, model), "optimizer": {"state": {}, "param_groups": []},
                "epoch": 799, "scaler": {"scale": 65536.0}, "args": args}, path)
    overrides = dict(num_frames=4, image_size=16) if name.startswith("Video") else {}
    loaded = LOADERS[name](path, **HEADS[name], **overrides).eval()
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


# -- files that are not checkpoints -------------------------------------------------------
def _zip_checkpoint_bytes() -> bytes:
    """What torch.save writes (a zip archive), to be cut short."""
    buffer = io.BytesIO()
    torch.save({"model": tiny_models()["ViT"].state_dict()}, buffer)
    return buffer.getvalue()


def make_bad(tmp_path, case: str) -> pathlib.Path:
    if case == "text file named .pth":  # e.g. a Git LFS pointer committed instead of the weights
        path = tmp_path / "vit_small_patch16_224.pth"
        path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 88364160\n")
    elif case == "truncated .safetensors":
        whole = tmp_path / "whole.safetensors"
        save_file({"w": torch.zeros(1000)}, str(whole))
        path = tmp_path / "model.safetensors"
        path.write_bytes(whole.read_bytes()[:400])
    elif case in ("truncated .pth", "truncated .bin"):
        data = _zip_checkpoint_bytes()
        path = tmp_path / ("checkpoint.pth" if case.endswith("pth") else "pytorch_model.bin")
        path.write_bytes(data[: len(data) // 2])
    elif case == "empty file":
        path = tmp_path / "empty.pth"
        path.touch()
    elif case == "directory without weights":
        path = tmp_path / "run"
        path.mkdir()
        (path / "config.json").write_text("{}")
        (path / "README.md").write_text("weights to come")
    return path


BAD = ["text file named .pth", "truncated .safetensors", "truncated .pth", "truncated .bin", "empty file",
       "directory without weights"]


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("name", LOADERS)
def test_unreadable_files_are_checkpoint_errors(tmp_path, name, case):
    path = make_bad(tmp_path, case)
    with pytest.raises(CheckpointError) as err:
        LOADERS[name](path)
    assert_names_file_and_formats(str(err.value), path)


def test_what_the_messages_say(tmp_path):
    said = {}
    for i, case in enumerate(BAD):
        (tmp_path / str(i)).mkdir()
        with pytest.raises(CheckpointError) as err:
            ViT.from_pretrained(make_bad(tmp_path / str(i), case))
        said[case] = str(err.value)
    assert "text file" in said["text file named .pth"] and "git-lfs" in said["text file named .pth"]
    for case in ("truncated .safetensors", "truncated .pth", "truncated .bin"):
        assert "truncated or corrupt" in said[case], said[case]
    assert "empty (0 bytes)" in said["empty file"]
    assert "holds none of model.safetensors" in said["directory without weights"]
    assert "README.md" in said["directory without weights"]  # what it found instead


@pytest.mark.parametrize("name", LOADERS)
def test_missing_path_is_file_not_found_naming_it(tmp_path, name):
    path = tmp_path / "nowhere" / "model.safetensors"
    with pytest.raises(FileNotFoundError) as err:
        LOADERS[name](path)
    assert_names_file_and_formats(str(err.value), path)


# -- another model's weights ---------------------------------------------------------------
@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Small transformers folders and official-layout files of every kind of model."""
    root = tmp_path_factory.mktemp("other_models")
    torch.manual_seed(0)
    vit = dict(image_size=16, patch_size=8, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
               intermediate_size=64)
    ViTForImageClassification(HFViTConfig(**vit, num_labels=3)).save_pretrained(root / "hf_vit_classifier")
    ViTMAEForPreTraining(ViTMAEConfig(**vit, decoder_hidden_size=16, decoder_num_hidden_layers=1,
                                      decoder_num_attention_heads=2, decoder_intermediate_size=32)
                         ).save_pretrained(root / "hf_image_mae")
    video = dict(image_size=16, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=1,
                 num_attention_heads=2, intermediate_size=64, decoder_hidden_size=16, decoder_num_hidden_layers=1,
                 decoder_num_attention_heads=2, decoder_intermediate_size=32)
    classifier = VideoMAEForVideoClassification(HFVideoMAEConfig(**video, num_labels=3))
    classifier.save_pretrained(root / "hf_video_classifier")
    VideoMAEForPreTraining(HFVideoMAEConfig(**video, use_mean_pooling=False)).save_pretrained(root / "hf_videomae")
    models = tiny_models()
    torch.save({"model": official_state("MAE", models["MAE"])}, root / "mae_visualize.pth")
    torch.save({"module": models["VideoViT"].state_dict()}, root / "videomae_finetuned.pth")
    torch.save({"model": models["VideoMAE"].state_dict()}, root / "videomae_pretrain.pth")
    return root


OTHER_MODEL = [  # (loader, checkpoint of another model, words the message must contain)
    ("VideoViT", "hf_image_mae", ["image model", "Conv3d", "vit.ViT.from_pretrained"]),
    ("VideoViT", "hf_vit_classifier", ["image model", "Conv3d", "vit.ViT.from_pretrained"]),
    ("VideoViT", "mae_visualize.pth", ["image model", "Conv3d"]),
    ("VideoMAE", "hf_image_mae", ["image model", "Conv3d"]),
    ("VideoMAE", "mae_visualize.pth", ["image model", "Conv3d"]),
    ("VideoMAE", "hf_video_classifier", ["no decoder", "VideoViT.from_pretrained"]),
    ("MAE", "hf_vit_classifier", ["classification head", "vit.ViT.from_pretrained"]),
    ("MAE", "hf_videomae", ["video model", "VideoMAE.from_pretrained"]),
    ("MAE", "videomae_pretrain.pth", ["video model", "VideoMAE.from_pretrained"]),
    ("ViT", "hf_videomae", ["video model", "VideoViT.from_pretrained"]),
    ("ViT", "hf_video_classifier", ["video model", "VideoViT.from_pretrained"]),
    ("ViT", "videomae_finetuned.pth", ["video model", "VideoViT.from_pretrained"]),
    ("ViT", "videomae_pretrain.pth", ["video model", "VideoViT.from_pretrained"]),
]


@pytest.mark.parametrize("name, other, words", OTHER_MODEL, ids=[f"{n}<-{o}" for n, o, _ in OTHER_MODEL])
def test_another_models_checkpoint_is_a_checkpoint_error(folders, name, other, words):
    path = folders / other
    with pytest.raises(CheckpointError) as err:
        LOADERS[name](path)
    msg = str(err.value)
    assert_names_file_and_formats(msg, path)
    for word in words:
        assert word in msg, (word, msg)


def test_keys_that_do_not_fit_are_a_checkpoint_error(folders):
    path = folders / "hf_video_classifier"
    expected = r"blocks.0.mlp.fc1.weight: expected shape \(96, 32\), found \(64, 32\)"
    with pytest.raises(CheckpointError, match=expected) as err:
        VideoViT.from_pretrained(path, mlp_ratio=3.0)
    assert str(path) in str(err.value)


def test_incomplete_checkpoints_are_checkpoint_errors(folders, tmp_path):
    """A file cut down to its patch embedding, and a transformers folder missing a layer's query."""
    torch.save({"patch_embed.proj.weight": torch.zeros(32, 3, 8, 8)}, tmp_path / "embedding_only.pth")
    with pytest.raises(CheckpointError, match="no transformer blocks") as err:
        ViT.from_pretrained(tmp_path / "embedding_only.pth")
    assert_names_file_and_formats(str(err.value), tmp_path / "embedding_only.pth")

    broken = tmp_path / "hf_vit_without_a_query"
    broken.mkdir()
    (broken / "config.json").write_text((folders / "hf_vit_classifier" / "config.json").read_text())
    state = load_file(str(folders / "hf_vit_classifier" / "model.safetensors"))
    del state["vit.encoder.layer.0.attention.attention.query.weight"]
    save_file(state, str(broken / "model.safetensors"))
    with pytest.raises(CheckpointError, match=r"has no attention\.attention\.query\.weight") as err:
        ViT.from_pretrained(broken)
    assert str(broken) in str(err.value)
