"""Training memory of VideoMAE ViT-B, counted on a CPU: bytes autograd saves per clip (finetune.training.memory).

For 16x224 (and 8x224) clips under 16-bit autocast (bf16 and fp16 save the same
bytes), with and without gradient checkpointing, and with the attention math
fallback (what a T4 running emulated bf16 gets: the N x N attention matrix is
kept for backward), then a table of estimated peak training memory per preset
batch and GPU memory size:

    peak ~ 16 B x params (fp32 weights, grads, AdamW's 2 moments)
         + per-step saved bytes (autocast's 16-bit weight copies)
         + batch x saved bytes per clip

It is a lower bound: the CUDA allocator's fragmentation and the kernels'
workspaces come on top (allow ~10-20%).

`--backbones s,b,l,h,g` does the same for every released VideoMAE backbone
(finetune/backbones.py) at 16x224 with its recipe's micro-batch: saved bytes
are counted on models of 1 and 2 blocks and extended to the real depth (every
block saves the same bytes), so ViT-g costs seconds, not its 1B parameters;
then which GPU each fits, and the hours `exp4` would take on 2x T4, an A100 and
an H100 at an ASSUMED sustained throughput per GPU (the `SUSTAINED` table below:
estimates, not measurements).

    python -m benchmarks.activation_memory [--frames 16 8] [--batch 8]
    python -m benchmarks.activation_memory --backbones s,b,l,h,g
"""
from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from finetune.backbones import BACKBONES
from finetune.config import get_preset
from finetune.training.memory import per_clip_bytes
from videomae import VideoMAEConfig, VideoViT, videovit_base
from videomae.cost import classifier_multiply_adds

GIB = 2**30
GPUS = {"T4 / P100 (16 GB)": 16, "A10 / RTX 4090 (24 GB)": 24, "A100 (40 GB)": 40, "A100 / H100 (80 GB)": 80}
# ASSUMED sustained 16-bit TFLOP/s of a whole training step, per GPU (not measured here: no GPU):
# T4 12 (its data sheet says 65 with tensor cores, but the card is power-limited to 70 W: docs/04 explains
# the 12); A100 120 (38% of its 312 dense bf16); H100 SXM 300 (30% of 989). One multiply-add = 2 FLOPs.
SUSTAINED = {"2x T4": 2 * 12, "A100": 120, "H100": 300}
HMDB51_TRAIN, HMDB51_TEST = 5630, 510  # the competition's clips: 90% of 6,254 train clips, and the test set
SIZES = {"s": "vit-s", "b": "vit-b", "l": "vit-l", "h": "vit-h", "g": "vit-g"}


def block_extrapolated(cfg: VideoMAEConfig, dtype, checkpointing: bool) -> tuple[int, int, int]:
    """(bytes saved per clip, per step, parameters) of `cfg` at its full depth, from models of 1 and 2 blocks."""
    counts = []
    for depth in (1, 2):
        model = VideoViT(VideoMAEConfig(**{**cfg.__dict__, "depth": depth}))
        model.set_grad_checkpointing(checkpointing)
        clip, step = per_clip_bytes(model, (3, cfg.num_frames, cfg.image_size, cfg.image_size), dtype)
        counts.append((clip, step, sum(p.numel() for p in model.parameters())))
    (c1, s1, p1), (c2, s2, p2) = counts
    extra = cfg.depth - 1
    return c1 + extra * (c2 - c1), s1 + extra * (s2 - s1), p1 + extra * (p2 - p1)


def backbone_table(names: list[str], dtype, label: str) -> None:
    """Per backbone at 16x224: bytes per clip, peak at its recipe's micro-batch, GPUs it fits, hours for exp4."""
    exp4 = get_preset("exp4")
    print(f"| backbone | params | saved / clip ({label}) | micro-batch x accum | peak | " + " | ".join(GPUS)
          + " | exp4 hours: " + " / ".join(SUSTAINED) + " |")
    print("| --- | ---: | ---: | :---: | ---: |" + " :---: |" * len(GPUS) + " ---: |")
    for short in names:
        row = BACKBONES[SIZES[short]]
        cfg = VideoMAEConfig(dim=row.width, depth=row.depth, patch_size=row.patch, heads=row.heads,
                             mlp_ratio=row.mlp / row.width, num_classes=51)
        start = time.perf_counter()
        clip, step, params = block_extrapolated(cfg, dtype, row.grad_checkpointing)
        peak = 16 * params + step + row.batch_size * clip
        if row.grad_checkpointing:  # the backward recomputes one block at a time: its activations come on top
            peak += row.batch_size * block_extrapolated(cfg, dtype, False)[0] / cfg.depth
        fits = ["fits" if peak * 1.15 < gb * 1e9 else "no" for gb in GPUS.values()]
        # a step: forward + backward (2x forward) + a recompute of the forward with checkpointing; every epoch
        # validates, and the final pass and the test set take 6 views each (tta6)
        macs = classifier_multiply_adds(cfg)
        step_factor = 4 if row.grad_checkpointing else 3
        flop = 2 * macs * (exp4.epochs * (HMDB51_TRAIN * step_factor + HMDB51_TRAIN / 9)
                           + 6 * (HMDB51_TRAIN / 9 + HMDB51_TEST))
        hours = " / ".join(f"{flop / (tflops * 1e12) / 3600:.2f}" for tflops in SUSTAINED.values())
        ckpt = " + checkpointing" if row.grad_checkpointing else ""
        print(f"| {row.title} | {params / 1e6:.0f}M | {clip / 2**20:,.0f} MiB | {row.batch_size} x {row.accum_steps}"
              f"{ckpt} | {peak / GIB:.1f} GiB | " + " | ".join(fits) + f" | {hours} |", flush=True)
        print(f"<!-- {row.name}: {2 * macs / 1e9:.0f} GFLOP per clip forward; counted in "
              f"{time.perf_counter() - start:.0f} s -->", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.activation_memory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 8])
    ap.add_argument("--batch", type=int, default=8, help="clips per GPU per micro-batch (the presets' 8)")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    ap.add_argument("--backbones", help="comma-separated s,b,l,h,g: the released backbones' table instead")
    args = ap.parse_args()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[args.dtype]
    torch.manual_seed(0)
    if args.backbones:
        names = [n.strip() for n in args.backbones.split(",")]
        unknown = [n for n in names if n not in SIZES]
        if unknown:
            ap.error(f"--backbones: expected some of {','.join(SIZES)}, found {','.join(unknown)}")
        backbone_table(names, dtype, args.dtype)
        return
    rows = []
    for frames in args.frames:
        model = videovit_base(num_classes=51, num_frames=frames)
        params = sum(p.numel() for p in model.parameters())
        for label, ckpt, backend in [("no checkpointing", False, None), ("gradient checkpointing", True, None),
                                     ("no checkpointing, math attention", False, SDPBackend.MATH)]:
            if backend is not None and frames != args.frames[0]:
                continue
            model.set_grad_checkpointing(ckpt)
            start = time.perf_counter()
            with sdpa_kernel(backend) if backend is not None else nullcontext():
                clip, step = per_clip_bytes(model, (3, frames, 224, 224), dtype)
            peak = 16 * params + step + args.batch * clip
            rows.append((frames, label, clip, step, peak))
            print(f"{frames:2d}x224 {args.dtype} {label:34s}: {clip / 2**20:8.1f} MiB saved per clip, "
                  f"{step / 2**20:6.1f} MiB per step; batch {args.batch}: peak >= {peak / GIB:5.1f} GiB "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    print(f"\n| clips | {args.dtype} | per clip | peak at batch {args.batch} | " + " | ".join(GPUS) + " |")
    print("| --- | --- | ---: | ---: |" + " :---: |" * len(GPUS))
    for frames, label, clip, _step, peak in rows:
        fits = ["fits" if peak * 1.15 < gb * 1e9 else "no" for gb in GPUS.values()]
        print(f"| {frames}x224 | {label} | {clip / 2**30:.2f} GiB | {peak / GIB:.1f} GiB | " + " | ".join(fits) + " |")


if __name__ == "__main__":
    main()
