"""The pieces of `python -m videomae.why`: toy data, the two classifiers, pretraining, fine-tuning.

Every run here is small, seeded and counted in STEPS (never seconds), so two runs
with the same seed print the same numbers on one thread. The data are the
synthetic action clips of `videomae.synthetic`: their class is decided by motion
only, so a model that looks at one frame at a time cannot tell `move_left` from
`move_right`.

    per-frame ViT  `PerFrameViT`: a `vit.model.ViT` on every frame, logits averaged over
                   time (the image baseline of Dosovitskiy et al. 2021, applied to video)
    video ViT      `videomae.classifier.VideoViT`: tubelets + joint space-time attention
                   (Tong et al. 2022, section 3.3)
    VideoMAE       `videomae.pretrain.VideoMAE` pretrained on unlabelled clips, its
                   encoder copied into the video ViT, then fine-tuned (section 4.1)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from vit import imagenet
from vit.model import ViT, ViTConfig

from . import synthetic
from .classifier import VideoViT
from .config import VideoMAEConfig
from .masking import MASKS
from .pretrain import VideoMAE


@dataclass
class Setup:
    """Sizes and step counts of every run (the lesson's defaults; --quick shrinks them)."""

    frames: int = 8  # 8 frames / tubelet depth 2 = 4 time slices
    size: int = 32  # 32x32 frames / 8x8 patches = a 4x4 grid: 64 tokens per clip
    patch: int = 8
    dim: int = 64  # tiny widths: one CPU thread runs a step in tens of milliseconds
    depth: int = 3
    heads: int = 4
    decoder_dim: int = 32  # the light decoder: half the encoder width, one block
    decoder_depth: int = 1
    # move_left vs move_right: each is the other played backwards, and one frame of either
    # looks the same, so a model blind to frame order is at chance (50%) by construction.
    # (All ten classes are time-reversal pairs too, but a tiny ViT does not learn the ten
    # from scratch in a CPU minute; see docs/05_why_videomae.md.)
    classes: tuple[int, ...] = (synthetic.ACTIONS.index("move_left"), synthetic.ACTIONS.index("move_right"))
    unlabelled: int = 400  # clips for pretraining (their labels are never read)
    # 60 labelled clips per class: where the video ViT from scratch is between chance and solved
    # (about 60% here), so there is room to show what pretraining adds. With 25 every row is at
    # chance; with 100 the scratch model solves it too (the sweep in docs/05_why_videomae.md).
    labels: int = 60
    labels_many: int = 300  # per class, for the from-scratch per-frame vs video comparison
    test: int = 150  # held-out clips per class: 300 clips, so one clip is 0.3 points
    batch: int = 16
    pretrain_steps: int = 2000  # 1000 gave the same ordering but a smaller, less steady gain (docs/05)
    pretrain_lr: float = 1.5e-3
    finetune_steps: int = 1200
    # high and held long: from scratch a tiny ViT sits on a plateau before it finds the motion
    finetune_lr: float = 3e-3
    # 1.0: the plain trunc-normal(0.02) head for every row. The official fine-tuning scale
    # 0.001 also starves a from-scratch encoder of gradient (the head multiplies it): with
    # it the scratch video ViT stayed at chance for 1200 steps on one seed of two.
    head_init_scale: float = 1.0
    norm_target: bool = False  # raw pixels: a flat toy background normalised per patch is only noise

    def video_config(self, **kw) -> VideoMAEConfig:
        return VideoMAEConfig(
            image_size=self.size, patch_size=self.patch, num_frames=self.frames, dim=self.dim, depth=self.depth,
            heads=self.heads, decoder_dim=self.decoder_dim, decoder_depth=self.decoder_depth, decoder_heads=2,
            num_classes=len(self.classes), head_init_scale=self.head_init_scale, **kw)


# -- data ----------------------------------------------------------------------------


def make_clips(setup: Setup, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`per_class` clips of each class, shuffled: video (n, 3, T, H, W) ImageNet-normalised,
    labels (n,) in 0..len(classes)-1. Generated once per run and kept in memory."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(setup.classes)), per_class)
    rng.shuffle(labels)
    video = synthetic.render([setup.classes[a] for a in labels], setup.frames, setup.size, rng)  # (n, 3, T, H, W)
    return imagenet.normalize(video).contiguous(), torch.from_numpy(labels).long()


def make_data(setup: Setup, seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The four disjoint sets of a run, each from its own seed: unlabelled, few, many, test."""
    n_classes = len(setup.classes)
    return {
        "unlabelled": make_clips(setup, -(-setup.unlabelled // n_classes), seed * 10 + 1),
        "few": make_clips(setup, setup.labels, seed * 10 + 2),
        "many": make_clips(setup, setup.labels_many, seed * 10 + 3),
        "test": make_clips(setup, setup.test, seed * 10 + 4),
    }


# -- models --------------------------------------------------------------------------


class PerFrameViT(nn.Module):
    """An image ViT applied to each frame on its own; the T logits are averaged.

    No token of one frame ever meets a token of another: shuffling the frames
    leaves the output unchanged, so the order of events is invisible to it."""

    def __init__(self, setup: Setup):
        super().__init__()
        self.vit = ViT(ViTConfig(image_size=setup.size, patch_size=setup.patch, num_classes=len(setup.classes),
                                 dim=setup.dim, depth=setup.depth, heads=setup.heads, pool="mean", pos_embed="sincos"))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        b = video.shape[0]
        frames = rearrange(video, "b c t h w -> (b t) c h w")  # (B, C, T, H, W) -> (B*T, C, H, W)
        logits = rearrange(self.vit(frames), "(b t) k -> b t k", b=b)  # (B*T, K) -> (B, T, K)
        return logits.mean(dim=1)  # (B, T, K) -> (B, K): an average has no notion of order


def build(kind: str, setup: Setup, seed: int) -> nn.Module:
    """A fresh 'frames' (PerFrameViT) or 'video' (VideoViT) classifier, initialised from `seed`."""
    torch.manual_seed(seed)
    return PerFrameViT(setup) if kind == "frames" else VideoViT(setup.video_config())


def copy_encoder(mae: VideoMAE, model: VideoViT) -> VideoViT:
    """The pretrained tubelet embedding and blocks go into the classifier; its fc_norm
    and head stay fresh (official fine-tuning drops the pretraining `encoder.norm`)."""
    model.patch_embed.load_state_dict(mae.encoder.patch_embed.state_dict())
    model.blocks.load_state_dict(mae.encoder.blocks.state_dict())
    return model


# -- training ------------------------------------------------------------------------


def _lr(base: float, step: int, steps: int) -> float:
    """Linear warmup over the first 10% of the steps, then constant until the last 20%,
    which decay linearly to 10% of `base`. A long constant stretch matters here: a tiny
    ViT from scratch sits on a plateau before it finds the motion, and a cosine that
    decays early can freeze it there."""
    warm, decay = max(1, steps // 10), int(steps * 0.8)
    if step < warm:
        return base * (step + 1) / warm
    if step < decay:
        return base
    return base * (1 - 0.9 * (step - decay) / max(1, steps - decay))


def pretrain(setup: Setup, video: torch.Tensor, masking: str, ratio: float, seed: int) -> tuple[VideoMAE, list[float]]:
    """VideoMAE on the unlabelled clips for `setup.pretrain_steps` steps; returns the model
    and its loss at every step. Raw [0, 1] pixels as the target (norm_target=False):
    the toy backgrounds are nearly flat, and a flat patch normalised per patch is
    pure sensor noise (the same choice as `python -m videomae`)."""
    torch.manual_seed(seed)
    mae = VideoMAE(setup.video_config(norm_target=setup.norm_target))
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(mae.parameters(), lr=setup.pretrain_lr, betas=(0.9, 0.95), weight_decay=0.05)
    losses = []
    for step in range(setup.pretrain_steps):
        for group in opt.param_groups:
            group["lr"] = _lr(setup.pretrain_lr, step, setup.pretrain_steps)
        idx = torch.randint(0, len(video), (setup.batch,), generator=g)
        mask = MASKS[masking](setup.batch, mae.cfg.grid, ratio, generator=g)  # (B, N) True = hidden
        loss, _ = mae(video[idx], mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return mae, losses


def finetune(model: nn.Module, setup: Setup, train: tuple[torch.Tensor, torch.Tensor], seed: int,
             test: tuple[torch.Tensor, torch.Tensor] | None = None) -> tuple[list[float], float | None]:
    """Cross-entropy on the labelled clips for `setup.finetune_steps` steps (AdamW,
    warmup, constant, short decay: `_lr`); returns the loss at every step and, with
    `test`, the test accuracy after a quarter of the steps (how fast it learns; the
    evaluation draws nothing random, so the run is the same with or without it)."""
    video, labels = train
    early, quarter = None, setup.finetune_steps // 4
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=setup.finetune_lr, weight_decay=0.05)
    model.train()
    losses = []
    for step in range(setup.finetune_steps):
        for group in opt.param_groups:
            group["lr"] = _lr(setup.finetune_lr, step, setup.finetune_steps)
        idx = torch.randint(0, len(video), (setup.batch,), generator=g)
        loss = F.cross_entropy(model(video[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if test is not None and step + 1 == quarter:
            early = accuracy(model, test)
            model.train()
    return losses, early


@torch.no_grad()
def accuracy(model: nn.Module, test: tuple[torch.Tensor, torch.Tensor], batch: int = 64) -> float:
    """Top-1 accuracy on the held-out clips."""
    video, labels = test
    model.eval()
    preds = torch.cat([model(video[i:i + batch]).argmax(dim=1) for i in range(0, len(video), batch)])
    return (preds == labels).float().mean().item()


@dataclass
class Row:
    """One line of the lesson's table."""

    model: str  # 'per-frame ViT' or 'video ViT'
    pretraining: str  # 'none' or 'VideoMAE'
    masking: str  # '-' or e.g. 'tube 90%'
    labels: int  # labelled clips per class
    steps: str  # 'pretrain+finetune' step counts
    pretrain_loss: float | None  # mean of the last 10% of the pretraining steps
    accuracy: float  # on the held-out clips
    seconds: float
    pretrain_curve: list[float] | None = None
    early_accuracy: float | None = None  # on the held-out clips after a quarter of the fine-tuning steps


def run_row(setup: Setup, data: dict, kind: str, labels: str, seed: int,
            masking: str | None = None, ratio: float = 0.9) -> Row:
    """One experiment: (optionally) pretrain, fine-tune on `data[labels]`, test."""
    start = time.perf_counter()
    model, curve, tail, steps = build(kind, setup, seed), None, None, f"{setup.finetune_steps}"
    if masking:
        mae, curve = pretrain(setup, data["unlabelled"][0], masking, ratio, seed)
        model = copy_encoder(mae, model)
        tail = float(np.mean(curve[-max(1, len(curve) // 10):]))
        steps = f"{setup.pretrain_steps}+{setup.finetune_steps}"
    _, early = finetune(model, setup, data[labels], seed + 1, data["test"])
    acc = accuracy(model, data["test"])
    n_labels = setup.labels if labels == "few" else setup.labels_many
    return Row("per-frame ViT" if kind == "frames" else "video ViT", "VideoMAE" if masking else "none",
               f"{masking} {ratio:.0%}" if masking else "-", n_labels, steps, tail, acc,
               time.perf_counter() - start, curve, early)
