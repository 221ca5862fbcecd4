"""ImageMAE from scratch: mask 75% of the patches, encode the rest, reconstruct the pixels.

He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners". Course notes, section II.
Lesson: `python -m imagemae`. Prose: docs/02_imagemae.md.
"""
from .masking import num_visible, random_masking
from .model import MAE, MAEConfig, mae_base, mae_tiny

__all__ = ["MAE", "MAEConfig", "mae_base", "mae_tiny", "num_visible", "random_masking"]
