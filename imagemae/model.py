"""The Masked Autoencoder: a ViT that sees 25% of an image and a light decoder
that paints the other 75% (course notes, sections II.2-II.3; He et al. 2022,
section 3).

    images (B, 3, 224, 224)
      -> patch tokens + fixed sin-cos positions   encoder.embed_patches   (B, 196, D)
      -> random_masking, keep 25%                 masking.py              (B, 49, D)
      -> [cls] + visible -> ViT blocks -> norm    encoder.prepend_cls,
                                                  encoder.forward_blocks  (B, 50, D)
      -> Linear to decoder width                  decoder_embed           (B, 50, D')
      -> mask tokens in the 147 gaps, unshuffle,
         + decoder positions                                              (B, 197, D')
      -> light decoder blocks -> norm -> Linear   decoder_*               (B, 196, 16*16*3)
      -> MSE against the pixels, masked patches only                      forward_loss

Asymmetric by design (section 3): the encoder (the part kept for fine-tuning)
never processes mask tokens, so a 75% ratio makes it about 4x cheaper; only the
narrow, shallow decoder sees all 196 positions. The encoder is a `vit.ViT`
called through its explicit methods; the decoder blocks come from
`vit.blocks.build_blocks`. No transformer code lives in this package.
"""
import torch
from einops import repeat
from torch import nn

from vit import ViT, ViTConfig
from vit.blocks import build_blocks, init_weights
from vit.patches import patchify
from vit.pos_embed import sincos_2d
from weights import load_state, read_checkpoint

from .checkpoint import IMAGE_MAE, convert_mae
from .config import MAEConfig
from .masking import random_masking


class MAE(nn.Module):
    def __init__(self, cfg: MAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = ViT(ViTConfig(
            image_size=cfg.image_size, patch_size=cfg.patch_size, in_chans=cfg.in_chans, num_classes=0,
            dim=cfg.dim, depth=cfg.depth, heads=cfg.heads, mlp_ratio=cfg.mlp_ratio, qkv_bias=True,
            pool="cls", pos_embed="sincos", layer_norm_eps=cfg.layer_norm_eps,
        ))
        self.decoder_embed = nn.Linear(cfg.dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_dim))  # one learned "missing patch" vector
        self.register_buffer(
            "decoder_pos_embed", sincos_2d(cfg.decoder_dim, cfg.grid, cls_token=True), persistent=False
        )  # (1, 1+N, D'): without it every mask token would be identical
        self.decoder_blocks = build_blocks(
            cfg.decoder_depth, cfg.decoder_dim, cfg.decoder_heads,
            mlp_ratio=cfg.decoder_mlp_ratio, bias="qkv", eps=cfg.layer_norm_eps,
        )
        self.decoder_norm = nn.LayerNorm(cfg.decoder_dim, eps=cfg.layer_norm_eps)
        self.decoder_pred = nn.Linear(cfg.decoder_dim, cfg.patch_size**2 * cfg.in_chans)  # one patch of pixels
        for module in (self.decoder_embed, self.decoder_blocks, self.decoder_norm, self.decoder_pred):
            module.apply(init_weights)
        nn.init.normal_(self.mask_token, std=0.02)

    # -- the four steps -----------------------------------------------------------
    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, p*p*C): the reconstruction target, channel fastest."""
        return patchify(images, self.cfg.patch_size)

    def forward_encoder(self, images, mask_ratio: float, noise=None, generator=None):
        """Encode the visible patches only.

        images (B, C, H, W) -> latent (B, 1+N_vis, D), mask (B, N) bool, ids_restore (B, N).
        """
        x = self.encoder.embed_patches(images)  # (B, C, H, W) -> (B, N, D), positions added
        x, mask, ids_restore = random_masking(x, mask_ratio, noise, generator)  # -> (B, N_vis, D)
        x = self.encoder.prepend_cls(x)  # -> (B, 1+N_vis, D)
        return self.encoder.forward_blocks(x), mask, ids_restore  # blocks + final norm, (B, 1+N_vis, D)

    def forward_decoder(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """latent (B, 1+N_vis, D) -> pred (B, N, p*p*C), one patch of pixels per position."""
        x = self.decoder_embed(latent)  # (B, 1+N_vis, D) -> (B, 1+N_vis, D')
        b, n = ids_restore.shape
        fill = self.mask_token.expand(b, n + 1 - x.shape[1], -1)  # (B, N_masked, D')
        x_ = torch.cat([x[:, 1:], fill], dim=1)  # (B, N, D') in shuffled order: visible, then masked
        x_ = x_.gather(1, repeat(ids_restore, "b n -> b n d", d=x.shape[-1]))  # unshuffle: patch order, (B, N, D')
        x = torch.cat([x[:, :1], x_], dim=1) + self.decoder_pos_embed  # cls back in front, (B, 1+N, D')
        for block in self.decoder_blocks:
            x = block(x)
        x = self.decoder_pred(self.decoder_norm(x))  # (B, 1+N, D') -> (B, 1+N, p*p*C)
        return x[:, 1:]  # drop cls, (B, N, p*p*C)

    def forward_loss(self, images: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error per patch, averaged over the masked patches only
        (section 3: loss on visible patches would reward copying the input).

        norm_pix_loss: each target patch is normalised by the mean and (unbiased)
        variance of ALL its p*p*C values together (768 for 16x16 RGB), so the model
        predicts local structure, not brightness. VideoMAE normalises per channel.
        """
        target = self.patchify(images)  # (B, N, p*p*C)
        if self.cfg.norm_pix_loss:
            mean = target.mean(dim=-1, keepdim=True)  # (B, N, 1)
            var = target.var(dim=-1, keepdim=True)  # (B, N, 1)
            target = (target - mean) / (var + 1.0e-6) ** 0.5
        per_patch = ((pred - target) ** 2).mean(dim=-1)  # (B, N, p*p*C) -> (B, N)
        mask = mask.to(per_patch.dtype)
        return (per_patch * mask).sum() / mask.sum()

    def forward(self, images: torch.Tensor, mask_ratio: float | None = None, noise=None, generator=None):
        """images (B, C, H, W) -> (loss, pred (B, N, p*p*C), mask (B, N) bool, True = masked).

        `mask_ratio` defaults to the config's (0.75); `noise` (B, N) or `generator`
        make the masking repeatable."""
        ratio = self.cfg.mask_ratio if mask_ratio is None else mask_ratio
        latent, mask, ids_restore = self.forward_encoder(images, ratio, noise, generator)
        pred = self.forward_decoder(latent, ids_restore)
        return self.forward_loss(images, pred, mask), pred, mask

    # -- checkpoints -----------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path, heads: int | None = None, decoder_heads: int | None = None, **overrides) -> "MAE":
        """Load a transformers `ViTMAEForPreTraining` directory (config.json +
        weights), an official facebookresearch/mae `.pth` with its decoder (state
        dict under 'model'), or a file of ours. Official files do not store the
        head counts: they are taken from the released models of the same width
        (`weights.RELEASED_HEADS`), or from `heads` / `decoder_heads` when
        given; an unknown width without them is a CheckpointError. `overrides`
        set other config fields (e.g. mask_ratio).

        The fixed position tables saved in the file are loaded as they are, so the
        model computes exactly what the file's model computed. An encoder-only file
        (e.g. `mae_pretrain_vit_base.pth`) belongs to `vit.ViT.from_pretrained`. The
        names and the config come from `imagemae.checkpoint.convert_mae`."""
        state, config = read_checkpoint(path, IMAGE_MAE.formats)
        state, fields = convert_mae(state, config, path, heads=heads, decoder_heads=decoder_heads, **overrides)
        model = cls(MAEConfig(**fields))
        load_state(model, state, source=str(path))  # the file's position tables too, as they are
        return model


def mae_tiny(**kw) -> MAE:
    """The lesson's model: a 4-block ViT-Ti-width encoder and a 2-block decoder
    (about 2.5M parameters), small enough to pretrain for a minute on a CPU."""
    return MAE(MAEConfig(**{
        "dim": 192, "depth": 4, "heads": 3, "decoder_dim": 128, "decoder_depth": 2, "decoder_heads": 4, **kw,
    }))


def mae_base(**kw) -> MAE:
    """MAE ViT-B/16: encoder 768 x 12 blocks x 12 heads, decoder 512 x 8 x 16
    (111.9M parameters with the decoder, transformers' ViTMAEForPreTraining default)."""
    return MAE(MAEConfig(**kw))


__all__ = ["MAE", "MAEConfig", "mae_base", "mae_tiny"]
