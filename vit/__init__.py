"""Vision Transformer from scratch: patches, positions, the shared blocks, the classifier.

Lesson: `python -m vit`. Prose: docs/01_vit.md. Read in this order:

    patches.py     cut an image into patches, one token per patch (PatchEmbed, patchify)
    pos_embed.py   where each patch was: learned, 2-D sin-cos, 1-D sinusoid tables
    blocks.py      the transformer block every model here shares (Attention, MLP, Block)
    config.py      ViTConfig: every field, with why it has its value
    model.py       the ViT classifier, and from_pretrained
    checkpoint.py  timm / transformers / official MAE names -> ours (reading files: the weights package)
    lesson.py      `python -m vit`, with figures.py (its figures) and steps.py (helpers all lessons share)
"""
from .blocks import MLP, Attention, Block, DropPath, build_blocks
from .config import ViTConfig
from .model import ViT, vit_base, vit_small, vit_tiny
from .patches import PatchEmbed, patchify, unpatchify

__all__ = [
    "MLP",
    "Attention",
    "Block",
    "DropPath",
    "PatchEmbed",
    "ViT",
    "ViTConfig",
    "build_blocks",
    "patchify",
    "unpatchify",
    "vit_base",
    "vit_small",
    "vit_tiny",
]
