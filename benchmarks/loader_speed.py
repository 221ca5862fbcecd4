"""Clips per second of the training data pipeline, and the bytes it ships per clip.

Measures what a training step waits for: decode the sampled JPEG frames,
sample 16 indices, one consistent crop/flip per clip, collate a batch, with 0,
1 and 2 DataLoader workers, on the toy data in the competition layout (320x240
JPEG frames, 5-20 per clip, like HMDB51). VideoMAE-B 16x224 trains at about
11 clips/s on a T4 (~33 when only evaluating) and 10-25x that on an A100 / H100
(estimates from its ~360 GFLOP per clip forward and an assumed sustained
throughput, docs/04_project71.md), so the loader should exceed 40 clips/s per
T4 with a few cores, and needs many more on the big GPUs.

Bytes per clip: workers ship uint8 clips (normalising happens on the GPU), and
for evaluation the region the TTA crops span (the GPU cuts the views), against
float32 clips and six float32 views before.

    python -m benchmarks.loader_speed [--data DATA] [--clips 160] [--batch 8]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import torch
from torch.utils.data import DataLoader

from finetune.data.dataset import VideoClipDataset
from finetune.data.layout import list_train_clips
from finetune.toy import write_toy_dataset


def clips_per_second(ds: VideoClipDataset, workers: int, batch: int, clips: int) -> tuple[float, float]:
    """(clips per wall-clock second, main-process CPU milliseconds per clip)."""
    # persistent workers: when `clips` spans more than one pass over the toy data, a
    # restarted iterator would re-spawn the workers inside the timed loop (a training
    # epoch over HMDB51's 6254 clips pays that start-up once, not every 80 clips)
    loader = DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers, drop_last=True,
                        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(0))
    it = iter(loader)
    next(it)                                             # worker start-up and first decode not timed
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while n < clips:
        try:
            x, _ = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        n += x.shape[0]
    return n / (time.perf_counter() - start), (time.process_time() - cpu) * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.loader_speed", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help="a dataset in the competition layout (default: write toy data to a temp dir)")
    ap.add_argument("--clips", type=int, default=160, help="clips timed per setting")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or write_toy_dataset(f"{tmp}/data", classes=10, clips_per_class=8, test_clips=0, seed=0)
        clips, _ = list_train_clips(data)
        ds = VideoClipDataset(clips, num_frames=16, size=224, train=True, seed=0)
        print(f"{len(clips)} clips, 16 frames, 224x224, batch {args.batch}, cpus {os.cpu_count()}, "
              f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
        x, _ = ds[0]
        region, _ = VideoClipDataset(clips, num_frames=16, size=224, train=False, views=6, seed=0)[0]
        mib = 2**20
        shipped, as_float = x.numel() * x.element_size(), x.numel() * 4
        print(f"bytes per training clip shipped: {shipped / mib:.1f} MiB ({x.dtype}), "
              f"{as_float / mib:.1f} MiB as float32 before ({as_float / shipped:.0f}x)")
        six = 6 * x.numel() * 4
        print(f"bytes per 6-view TTA clip shipped: {region.numel() / mib:.1f} MiB "
              f"(uint8 region {tuple(region.shape)}), "
              f"{six / mib:.1f} MiB as six float32 views before ({six / region.numel():.0f}x)")
        for w in args.workers:
            rate, cpu_ms = clips_per_second(ds, w, args.batch, args.clips)
            print(f"workers={w}: {rate:6.1f} clips/s")
        # Wall-clock rates depend on what else runs on the machine; CPU time per clip does much
        # less. One process, one thread: what one dedicated core needs per clip.
        torch.set_num_threads(1)
        _, cpu_ms = clips_per_second(ds, 0, args.batch, args.clips)
        print(f"CPU time per clip (1 thread, decode+sample+augment+collate): {cpu_ms:.1f} ms "
              f"-> about {2000 / cpu_ms:.0f} clips/s on 2 dedicated cores")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
