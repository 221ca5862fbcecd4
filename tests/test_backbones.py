"""Every public VideoMAE-family checkpoint layout loads into VideoViT with the file's architecture,
and gives the logits of transformers' VideoMAEForVideoClassification with the same weights.

Each model is a randomly initialised transformers model with the width, heads and MLP of a
released backbone (fewer blocks and 4 frames of 32 or 28 pixels, so the whole file runs in
seconds), its weights written in each layout people download:

    V1 ViT-S/B/L/H   transformers hub folder, and the official .pth (MCG-NJU/VideoMAE `modeling_finetune.py`)
    V2 ViT-S/B       the official .pth of the distilled models (710-class head, OpenGVLab/VideoMAEv2)
    V2 ViT-g/14      the official .pth: patch 14, 1408 wide, 16 heads, MLP 6144
    (.pth files under 'module', 'model' and bare, as the repositories' scripts save them)
    MMAction2        `backbone.*` + `cls_head.fc_cls.*` under 'state_dict', the position table stored
    V2 hub folder    OpenGVLab's: config.json `model_type: VideoMAEv2_*` + `model_config`, `model.*` keys
    first-token      a classifier without fc_norm (transformers' use_mean_pooling=False)

The layouts' names are written here from the sources (the files above, mmaction2's
`backbones/vit_mae.py` and `heads/timesformer_head.py`), independently of videomae/checkpoint.py.
"""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from test_videomae_parity import hf_to_official
from transformers import VideoMAEConfig as HFConfig
from transformers import VideoMAEForVideoClassification

from finetune.backbones import BACKBONES, recognise
from videomae import VideoViT

# name: (width, heads, MLP hidden, patch, blocks here, head rows)
SIZES = {
    "v1-s": (384, 6, 1536, 16, 2, 400),
    "v1-b": (768, 12, 3072, 16, 2, 400),
    "v1-l": (1024, 16, 4096, 16, 1, 400),
    "v1-h": (1280, 16, 5120, 16, 1, 400),
    "v2-s": (384, 6, 1536, 16, 1, 710),
    "v2-b": (768, 12, 3072, 16, 1, 710),
    "v2-g": (1408, 16, 6144, 14, 1, 710),
}
FRAMES = 4


def hf_model(name: str, **extra) -> VideoMAEForVideoClassification:
    width, heads, mlp, patch, blocks, classes = SIZES[name]
    torch.manual_seed(0)
    model = VideoMAEForVideoClassification(HFConfig(
        image_size=2 * patch, patch_size=patch, num_frames=FRAMES, tubelet_size=2, hidden_size=width,
        num_hidden_layers=blocks, num_attention_heads=heads, intermediate_size=mlp, num_labels=classes,
        layer_norm_eps=1e-6, **extra))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # off the init (biases 0, norms 1): every weight shows in the logits
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    return model.eval()


def clip_for(name: str) -> torch.Tensor:
    side = 2 * SIZES[name][3]
    return torch.randn(2, 3, FRAMES, side, side, generator=torch.Generator().manual_seed(2))


def their_logits(model, video) -> torch.Tensor:
    with torch.no_grad():
        return model(video.transpose(1, 2)).logits  # (B, C, T, H, W) -> transformers' (B, T, C, H, W)


def official_names(model) -> dict:
    """MCG-NJU/VideoMAE and OpenGVLab/VideoMAEv2 `modeling_finetune.py` names of a transformers classifier."""
    s = model.state_dict()
    out = hf_to_official(s)
    for ours, theirs in (("patch_embed.proj", "videomae.embeddings.patch_embeddings.projection"),
                         ("fc_norm", "fc_norm"), ("head", "classifier")):
        out[ours + ".weight"], out[ours + ".bias"] = s[theirs + ".weight"], s[theirs + ".bias"]
    return out


def sinusoid_table(n: int, dim: int) -> torch.Tensor:
    """mmaction2 `vit_mae.py` `get_sinusoid_encoding`: pos / 10000^(2(j//2)/D), sin even, cos odd."""
    angles = np.arange(n)[:, None] / np.power(10000, 2 * (np.arange(dim) // 2) / dim)[None]
    angles[:, 0::2], angles[:, 1::2] = np.sin(angles[:, 0::2]), np.cos(angles[:, 1::2])
    return torch.tensor(angles, dtype=torch.float32)[None]


def mmaction2_names(model) -> dict:
    """mmaction2 `backbones/vit_mae.py` (mmcv PatchEmbed `projection`, FFN `layers.0.0` / `layers.1`,
    a stored `pos_embed` buffer) and `heads/timesformer_head.py` (`fc_cls`)."""
    out = {}
    for key, value in official_names(model).items():
        key = key.replace("patch_embed.proj.", "patch_embed.projection.")
        key = key.replace(".mlp.fc1.", ".mlp.layers.0.0.").replace(".mlp.fc2.", ".mlp.layers.1.")
        out[key.replace("head.", "cls_head.fc_cls.") if key.startswith("head.") else "backbone." + key] = value
    cfg = model.config
    tokens = FRAMES // 2 * (cfg.image_size // cfg.patch_size) ** 2
    out["backbone.pos_embed"] = sinusoid_table(tokens, cfg.hidden_size)
    return out


def check(ours: VideoViT, model, name: str, pool: str = "mean") -> None:
    width, heads, mlp, patch, blocks, classes = SIZES[name]
    c = ours.cfg
    assert (c.dim, c.heads, round(c.dim * c.mlp_ratio), c.patch_size, c.depth, c.num_classes, c.pool) == (
        width, heads, mlp, patch, blocks, classes, pool)
    video = clip_for(name)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(video), their_logits(model, video), atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", ["v1-s", "v1-b", "v1-l", "v1-h"])
def test_v1_hub_folder_and_official_pth(name, tmp_path):
    model = hf_model(name)
    model.save_pretrained(tmp_path / "hub")
    check(VideoViT.from_pretrained(tmp_path / "hub"), model, name)  # frames and size from config.json
    torch.save({"module": official_names(model), "epoch": 34}, tmp_path / "checkpoint-best.pth")
    size = 2 * SIZES[name][3]  # the .pth stores no frame count or image size: the caller's
    check(VideoViT.from_pretrained(tmp_path / "checkpoint-best.pth", num_frames=FRAMES, image_size=size), model, name)


@pytest.mark.parametrize("name, wrapper", [("v2-s", "module"), ("v2-b", "model"), ("v2-g", None), ("v2-g", "module")])
def test_v2_official_pth_every_wrapper(name, wrapper, tmp_path):
    model = hf_model(name)
    state = official_names(model)
    path = tmp_path / f"vit_{name[-1]}_k710_dl_from_giant.pth"
    torch.save(state if wrapper is None else {wrapper: state}, path)
    ours = VideoViT.from_pretrained(path, num_frames=FRAMES, image_size=2 * SIZES[name][3])
    check(ours, model, name)


def test_mmaction2_checkpoint(tmp_path):
    model = hf_model("v1-b")
    path = tmp_path / "vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400_20221013-860a3cd3.pth"
    torch.save({"meta": {"epoch": 1, "mmaction_version": "1.2.0"}, "state_dict": mmaction2_names(model)}, path)
    check(VideoViT.from_pretrained(path, num_frames=FRAMES, image_size=32), model, "v1-b")


def test_v2_hub_folder(tmp_path):
    """OpenGVLab's folders: the official model under `model.`, its arguments in config.json's
    `model_config`, a trained fc_norm and no head (num_classes 0)."""
    model = hf_model("v2-b")
    folder = tmp_path / "VideoMAEv2-Base"
    folder.mkdir()
    state = {"model." + k: v.contiguous() for k, v in official_names(model).items() if not k.startswith("head.")}
    save_file(state, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "model_type": "VideoMAEv2_Base", "architectures": ["VideoMAEv2_Base"],
        "auto_map": {"AutoModel": "modeling_videomaev2.VideoMAEv2", "AutoConfig": "modeling_config.VideoMAEv2Config"},
        "model_config": {"img_size": 32, "patch_size": 16, "in_chans": 3, "num_classes": 0, "embed_dim": 768,
                         "depth": 1, "num_heads": 12, "mlp_ratio": 4, "qkv_bias": True, "layer_norm_eps": 1e-6,
                         "init_values": 0.0, "tubelet_size": 2, "use_mean_pooling": True, "num_frames": FRAMES,
                         "cos_attn": False}}))
    ours = VideoViT.from_pretrained(folder, num_classes=51).eval()
    assert (ours.cfg.num_frames, ours.cfg.image_size, ours.cfg.heads, ours.cfg.num_classes) == (FRAMES, 32, 12, 51)
    video = clip_for("v2-b")
    with torch.no_grad():
        hidden = model.videomae(video.transpose(1, 2)).last_hidden_state
        torch.testing.assert_close(ours.forward_features(video), model.fc_norm(hidden.mean(1)), atol=1e-4, rtol=0)


def test_a_first_token_classifier_keeps_its_pooling(tmp_path):
    """use_mean_pooling=False: the encoder's final norm, then the first token (there is no cls token)."""
    model = hf_model("v1-s", use_mean_pooling=False)
    model.save_pretrained(tmp_path / "first")
    ours = VideoViT.from_pretrained(tmp_path / "first")
    check(ours, model, "v1-s", pool="first")
    ours.save_pretrained(tmp_path / "again")  # and back: transformers rebuilds the same pooling
    theirs = VideoMAEForVideoClassification.from_pretrained(tmp_path / "again").eval()
    assert theirs.config.use_mean_pooling is False
    video = clip_for("v1-s")
    torch.testing.assert_close(their_logits(theirs, video), their_logits(model, video), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name, path, expected", [
    ("v1-b", "videomae-base-finetuned-kinetics", "vit-b"), ("v1-b", "checkpoint.pth", "vit-b"),
    ("v2-b", "vit_b_k710_dl_from_giant.pth", "vit-b-v2"), ("v1-l", "videomae-large", "vit-l"),
    ("v2-g", "vit_g_hybrid_pt_1200e_k710_ft.pth", "vit-g")])
def test_the_recipe_row_is_recognised_from_the_shapes(name, path, expected):
    width, _, _, patch, _, classes = SIZES[name]
    depth = BACKBONES[expected].depth
    fields = {"dim": width, "depth": depth, "patch_size": patch, "num_classes": classes}
    assert recognise(fields, None, path).name == expected
    assert recognise({**fields, "depth": 3}, None, path) is None  # a toy of the same width: no row


def test_vit_g_goes_back_to_transformers(tmp_path):
    """`save_pretrained` (what `python -m finetune export` writes) of a patch-14, MLP-6144 model."""
    model = hf_model("v2-g")
    torch.save(official_names(model), tmp_path / "g.pth")
    ours = VideoViT.from_pretrained(tmp_path / "g.pth", num_frames=FRAMES, image_size=28).eval()
    ours.save_pretrained(tmp_path / "exported")
    theirs = VideoMAEForVideoClassification.from_pretrained(tmp_path / "exported").eval()
    assert (theirs.config.patch_size, theirs.config.intermediate_size) == (14, 6144)
    video = clip_for("v2-g")
    torch.testing.assert_close(their_logits(theirs, video), their_logits(model, video), atol=1e-4, rtol=0)
