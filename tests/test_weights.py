"""The `weights` package on its own: the converter pattern's shared pieces, and its place at the bottom.

- `rename` is the one renaming helper every converter uses (first matching
  prefix wins; None drops); `our_fields` is the one "is this our own file?"
  test; `resolve_heads` the one head-count order.
- A checkpoint in a layout no converter reads (here the `vision_encoder.*`
  names of video-text models such as InternVideo's) is one CheckpointError
  that names the file, the unexpected key prefix and the layouts read, for
  every loader; another model's weights still say what they are and which
  loader takes them.
- `weights` imports none of the model packages, and the model packages keep
  only converters: no file reading outside `weights/`.
"""
import ast
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from imagemae import MAE, MAEConfig
from videomae import VideoMAE, VideoMAEConfig, VideoViT
from vit import ViT, ViTConfig
from weights import OURS, CheckpointError, our_fields, rename, resolve_heads

ROOT = Path(__file__).resolve().parents[1]
VIDEO = dict(image_size=16, patch_size=8, num_frames=4, dim=32, depth=1, heads=2, decoder_dim=16, decoder_depth=1,
             decoder_heads=2, num_classes=3)


def test_rename_takes_the_first_matching_prefix_drops_none_and_keeps_the_rest():
    state = {"classifier.weight": 1, "vit.embeddings.cls_token": 2, "decoder.x": 3, "decoder_y": 4, "other": 5}
    out = rename(state, {"classifier.": "head.", "vit.embeddings.cls_token": "cls_token", "decoder.": None,
                         "decoder": "kept_"})
    assert out == {"head.weight": 1, "cls_token": 2, "kept__y": 4, "other": 5}
    assert rename({"a.b": 1, "c": 2}, {"": "encoder."}) == {"encoder.a.b": 1, "encoder.c": 2}  # "" matches every key


def test_our_fields_recognises_our_files_only():
    fields = {"dim": 8, "depth": 2, "heads": 2, "unknown_old_field": 1}
    assert our_fields({OURS: fields, "model_type": "videomae"}, ViTConfig) == {"dim": 8, "depth": 2, "heads": 2}
    assert our_fields(fields, ViTConfig) == {"dim": 8, "depth": 2, "heads": 2}  # {'model': ..., 'config': asdict(cfg)}
    assert our_fields({"model_type": "vit", "hidden_size": 768, "num_hidden_layers": 12}, ViTConfig) is None
    assert our_fields(None, ViTConfig) is None


def test_resolve_heads_order_given_then_stored_then_released_then_an_error():
    assert resolve_heads(768, "encoder", "f.pth", given=4, stored=6) == 4
    assert resolve_heads(768, "encoder", "f.pth", stored=6) == 6
    assert resolve_heads(1280, "encoder", "f.pth") == 16  # ViT-H: 16 heads of 80, not 1280 // 64 = 20
    with pytest.raises(CheckpointError, match=r"f\.pth: .* width 96 .* Pass decoder_heads=N"):
        resolve_heads(96, "VideoMAE decoder", "f.pth", keyword="decoder_heads")


@pytest.fixture(scope="module")
def unread_file(tmp_path_factory):
    """A VideoMAE encoder under names no converter here reads: `vision_encoder.*` and `text_proj.*`."""
    torch.manual_seed(0)
    state = VideoViT(VideoMAEConfig(**VIDEO)).state_dict()
    state = {("text_proj." + k[5:] if k.startswith("head.") else "vision_encoder." + k): v for k, v in state.items()}
    path = tmp_path_factory.mktemp("unread") / "video_text_model.pth"
    torch.save({"state_dict": state, "meta": {"epoch": 1}}, path)
    return path


@pytest.mark.parametrize("load", [VideoViT.from_pretrained, VideoMAE.from_pretrained], ids=["VideoViT", "VideoMAE"])
def test_a_layout_not_read_names_the_file_its_key_prefixes_and_the_layouts_read(unread_file, load):
    with pytest.raises(CheckpointError) as err:
        load(unread_file)
    msg = str(err.value)
    assert msg.startswith(f"{unread_file}: its keys are in a layout not read here"), msg
    assert "`vision_encoder.`" in msg and "`text_proj.`" in msg
    for layout in ("transformers VideoMAE (videomae.*", "V1 and V2 (patch_embed.*, blocks.*)", "MMAction2 (backbone.*"):
        assert layout in msg, msg
    assert "found a video model" in msg and "expected a video model" not in msg  # no "expected X, found X"


def test_another_models_file_in_no_layout_still_says_what_it_is(unread_file):
    """An image loader given the video file: the kind of model is the news, not the prefix."""
    for load, where in ((ViT.from_pretrained, "videomae.VideoViT.from_pretrained"),
                        (MAE.from_pretrained, "videomae.VideoMAE.from_pretrained")):
        with pytest.raises(CheckpointError, match=f"found a video model .*; load a video model with {where}"):
            load(unread_file)


def test_our_own_files_carry_their_config_and_load_with_it(tmp_path):
    """`{'model': state, 'config': asdict(cfg)}`: the marker finds the config, so widths no released
    model has (32, 2 heads; decoder 16, 2 heads) and the image size load without being passed."""
    torch.manual_seed(0)
    vit = ViT(ViTConfig(image_size=16, patch_size=8, dim=32, depth=1, heads=2, num_classes=3)).eval()
    mae = MAE(MAEConfig(image_size=16, patch_size=8, dim=32, depth=1, heads=2, decoder_dim=16, decoder_depth=1,
                        decoder_heads=2))
    torch.save({"model": vit.state_dict(), "config": asdict(vit.cfg)}, tmp_path / "vit.pth")
    torch.save({"model": mae.state_dict(), "config": asdict(mae.cfg)}, tmp_path / "mae.pth")
    images, noise = torch.randn(2, 3, 16, 16), torch.rand(2, 4)
    loaded = ViT.from_pretrained(tmp_path / "vit.pth").eval()
    assert loaded.cfg == vit.cfg
    torch.testing.assert_close(loaded(images), vit(images))
    loaded_mae = MAE.from_pretrained(tmp_path / "mae.pth")
    assert loaded_mae.cfg == mae.cfg
    torch.testing.assert_close(loaded_mae(images, noise=noise)[0], mae(images, noise=noise)[0])


def _imports(package: str) -> set[str]:
    """The other top-level packages the modules of `package` import (absolute imports only)."""
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - {package}


def test_weights_is_the_bottom_layer_and_vit_imports_only_it():
    ours = {"weights", "vit", "imagemae", "videomae", "finetune", "exercises", "benchmarks"}
    assert _imports("weights") & ours == set()
    assert _imports("vit") & ours == {"weights"}


@pytest.mark.parametrize("package", ["vit", "imagemae", "videomae"])
def test_model_packages_read_no_files_themselves(package):
    """Reading a checkpoint (torch.load, safetensors, unpickling) happens in weights/ only."""
    for path in (ROOT / package).rglob("*.py"):
        text = path.read_text()
        for call in ("torch.load(", "safetensors.torch import load_file", "pickle"):
            assert call not in text, f"{path.relative_to(ROOT)} uses {call}"
