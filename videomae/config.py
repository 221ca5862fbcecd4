"""The one configuration of the VideoMAE family: encoder, pretraining decoder, classifier.

Values are the ViT-B preset of the paper (Tong et al. 2022, section 4.1 and
appendix) and of the released checkpoints (MCG-NJU/VideoMAE).
"""
from dataclasses import dataclass

# Inputs are normalised with ImageNet statistics; the pretraining target
# un-normalises them back to [0, 1] first (official `engine_for_pretraining.py`).
# The numbers live in vit.imagenet; re-exported here for `videomae.pretrain` and
# for callers that import them from videomae.config.
from vit.imagenet import IMAGENET_MEAN, IMAGENET_STD, imagenet_stats  # noqa: F401


@dataclass
class VideoMAEConfig:
    image_size: int = 224  # the resolution of every released checkpoint
    num_frames: int = 16  # 16 sampled frames per clip (K400 stride 4, SSV2 stride 2)
    patch_size: int = 16  # spatial side of a tubelet, as ViT's 16x16 patches
    tubelet_size: int = 2  # frames per tubelet: halves the tokens, 16 frames -> 8 slices
    in_chans: int = 3  # RGB
    dim: int = 768  # token width D (ViT-B)
    depth: int = 12  # encoder blocks (ViT-B)
    heads: int = 12  # head dim 64
    mlp_ratio: float = 4.0  # MLP hidden = 4*D
    layer_norm_eps: float = 1e-6  # official value (transformers' configs say 1e-12)
    drop_path: float = 0.0  # stochastic depth at the last block; 0.1 when fine-tuning ViT-B
    pos_table_frames: int | None = None  # None: sinusoid table for num_frames; 16 with num_frames=8:
    # sample the 16-frame table at every other slice, so each token keeps the position it had in pretraining
    # -- pretraining (VideoMAE) --
    decoder_dim: int = 384  # a light decoder: half the encoder width ...
    decoder_depth: int = 4  # ... and 4 blocks: it only has to paint pixels back
    decoder_heads: int = 6  # head dim 64
    norm_target: bool = True  # per-patch, per-channel normalised pixels as target (paper: better features)
    # -- classification (VideoViT) --
    num_classes: int = 400  # Kinetics-400 head; the competition uses 51
    pool: str = "mean"  # "mean": mean of all tokens -> fc_norm (every released fine-tuned model); "first": the
    #   final norm, then the first token (official `--use_cls`, transformers' use_mean_pooling=False); no cls token
    head_dropout: float = 0.0  # dropout before the head (0.5 for small datasets in the official recipe)
    head_init_scale: float = 0.001  # head starts ~0 so fine-tuning begins from the pretrained features

    def __post_init__(self):
        if self.num_frames % self.tubelet_size:
            raise ValueError(
                f"num_frames must be a multiple of tubelet_size {self.tubelet_size}, found {self.num_frames}")
        if self.image_size % self.patch_size:
            raise ValueError(f"image_size must be a multiple of patch_size {self.patch_size}, found {self.image_size}")
        if self.pool not in ("mean", "first"):
            raise ValueError(f"pool must be 'mean' or 'first', found {self.pool!r}")
        table = self.pos_table_frames
        if table is not None and (table % self.tubelet_size or table % self.num_frames):
            raise ValueError(
                f"pos_table_frames must be a multiple of num_frames={self.num_frames} and of tubelet_size="
                f"{self.tubelet_size} (the table is sampled at a fixed stride), found {table}"
            )

    @property
    def tubelet(self) -> tuple[int, int, int]:
        return (self.tubelet_size, self.patch_size, self.patch_size)

    @property
    def grid(self) -> tuple[int, int, int]:
        """(T', H', W'): tubelets along time, height, width. 16x224 -> (8, 14, 14)."""
        side = self.image_size // self.patch_size
        return (self.num_frames // self.tubelet_size, side, side)

    @property
    def num_tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w
