"""A few minutes of VideoMAE pretraining on CPU: the demo's stand-in for the Kinetics-400 weights.

The competition starts from `MCG-NJU/videomae-base-finetuned-kinetics`: a ViT-B
that was first pretrained by masked reconstruction (90% tube masking, seed
III.2), then fine-tuned on K400. The demo has no network and two CPU cores, so
it plays the same story at toy scale: a tiny VideoMAE reconstructs its
unlabelled training clips with 90% of every frame hidden (the same hidden
positions in every frame: tube masking), and its encoder becomes the
`--weights` of the fine-tuning run, in the same HF folder format a real
checkpoint has. Labels are never used here.
"""
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from videomae import tube_mask, videomae_tiny

from finetune.data.dataset import VideoClipDataset
from finetune.data.layout import list_train_clips
from finetune.data.transforms import IMAGENET_MEAN, IMAGENET_STD, AugConfig, normalize


def pretrain_toy(data, out, epochs: int = 8, num_frames: int = 8, image_size: int = 48, batch_size: int = 8,
                 mask_ratio: float = 0.9, lr: float = 1.5e-3, seed: int = 0, num_workers: int = 0,
                 log=print, **model_kw) -> Path:
    """Pretrain `videomae_tiny` on DATA's training clips (no labels) and save it to OUT (HF folder)."""
    clips, _ = list_train_clips(data)
    torch.manual_seed(seed)
    model = videomae_tiny(num_frames=num_frames, image_size=image_size, **model_kw)
    ds = VideoClipDataset(clips, num_frames=num_frames, size=image_size, train=True, short_side=image_size,
                          aug=AugConfig(scale=(0.6, 1.0), flip=0.0), seed=seed)  # no flip: direction is a class
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=num_workers, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.05)  # official betas
    total = epochs * len(loader)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    start = time.perf_counter()
    for epoch in range(epochs):
        ds.set_epoch(epoch)
        losses = []
        for videos, _ in loader:
            mask = tube_mask(videos.shape[0], model.cfg.grid, mask_ratio, generator=gen)  # (B, N), True = hidden
            loss, _ = model(normalize(videos, IMAGENET_MEAN, IMAGENET_STD), mask)  # uint8 clips -> what finetune feeds
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        log(f"  pretrain epoch {epoch + 1}/{epochs}: reconstruction loss {sum(losses) / len(losses):.4f} "
            f"({time.perf_counter() - start:.0f} s)")
    out = Path(out)
    model.save_pretrained(out)
    return out
