"""The one configuration of the ViT family: every field of an image ViT, with why it has its value.

The defaults are ViT-B/16 (Dosovitskiy et al. 2021, table 1); `vit_tiny`,
`vit_small` and `vit_base` in `model.py` fill in the other sizes.
"""
from dataclasses import dataclass
from typing import Literal


@dataclass
class ViTConfig:
    image_size: int = 224  # the ImageNet resolution every released ViT was trained at
    patch_size: int = 16  # 224/16 = 14x14 = 196 tokens: "an image is worth 16x16 words"
    in_chans: int = 3  # RGB
    num_classes: int = 1000  # ImageNet-1k head; 0 = no head (features only)
    dim: int = 768  # token width D (ViT-B)
    depth: int = 12  # number of blocks (ViT-B)
    heads: int = 12  # head dim 64 in every standard size
    mlp_ratio: float = 4.0  # MLP hidden = 4*D, as in the original Transformer
    qkv_bias: bool = True  # ViT / timm / MAE use a bias on query, key and value
    # classify from the cls token (ViT) or the mean of patch tokens (MAE fine-tune)
    pool: Literal["cls", "mean"] = "cls"
    pos_embed: Literal["learned", "sincos"] = "learned"  # ViT learns it; MAE uses a fixed 2-D sin-cos table
    layer_norm_eps: float = 1e-6  # timm / official value (transformers writes 1e-12 in its configs)
    drop_path: float = 0.0  # stochastic depth at the last block; 0.1 is the usual fine-tuning value
    head_dropout: float = 0.0  # dropout before the head

    @property
    def grid(self) -> tuple[int, int]:
        return (self.image_size // self.patch_size, self.image_size // self.patch_size)
