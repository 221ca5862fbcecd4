"""VideoMAE from scratch: tubelets, tube masking at 90%, pretraining, the video classifier.

Lesson: `python -m videomae`. Prose: docs/03_videomae.md. Tong et al. 2022,
"VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised
Video Pre-Training".
"""
from .classifier import VideoViT, videovit_base, videovit_tiny
from .config import VideoMAEConfig
from .encoder import VideoEncoder, video_pos_table
from .masking import frame_mask, random_mask, tube_mask
from .pretrain import VideoMAE, reconstruction_target, videomae_base, videomae_tiny
from .tubelets import TubeletEmbed, linear_from_conv3d, patchify, unpatchify

__all__ = [
    "TubeletEmbed",
    "VideoEncoder",
    "VideoMAE",
    "VideoMAEConfig",
    "VideoViT",
    "frame_mask",
    "linear_from_conv3d",
    "patchify",
    "random_mask",
    "reconstruction_target",
    "tube_mask",
    "unpatchify",
    "video_pos_table",
    "videomae_base",
    "videomae_tiny",
    "videovit_base",
    "videovit_tiny",
]
