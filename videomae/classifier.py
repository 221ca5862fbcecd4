"""VideoViT: the VideoMAE encoder as an action classifier (course notes, sections
III.3 and IV.3; Tong et al. 2022, section 4.1; the official `modeling_finetune.py`).

    video (B, 3, T, H, W)
      -> all N tubelet tokens through the encoder   (B, N, D)   no masking now
      -> mean over all tokens                       (B, D)      no cls token in VideoMAE
      -> fc_norm -> dropout -> head                 (B, num_classes)

(`pool="first"`, for the rare checkpoint fine-tuned with `--use_cls`: the
encoder's final norm, then the first token instead of the mean.)

Keys are the official fine-tuned ones: `patch_embed.proj.*`, `blocks.{i}.*`,
`fc_norm.*`, `head.*`, so a `torch.save(model.state_dict())` of ours IS an
official checkpoint. `num_frames` may be any multiple of the tubelet depth: the
fixed position table is rebuilt (or, with `pos_table_frames`, sampled from the
longer table the model was pretrained with).
"""
import torch
from torch import nn

from vit.blocks import init_weights
from weights import load_state, read_checkpoint

from .checkpoint import VIDEOMAE, convert_videomae, save_hf
from .config import VideoMAEConfig
from .encoder import VideoEncoder


class VideoViT(VideoEncoder):
    def __init__(self, cfg: VideoMAEConfig):
        mean = cfg.pool == "mean"
        super().__init__(cfg, norm=not mean)  # mean pooling: the norm comes after the pooling (fc_norm)
        self.fc_norm = nn.LayerNorm(cfg.dim, eps=cfg.layer_norm_eps) if mean else nn.Identity()
        self.head_drop = nn.Dropout(cfg.head_dropout)
        self.head = nn.Linear(cfg.dim, cfg.num_classes) if cfg.num_classes else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.apply(init_weights)
        self.reset_encoder()
        self.reset_head()

    def reset_head(self) -> None:
        """A fresh head: trunc-normal(0.02) scaled by `head_init_scale` (official: 0.001),
        so the first logits are ~0 and the first gradients do not wreck the encoder."""
        if isinstance(self.head, nn.Linear):
            nn.init.trunc_normal_(self.head.weight, std=0.02)
            nn.init.zeros_(self.head.bias)
            with torch.no_grad():
                self.head.weight.mul_(self.cfg.head_init_scale)

    def forward_features(self, video: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) -> (B, D): encoded tokens, mean-pooled, normalised."""
        x = self.forward_blocks(self.embed(video))  # (B, N, D)
        if self.cfg.pool == "first":
            return x[:, 0]  # (B, N, D) -> (B, D): the first token, after the encoder's norm
        return self.fc_norm(x.mean(dim=1))  # (B, N, D) -> (B, D)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.head(self.head_drop(self.forward_features(video)))  # (B, D) -> (B, num_classes)

    # -- checkpoints (videomae/checkpoint.py) ---------------------------------------
    @classmethod
    def from_pretrained(cls, path, num_classes: int | None = None, num_frames: int | None = None,
                        heads: int | None = None, **overrides) -> "VideoViT":
        """An HF `VideoMAEForVideoClassification` / `VideoMAEForPreTraining` /
        `VideoMAEModel` directory, an official fine-tuned or pretraining `.pth`, or
        one of our files. A pretraining file gives the encoder with a fresh
        `fc_norm` and head; `num_classes` other than the file's replaces the head;
        `num_frames` rebuilds the position table; `heads` is the head count, for
        official files (which do not store it) whose width is not a released
        model's (`weights.RELEASED_HEADS`); `overrides` set other config
        fields (drop_path=0.1, head_dropout=0.5, pos_table_frames=16, ...).
        Raises `weights.CheckpointError` for anything it cannot load. The
        names and the config come from `videomae.checkpoint.convert_videomae`."""
        state, config = read_checkpoint(path, VIDEOMAE.formats)
        state, fields = convert_videomae(state, config, path, classifier=True, num_classes=num_classes,
                                         num_frames=num_frames, heads=heads, **overrides)
        model = cls(VideoMAEConfig(**fields))
        load_state(model, state, source=str(path), fresh=("fc_norm.", "head."))  # new classes, or a pretraining file
        return model

    def save_pretrained(self, out_dir, labels: list[str] | None = None) -> None:
        """A directory `transformers.VideoMAEForVideoClassification.from_pretrained`
        loads to the same logits (and our `from_pretrained` to the same config);
        `labels`, the class names in head order, become its `id2label`."""
        save_hf(self, out_dir, labels)


def videovit_tiny(num_classes: int = 10, **kw) -> VideoViT:
    """Lesson-sized classifier matching `videomae_tiny` (8x64x64 clips, D 192 x 4 blocks)."""
    return VideoViT(VideoMAEConfig(**{
        "image_size": 64, "patch_size": 8, "num_frames": 8, "dim": 192, "depth": 4, "heads": 3,
        "num_classes": num_classes, **kw,
    }))


def videovit_base(num_classes: int = 400, num_frames: int = 16, **kw) -> VideoViT:
    """ViT-B video classifier, 16x224: 86,534,800 parameters with 400 classes."""
    return VideoViT(VideoMAEConfig(num_classes=num_classes, num_frames=num_frames, **kw))
