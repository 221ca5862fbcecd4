"""Which network a run trains, where its weights come from, and how to rebuild it later.

`build_model(cfg, num_classes, weights)`:
  videovit_base  VideoMAE ViT-B (course notes IV.3), from any file `VideoViT.from_pretrained`
                 reads: the HF hub directory (MCG-NJU/videomae-base-finetuned-kinetics),
                 an official .pth, a pretraining checkpoint, or our own; the K400 head
                 is replaced by a fresh 51-class head (initialised x 0.001).
  tiny           the lesson-sized VideoViT, for the CPU demo and the tests.
  vit_*_frames   the organizers' per-frame image ViT (finetune.training.frame_vit).

A checkpoint of ours stores `model_spec(model)`, the architecture as plain
numbers, so `predict` and `--resume` rebuild the network without the original
weights file.
"""
import re
from dataclasses import asdict
from pathlib import Path

from torch import nn

from finetune.errors import ConfigError, RunError
from finetune.training.frame_vit import SIZES, FrameViT, frame_vit
from videomae import VideoMAEConfig, VideoViT, videovit_base, videovit_tiny
from vit import ViT, ViTConfig

VIDEO_MODELS = ("videovit_base", "tiny")
MODELS = VIDEO_MODELS + tuple(SIZES)


def resolve_weights(weights) -> Path:
    """A local file or folder as is; `org/name` (an HF hub id) downloaded when the network allows."""
    path = Path(weights)
    if path.exists():
        return path
    if re.fullmatch(r"[\w.-]+/[\w.-]+", str(weights)):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(str(weights), allow_patterns=["*.json", "*.safetensors", "*.bin"]))
        except Exception as err:  # noqa: BLE001 - offline, unknown id, no huggingface_hub: one answer
            raise FileNotFoundError(
                f"--weights {weights}: no such file or folder, and downloading it as an HF hub id failed "
                f"({type(err).__name__}: {err}). Download it elsewhere and pass the folder."
            ) from None
    raise FileNotFoundError(f"--weights {weights}: expected a checkpoint file/folder or an HF hub id, found neither")


def build_model(cfg, num_classes: int, weights=None) -> nn.Module:
    if cfg.model not in MODELS:
        raise ConfigError(f"unknown model {cfg.model!r}; expected one of {', '.join(MODELS)}")
    if cfg.model in SIZES:
        path = resolve_weights(weights) if weights else None
        return frame_vit(cfg.model, num_classes, cfg.image_size, path, cfg.drop_path, cfg.head_dropout)
    common = {"drop_path": cfg.drop_path, "head_dropout": cfg.head_dropout,
              "pos_table_frames": cfg.pos_table_frames or None}
    if weights:
        return VideoViT.from_pretrained(resolve_weights(weights), num_classes=num_classes,
                                        num_frames=cfg.num_frames, image_size=cfg.image_size, **common)
    factory = videovit_base if cfg.model == "videovit_base" else videovit_tiny
    return factory(num_classes=num_classes, num_frames=cfg.num_frames, image_size=cfg.image_size, **common)


def model_spec(model: nn.Module) -> dict:
    """The architecture of `model` as plain data (saved in every checkpoint)."""
    if isinstance(model, VideoViT):
        return {"kind": "videovit", "cfg": asdict(model.cfg)}
    if isinstance(model, FrameViT):
        return {"kind": "frame_vit", "cfg": asdict(model.backbone.cfg), "num_classes": model.head.out_features,
                "head_dropout": model.head_drop.p}
    raise TypeError(f"expected a VideoViT or a FrameViT, found {type(model).__name__}")


# The released sizes, by (width, depth): ViT-S/B/L/H (Dosovitskiy et al. 2021; Touvron et al. 2021) and ViT-g
# (Zhai et al. 2022), as VideoMAE V1 and V2 release them.
SIZE_NAMES = {(384, 12): "ViT-S", (768, 12): "ViT-B", (1024, 24): "ViT-L", (1280, 32): "ViT-H", (1408, 40): "ViT-g"}


def describe_backbone(model: nn.Module) -> str:
    """The architecture in one line, for config.json, summary.json and the log:
    'VideoMAE ViT-L/16: 1024 wide, 24 blocks, 16 heads, MLP 4096, tubelet 2, 16 x 224 x 224, mean pooling'."""
    if isinstance(model, FrameViT):
        c = model.backbone.cfg
        name = SIZE_NAMES.get((c.dim, c.depth), "ViT")  # plain "ViT": not a released size
        return (f"per-frame {name}/{c.patch_size}: {c.dim} wide, {c.depth} blocks, {c.heads} heads, "
                f"MLP {round(c.dim * c.mlp_ratio)}, {c.image_size} x {c.image_size} frames, mean over time")
    c = model.cfg
    name = SIZE_NAMES.get((c.dim, c.depth), "ViT")
    return (f"VideoMAE {name}/{c.patch_size}: {c.dim} wide, {c.depth} blocks, {c.heads} heads, "
            f"MLP {round(c.dim * c.mlp_ratio)}, tubelet {c.tubelet_size}, {c.num_frames} x {c.image_size} x "
            f"{c.image_size}, {c.pool} pooling")


def model_from_spec(spec: dict) -> nn.Module:
    """An untrained network of the architecture `model_spec` described (load the weights next)."""
    if spec["kind"] == "videovit":
        return VideoViT(VideoMAEConfig(**spec["cfg"]))
    if spec["kind"] == "frame_vit":
        return FrameViT(ViT(ViTConfig(**spec["cfg"])), spec["num_classes"], spec["head_dropout"])
    raise RunError(f"unknown model kind {spec['kind']!r} in checkpoint; expected 'videovit' or 'frame_vit'")


def model_from_checkpoint(ckpt: dict) -> nn.Module:
    """The trained network of a run's checkpoint (`checkpoint.load_checkpoint`): its architecture, then its weights."""
    model = model_from_spec(ckpt["model_spec"])
    model.load_state_dict(ckpt["model"])
    return model
