"""The video ViT encoder shared by VideoMAE pretraining and the VideoViT classifier
(course notes, section III.3; Tong et al. 2022, section 3.3: "vanilla ViT with joint
space-time attention").

    video (B, 3, T, H, W)
      -> N = T/2 * H/16 * W/16 tubelet tokens of D     TubeletEmbed (III.1)
      -> + fixed sinusoid positions                    pos_embed (a buffer, never in a checkpoint)
      -> [keep the visible tokens only]                pretraining: ~10% of them (III.3)
      -> depth x Block (q/v bias, eps 1e-6)            vit.blocks, imported, not copied

Every token attends to every other across space AND time, so motion is learnt
by attention itself. In pretraining the encoder sees only the visible 10%: the
attention cost (quadratic in tokens) drops ~100x, which is why a 16-frame
ViT-B pretrains at all.
"""
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from vit.blocks import build_blocks, init_patch_proj, init_weights
from vit.pos_embed import sinusoid_1d

from .config import VideoMAEConfig
from .tubelets import TubeletEmbed, patchify


def video_pos_table(cfg: VideoMAEConfig, dim: int | None = None) -> torch.Tensor:
    """(1, N, dim) sinusoid table over the flattened (t, h, w) token index.

    With `cfg.pos_table_frames` (e.g. 16 for an 8-frame model) the table is built
    for that many frames and every k-th time slice is kept (k = 16/8 = 2: slices
    0, 2, 4, 6), so the 8-frame tokens get positions the 16-frame pretraining used.
    """
    dim = dim or cfg.dim
    t, h, w = cfg.grid
    frames = cfg.pos_table_frames or cfg.num_frames
    t_table = frames // cfg.tubelet_size
    table = sinusoid_1d(t_table * h * w, dim)  # (1, T_table*H'*W', D)
    step = t_table // t
    table = table.reshape(1, t_table, h * w, dim)[:, ::step]  # (1, T_table, H'W', D) -> (1, T', H'W', D)
    return table.reshape(1, t * h * w, dim)  # -> (1, N, D)


class VideoEncoder(nn.Module):
    """Tubelet embedding + fixed positions + blocks (+ a final norm when `norm=True`).

    Keys: `patch_embed.proj.*`, `blocks.{i}.*`, `norm.*` (the official names).
    """

    def __init__(self, cfg: VideoMAEConfig, norm: bool = True):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = TubeletEmbed(cfg.tubelet, cfg.in_chans, cfg.dim)
        self.register_buffer("pos_embed", video_pos_table(cfg), persistent=False)  # (1, N, D)
        self.blocks = build_blocks(
            cfg.depth, cfg.dim, cfg.heads, cfg.drop_path, mlp_ratio=cfg.mlp_ratio, bias="qv", eps=cfg.layer_norm_eps
        )
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps) if norm else nn.Identity()
        self.grad_checkpointing = False

    def reset_encoder(self) -> None:
        self.apply(init_weights)
        init_patch_proj(self.patch_embed.proj)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass instead of
        storing them: ~3x less activation memory for ~30% more compute (lets ViT-B
        16x224 train in 16 GB). Only active while training."""
        self.grad_checkpointing = enable

    def embed(self, video: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, N, D): tubelet tokens with positions added; with a
        mask (B, N), True = hidden, only the visible ones: (B, N_vis, D), index order."""
        cfg = self.cfg
        expected = (cfg.in_chans, cfg.num_frames, cfg.image_size, cfg.image_size)
        if video.ndim != 5 or tuple(video.shape[1:]) != expected:
            raise ValueError(
                f"expected video of shape (B, {', '.join(map(str, expected))}) laid out (B, C, T, H, W), "
                f"found {tuple(video.shape)}"
            )
        if mask is None:
            return self.patch_embed(video) + self.pos_embed.to(video.dtype)  # (B, N, D)
        b, keep = video.shape[0], ~mask
        tubelets = patchify(video, cfg.tubelet)  # (B, N, K): "einops cut", then one Linear on the kept ones
        tubelets = tubelets[keep].reshape(b, -1, tubelets.shape[-1])  # (B, N, K) -> (B, N_vis, K)
        pos = self.pos_embed.to(video.dtype).expand(b, -1, -1)[keep].reshape(b, -1, cfg.dim)  # (B, N_vis, D)
        return self.patch_embed.embed_tubelets(tubelets) + pos  # (B, N_vis, D)

    def forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n, D) -> (B, n, D): every block, then the final norm."""
        for block in self.blocks:
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)
            else:
                x = block(x)
        return self.norm(x)
