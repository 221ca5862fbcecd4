"""VideoMAE pretraining: hide 90% of the tubelets, paint them back (course notes,
sections III.2-III.4; Tong et al. 2022, sections 3.2-3.3, Figure 1).

    video (B, 3, T, H, W), mask (B, N) True = hidden
      -> encoder on the visible tokens only           (B, N_vis, 768)   VideoEncoder
      -> encoder_to_decoder (no bias)                 (B, N_vis, 384)
      -> [visible + pos ; mask_token + pos]           (B, N, 384)       visible first, each in index order
      -> 4 light decoder blocks, norm, head           (B, N_mask, 1536) the last N_mask rows only
      -> MSE against the normalised pixels of the hidden tubelets

Keys (official pretraining files): `encoder.*`, `encoder_to_decoder.weight`,
`mask_token`, `decoder.blocks.{i}.*`, `decoder.norm.*`, `decoder.head.*`.
"""
import torch
from torch import nn
from torch.nn import functional as F

from vit.blocks import build_blocks, init_weights
from weights import load_state, read_checkpoint

from .checkpoint import VIDEOMAE, convert_videomae, save_hf
from .config import VideoMAEConfig, imagenet_stats
from .encoder import VideoEncoder, video_pos_table
from .tubelets import patchify


def reconstruction_target(video: torch.Tensor, cfg: VideoMAEConfig) -> torch.Tensor:
    """(B, C, T, H, W) ImageNet-normalised -> (B, N, pt*ph*pw*C), the pixels to predict.

    Un-normalise to [0, 1]; then (norm_target) each tubelet's channel is
    normalised over its 2*16*16 pixels with (x - mean) / (unbiased std + 1e-6), so
    the decoder predicts local contrast, not the colour of the room.
    """
    mean, std = imagenet_stats(video)  # (1, C, 1, 1, 1) each
    pixels = patchify(video * std + mean, cfg.tubelet)  # (B, N, K*C), channel fastest
    if not cfg.norm_target:
        return pixels
    per_channel = pixels.unflatten(-1, (-1, cfg.in_chans))  # (B, N, K*C) -> (B, N, K, C)
    mu = per_channel.mean(dim=-2, keepdim=True)  # (B, N, 1, C)
    sigma = per_channel.var(dim=-2, unbiased=True, keepdim=True).sqrt()  # (B, N, 1, C)
    return ((per_channel - mu) / (sigma + 1e-6)).flatten(-2)  # (B, N, K, C) -> (B, N, K*C)


class VideoMAEDecoder(nn.Module):
    """Blocks of width 384, a norm, and a head to 2*16*16*3 = 1536 pixel values."""

    def __init__(self, cfg: VideoMAEConfig):
        super().__init__()
        out = cfg.tubelet_size * cfg.patch_size**2 * cfg.in_chans
        self.blocks = build_blocks(
            cfg.decoder_depth, cfg.decoder_dim, cfg.decoder_heads, mlp_ratio=cfg.mlp_ratio, bias="qv",
            eps=cfg.layer_norm_eps,
        )
        self.norm = nn.LayerNorm(cfg.decoder_dim, eps=cfg.layer_norm_eps)
        self.head = nn.Linear(cfg.decoder_dim, out)

    def forward(self, x: torch.Tensor, n_predict: int) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)  # (B, N, Dd)
        return self.head(self.norm(x[:, -n_predict:]))  # (B, N, Dd) -> (B, n_predict, K*C)


class VideoMAE(nn.Module):
    def __init__(self, cfg: VideoMAEConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = VideoEncoder(cfg, norm=True)
        self.encoder_to_decoder = nn.Linear(cfg.dim, cfg.decoder_dim, bias=False)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.decoder_dim))
        self.register_buffer("decoder_pos_embed", video_pos_table(cfg, cfg.decoder_dim), persistent=False)
        self.decoder = VideoMAEDecoder(cfg)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.apply(init_weights)
        self.encoder.reset_encoder()
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.encoder.set_grad_checkpointing(enable)

    def _check_mask(self, mask: torch.Tensor, batch: int) -> int:
        expected = (batch, self.cfg.num_tokens)
        if mask.dtype != torch.bool or tuple(mask.shape) != expected:
            raise ValueError(
                f"expected a bool mask of shape {expected} (True = masked), found {mask.dtype} {tuple(mask.shape)}")
        counts = mask.sum(dim=1)
        if (counts != counts[0]).any():
            raise ValueError(f"every sample must mask the same number of tokens, found counts {counts.tolist()}")
        return int(counts[0])

    def forward_encoder(self, video: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W), mask (B, N) -> (B, N_vis, D): only the visible tokens go in."""
        x = self.encoder.embed(video, mask)  # (B, N_vis, D): the hidden tubelets are never even embedded
        return self.encoder.forward_blocks(x)

    def forward_decoder(self, latent: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, N_vis, D) -> (B, N_mask, K*C): predictions for the hidden tokens, in index order."""
        b = latent.shape[0]
        x = self.encoder_to_decoder(latent)  # (B, N_vis, D) -> (B, N_vis, Dd)
        pos = self.decoder_pos_embed.to(x.dtype).expand(b, -1, -1)  # (B, N, Dd)
        pos_vis = pos[~mask].reshape(b, -1, x.shape[-1])  # (B, N_vis, Dd)
        pos_mask = pos[mask].reshape(b, -1, x.shape[-1])  # (B, N_mask, Dd)
        x = torch.cat([x + pos_vis, self.mask_token + pos_mask], dim=1)  # -> (B, N, Dd): visible first
        return self.decoder(x, pos_mask.shape[1])

    def forward_loss(self, video: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean squared error over the hidden tubelets only (the visible ones are given)."""
        with torch.no_grad():
            target = reconstruction_target(video, self.cfg)  # (B, N, K*C)
            target = target[mask].reshape(pred.shape)  # -> (B, N_mask, K*C)
        return F.mse_loss(pred, target)

    def forward(self, video: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video (B, C, T, H, W) ImageNet-normalised; mask bool (B, N), True = hidden.
        Returns (loss, pred), pred (B, N_mask, pt*ph*pw*C) in the target's units."""
        self._check_mask(mask, video.shape[0])
        pred = self.forward_decoder(self.forward_encoder(video, mask), mask)
        return self.forward_loss(video, pred, mask), pred

    # -- checkpoints (videomae/checkpoint.py) ---------------------------------------
    @classmethod
    def from_pretrained(
        cls, path, heads: int | None = None, decoder_heads: int | None = None, **overrides
    ) -> "VideoMAE":
        """An HF `VideoMAEForPreTraining` directory, an official pretraining `.pth`,
        or one of our files. Official files do not store the head counts: they
        come from the released models of the same widths
        (`weights.RELEASED_HEADS`), or from `heads` / `decoder_heads` when
        given. `overrides` set other config fields (e.g. num_frames). Raises
        `weights.CheckpointError` for anything it cannot load. The names
        and the config come from `videomae.checkpoint.convert_videomae`."""
        state, config = read_checkpoint(path, VIDEOMAE.formats)
        state, fields = convert_videomae(state, config, path, heads=heads, decoder_heads=decoder_heads, **overrides)
        model = cls(VideoMAEConfig(**fields))
        load_state(model, state, source=str(path))
        return model

    def save_pretrained(self, out_dir) -> None:
        """A directory `transformers.VideoMAEForPreTraining.from_pretrained` loads."""
        save_hf(self, out_dir)


def videomae_tiny(**kw) -> VideoMAE:
    """A lesson-sized VideoMAE (8x64x64 clips, 2x8x8 tubelets, D 192 x 4 blocks; decoder 96 x 2): trains on a laptop."""
    return VideoMAE(VideoMAEConfig(**{
        "image_size": 64, "patch_size": 8, "num_frames": 8, "dim": 192, "depth": 4, "heads": 3,
        "decoder_dim": 96, "decoder_depth": 2, "decoder_heads": 3, **kw,
    }))


def videomae_base(**kw) -> VideoMAE:
    """VideoMAE ViT-B: 16x224, encoder 768 x 12, decoder 384 x 4 (the released pretraining model)."""
    return VideoMAE(VideoMAEConfig(**kw))
