"""Vision Transformer from scratch: patches, positions, the shared blocks, the classifier.

Lesson: `python -m vit`. Prose: docs/01_vit.md.
"""
from .blocks import MLP, Attention, Block, DropPath, build_blocks
from .model import ViT, ViTConfig, vit_base, vit_small, vit_tiny
from .patches import PatchEmbed, patchify, unpatchify

__all__ = [
    "ViT", "ViTConfig", "vit_tiny", "vit_small", "vit_base",
    "Attention", "MLP", "Block", "DropPath", "build_blocks",
    "PatchEmbed", "patchify", "unpatchify",
]
