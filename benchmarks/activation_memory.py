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

    python -m benchmarks.activation_memory [--frames 16 8] [--batch 8]
"""
from __future__ import annotations

import argparse
import time
from contextlib import nullcontext

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from finetune.training.memory import per_clip_bytes
from videomae import videovit_base

GIB = 2**30
GPUS = {"T4 / P100 (16 GB)": 16, "A10 / RTX 4090 (24 GB)": 24, "A100 (40 GB)": 40, "A100 / H100 (80 GB)": 80}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.activation_memory", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 8])
    ap.add_argument("--batch", type=int, default=8, help="clips per GPU per micro-batch (the presets' 8)")
    ap.add_argument("--dtype", default="bf16", choices=["bf16", "fp16", "fp32"])
    args = ap.parse_args()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[args.dtype]
    torch.manual_seed(0)
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
