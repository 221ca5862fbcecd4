"""The organizers' per-frame baseline: an image ViT on each frame, averaged over time (course notes IV.1-2).

    video (B, C, T, H, W) -> B*T images -> ViT (cls features, D) -> mean over T -> Linear(D, classes)

Every frame is encoded on its own, so the model sees appearance only: motion
enters just through which frames are averaged. That is why it stops at 69.2%
(ViT-S) / 73.7% (ViT-B) while VideoMAE, whose tubelets and attention span time,
reaches 85%. The backbone is `vit.ViT` (features only, `num_classes=0`); the
head lives here so that `optim.layer_id` sees `backbone.blocks.i` and `head`.
"""
import torch
from einops import rearrange
from torch import nn

from vit import ViT, ViTConfig
from vit.blocks import init_weights
from weights import CheckpointError


class FrameViT(nn.Module):
    def __init__(self, backbone: ViT, num_classes: int, head_dropout: float = 0.0):
        super().__init__()
        if backbone.cfg.num_classes:
            raise ValueError(f"expected a feature-only ViT (num_classes=0), found a {backbone.cfg.num_classes}-class "
                             "head")
        self.backbone = backbone
        self.head_drop = nn.Dropout(head_dropout)
        self.head = nn.Linear(backbone.cfg.dim, num_classes)
        init_weights(self.head)

    @property
    def blocks(self) -> nn.ModuleList:
        return self.backbone.blocks

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.backbone.set_grad_checkpointing(enable)  # ViT.forward_blocks recomputes each block in backward

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b = video.shape[0]
        frames = rearrange(video, "b c t h w -> (b t) c h w")  # (B, C, T, H, W) -> (B*T, C, H, W)
        feats = rearrange(self.backbone(frames), "(b t) d -> b t d", b=b)  # (B*T, D) -> (B, T, D)
        return self.head(self.head_drop(feats.mean(dim=1)))  # (B, T, D) -> (B, D) -> (B, classes)


SIZES = {  # name -> (dim, depth, heads): ViT-Ti / S / B with 16x16 patches
    "vit_tiny_frames": (192, 12, 3),
    "vit_s_frames": (384, 12, 6),
    "vit_b_frames": (768, 12, 12),
}


def frame_vit(name: str, num_classes: int, image_size: int = 224, weights=None, drop_path: float = 0.0,
              head_dropout: float = 0.0, **cfg_overrides) -> FrameViT:
    """A FrameViT, from ImageNet weights (`weights`: any file `ViT.from_pretrained` reads) or random init."""
    if name not in SIZES:
        raise ValueError(f"unknown per-frame model {name!r}; expected one of {', '.join(SIZES)}")
    if weights is not None:
        backbone = ViT.from_pretrained(weights, num_classes=0, image_size=image_size, drop_path=drop_path)
        if backbone.cfg.dim != SIZES[name][0]:
            raise CheckpointError(f"{weights}: expected a {name} checkpoint of width {SIZES[name][0]}, "
                                  f"found {backbone.cfg.dim}")
    else:
        dim, depth, heads = SIZES[name]
        backbone = ViT(ViTConfig(**{"image_size": image_size, "num_classes": 0, "dim": dim, "depth": depth,
                                    "heads": heads, "drop_path": drop_path, **cfg_overrides}))
    return FrameViT(backbone, num_classes, head_dropout)
