"""The Vision Transformer classifier (course notes, sections I.1-I.4; Dosovitskiy et al. 2021).

    image (B, 3, 224, 224)
      -> 196 patch tokens of D            PatchEmbed                 (I.1, I.2)
      -> [cls] + tokens, + positions      cls_token, pos_embed       (I.2)
      -> depth x Block                    vit.blocks                 (I.3)
      -> LayerNorm, take [cls] (or mean)  -> head -> (B, classes)    (I.4)

The encoder exposes its steps as methods (`embed_patches`, `prepend_cls`,
`forward_blocks`) so the MAE can call them on the visible patches only instead
of reaching into the model's internals.
"""
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from weights import load_state, read_checkpoint

from .blocks import build_blocks, init_patch_proj, init_weights
from .checkpoint import IMAGE_VIT, convert_vit
from .config import ViTConfig
from .patches import PatchEmbed
from .pos_embed import sincos_2d


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        if cfg.image_size % cfg.patch_size:
            raise ValueError(f"image_size {cfg.image_size} is not a multiple of patch_size {cfg.patch_size}")
        self.cfg = cfg
        num_patches = cfg.grid[0] * cfg.grid[1]
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, cfg.dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        if cfg.pos_embed == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, 1 + num_patches, cfg.dim))  # row 0 = cls
        else:
            self.register_buffer("pos_embed", sincos_2d(cfg.dim, cfg.grid, cls_token=True), persistent=False)
        self.blocks = build_blocks(
            cfg.depth, cfg.dim, cfg.heads, cfg.drop_path, mlp_ratio=cfg.mlp_ratio,
            bias="qkv" if cfg.qkv_bias else "none", eps=cfg.layer_norm_eps,
        )
        # cls pooling normalises every token then takes [cls]; mean pooling
        # averages the raw tokens then normalises the average (timm's fc_norm).
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps) if cfg.pool == "cls" else nn.Identity()
        self.fc_norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps) if cfg.pool == "mean" else nn.Identity()
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(cfg.dim, cfg.num_classes) if cfg.num_classes else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.apply(init_weights)
        init_patch_proj(self.patch_embed.proj)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        if isinstance(self.pos_embed, nn.Parameter):
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    # -- the encoder's steps, called one by one by the MAE --------------------
    def embed_patches(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, D) patch tokens with their positions added (no cls)."""
        expected = (self.cfg.in_chans, self.cfg.image_size, self.cfg.image_size)
        if tuple(images.shape[1:]) != expected:
            raise ValueError(
                f"expected images of shape (B, {', '.join(map(str, expected))}), found {tuple(images.shape)}")
        return self.patch_embed(images) + self.pos_embed[:, 1:]  # (B, N, D)

    def prepend_cls(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, n, D) -> (B, 1+n, D): the cls token (with its position) goes first."""
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)  # (B, 1, D)
        return torch.cat([cls, tokens], dim=1)

    grad_checkpointing = False  # set_grad_checkpointing turns it on

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute each block's activations in the backward pass instead of
        storing them: far less activation memory for about a third more compute.
        Only active while training with autograd on."""
        self.grad_checkpointing = enable

    def forward_blocks(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n, D) -> (B, n, D): all blocks, then the final norm."""
        for block in self.blocks:
            if self.grad_checkpointing and self.training and torch.is_grad_enabled():
                x = checkpoint(block, x, use_reentrant=False)  # keeps only x; the block runs again in backward
            else:
                x = block(x)
        return self.norm(x)

    # -- classification --------------------------------------------------------
    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_blocks(self.prepend_cls(self.embed_patches(images)))  # (B, 1+N, D)

    def forward_head(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, 0] if self.cfg.pool == "cls" else x[:, 1:].mean(dim=1)  # (B, 1+N, D) -> (B, D)
        return self.head(self.head_drop(self.fc_norm(x)))  # (B, D) -> (B, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))

    @torch.no_grad()
    def attention_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """One (B, heads, 1+N, 1+N) map per block, from the manual attention path."""
        x, maps = self.prepend_cls(self.embed_patches(images)), []
        for block in self.blocks:
            maps.append(block.attention_map(x))  # the weights this block uses on x: (B, heads, 1+N, 1+N)
            x = block(x)
        return maps

    # -- checkpoints -------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path, num_classes: int | None = None, image_size: int | None = None,
                        heads: int | None = None, **overrides) -> "ViT":
        """Load an HF `ViTForImageClassification` / `ViTModel` / `ViTMAE*` directory,
        a timm-format state dict (the organizers' `vit_small_patch16_224`), an
        official MAE `.pth`, or one of our files. `num_classes` other than the
        file's replaces the head; `image_size` other than the file's resizes the
        learned position table (bicubic, cls row kept). `heads`: the head count,
        for files that do not store it (timm and official `.pth`) and whose width
        is not a released model's (`weights.RELEASED_HEADS`). `overrides`
        set other config fields (e.g. drop_path=0.1). Raises
        `weights.CheckpointError` for anything that is not a ViT checkpoint.
        The names and the config come from `vit.checkpoint.convert_vit`."""
        state, config = read_checkpoint(path, IMAGE_VIT.formats)
        state, fields = convert_vit(state, config, path, heads=heads, num_classes=num_classes,
                                    image_size=image_size, **overrides)
        model = cls(ViTConfig(**fields))
        load_state(model, state, source=str(path), fresh=("head.", "fc_norm."))  # a new head, MAE's fresh fc_norm
        return model


def vit_tiny(**kw) -> ViT:
    """ViT-Ti/16: D 192, 12 blocks, 3 heads (5.7M params with a 1000-class head)."""
    return ViT(ViTConfig(**{"dim": 192, "depth": 12, "heads": 3, **kw}))


def vit_small(**kw) -> ViT:
    """ViT-S/16: D 384, 12 blocks, 6 heads (22.05M params): the organizers' baseline."""
    return ViT(ViTConfig(**{"dim": 384, "depth": 12, "heads": 6, **kw}))


def vit_base(**kw) -> ViT:
    """ViT-B/16: D 768, 12 blocks, 12 heads (86.57M params)."""
    return ViT(ViTConfig(**{"dim": 768, "depth": 12, "heads": 12, **kw}))
