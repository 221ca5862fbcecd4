"""The one configuration of the MAE family: encoder, decoder and loss, with why each value.

The defaults are MAE ViT-B/16 as released (He et al. 2022, section 4 and
appendix A.1; facebookresearch/mae `models_mae.py`).
"""
from dataclasses import dataclass


@dataclass
class MAEConfig:
    image_size: int = 224  # ImageNet resolution: 14x14 = 196 patches
    patch_size: int = 16  # each patch is a 16*16*3 = 768-value target
    in_chans: int = 3  # RGB
    dim: int = 768  # encoder width (ViT-B); the encoder is what fine-tuning keeps
    depth: int = 12  # encoder blocks (ViT-B)
    heads: int = 12  # encoder head dim 64
    mlp_ratio: float = 4.0  # encoder MLP hidden = 4*D
    decoder_dim: int = 512  # section 3: narrow (<10% of a ViT-L encoder's compute per token; 31% of ViT-B's)
    decoder_depth: int = 8  # the paper's default (table 1a: 8 blocks reconstruct best for linear probing)
    decoder_heads: int = 16  # decoder head dim 32, as released
    decoder_mlp_ratio: float = 4.0  # decoder MLP hidden = 4*D' (2048)
    mask_ratio: float = 0.75  # section 4, figure 5: 75% is best for both fine-tuning and linear probing
    # True in the paper's recipe (+0.5% fine-tune, table 1d); False = plain pixels (HF default)
    norm_pix_loss: bool = False
    layer_norm_eps: float = 1e-6  # official value (transformers' configs write 1e-12)

    @property
    def grid(self) -> tuple[int, int]:
        return (self.image_size // self.patch_size, self.image_size // self.patch_size)

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]
