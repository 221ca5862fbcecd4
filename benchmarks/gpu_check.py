"""What one GPU really does with the competition's training run: one command, one table, one JSON file.

VideoMAE ViT-B 16x224, 51 classes, at the exp4 preset's batch (8 clips x 4
micro-batches per optimizer step, Mixup, drop path 0.1), with the precision
`precision=auto` picks (`finetune.training.engine.choose_precision`: bf16 from
compute capability 8.0, fp16 + loss scaling below). Every training number runs
the run's own step, `finetune.training.engine.train_epoch` (forward, backward,
unscale, the finiteness check, AdamW with layer decay), every evaluation
number `engine.predict_probs` with the exp4 preset's 6-view TTA (2 clips = 12
views per forward, `loaders.eval_loader`'s batch). Ours (`videomae.VideoViT`)
and transformers' `VideoMAEForVideoClassification` with the SAME weights (ours
-> `save_pretrained` -> their `from_pretrained`, `attn_implementation="sdpa"`),
same batch, precision and optimizer groups, run interleaved in one process
(ours, theirs, then theirs, ours, ...). Batches are made once on the device:
the data loader is measured on its own (last rows).

Rows (ours / transformers / ours-over-theirs; > 1 is better for clips/s and
TFLOP/s, < 1 for memory):

  attention kernel      the SDPA kernel the training step ran (torch.profiler: flash / efficient / cudnn /
                        math), against what `engine.sdpa_backend` predicts
  training clips/s      the median over --repeats calls of one optimizer step (32 clips) per side; the ratio
                        of the two medians, and in the note the median of the paired ratios (one per repeat:
                        a machine whose speed drifts disturbs it less). Ours trains with drop path 0.1 as
                        the preset does; transformers' VideoMAE has no stochastic depth
  eval clips/s          6-view TTA, clips (not views) per second
  peak memory           CUDA: torch.cuda.max_memory_allocated over an optimizer step, the other model's
                        memory taken out; next to it the count of benchmarks/activation_memory.py
                        (16 B x params + saved activations: a lower bound)
  TFLOP/s and MFU       multiply-adds per clip from videomae/cost.py (the matmuls, exactly what
                        torch.utils.flop_counter counts) x 2 FLOPs, x 3 for a training step (backward ~2x
                        forward), over the GPU's dense 16-bit peak from its datasheet (PEAKS below);
                        an unknown GPU gets the achieved TFLOP/s only
  host syncs            host reads per optimizer step in the step's code and the model's
                        (finetune/training/host_syncs.py, as tests/finetune/test_gpu_paths.py counts
                        them); on CUDA also the syncs `torch.cuda.set_sync_debug_mode` reports. The
                        progress line adds one read per `log_every` steps (off here)
  data loader           clips/s of the run's training loader (toy clips at 320x240 JPEG, like HMDB51)
                        with the default workers, against what the GPU trains on; the workers that
                        would keep up, from one core's CPU time per clip

Optional rows: --compile (torch.compile, both sides), --grad-checkpointing,
--backbones s,l (ViT-S / ViT-L widths), --ddp (every process trains, DDP; run under torchrun):

    python -m benchmarks.gpu_check                        # any CUDA GPU; sized for under 5 minutes
    torchrun --standalone --nproc_per_node 2 -m benchmarks.gpu_check --ddp   # 2 GPUs: adds the DDP row
    python -m benchmarks.gpu_check --device cpu --tiny    # the same code on a tiny model, seconds

Without CUDA it runs --tiny on the CPU (fp32, no peak memory): a check of the
code, not of a GPU. docs/benchmarks.md says how to run it on Kaggle. The JSON
(--out, default outputs/gpu_check.json) holds every row, the table as printed,
and the details: each call's seconds, where the host reads are, the kernels.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import platform
import re
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, replace
from itertools import repeat
from pathlib import Path

import torch
from torch import nn

from finetune.config import VIEWS, apply_overrides, get_preset
from finetune.data.layout import list_train_clips
from finetune.toy import make_toy_data
from finetune.training.distributed import Dist, StepBatchSampler, barrier, setup, teardown
from finetune.training.engine import (
    Trainer,
    TrainState,
    choose_precision,
    make_loss_fn,
    make_scaler,
    precision_name,
    predict_probs,
    sdpa_backend,
    train_epoch,
)
from finetune.training.host_syncs import STEP_CODE, count_host_syncs
from finetune.training.loaders import mean_std, num_workers, train_dataset
from finetune.training.memory import per_clip_bytes
from finetune.training.optim import build_optimizer, layer_id, wants_weight_decay
from finetune.training.schedule import make_schedule
from videomae import VideoMAEConfig, VideoViT
from videomae.cost import classifier_multiply_adds

MIB = 2**20
# Dense (no 2:4 sparsity) 16-bit tensor-core peaks in TFLOP/s, from each vendor datasheet; the first pattern
# that matches torch.cuda.get_device_name wins. The H100 SXM5 board calls itself "NVIDIA H100 80GB HBM3".
PEAKS = [
    (r"\bh200\b.*\bnvl\b", "H200 NVL, bf16", 835, "https://www.nvidia.com/en-us/data-center/h200/ (1,671 sparse)"),
    (r"\bh200\b", "H200 SXM, bf16", 989, "https://www.nvidia.com/en-us/data-center/h200/ (1,979 sparse)"),
    (r"\bh100\b.*\bpcie\b", "H100 PCIe, bf16", 756,
     "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet (1,513 sparse)"),
    (r"\bh100\b.*\b(sxm|hbm3)\b", "H100 SXM, bf16", 989,
     "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet (1,979 sparse)"),
    (r"\ba100\b", "A100, bf16", 312, "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
     "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"),
    (r"\ba10g\b", "A10G, bf16", 70, "no NVIDIA datasheet for AWS's A10G; NVIDIA's A10 datasheet says 125, "
     "https://www.baseten.co/blog/nvidia-a10-vs-a10g-for-ml-model-inference/ gives 70 for the A10G"),
    (r"\bl4\b", "L4, bf16", 121, "https://www.nvidia.com/en-us/data-center/l4/ (242 sparse)"),
    (r"\bv100\b.*\bpcie\b", "V100 PCIe, fp16", 112, "https://images.nvidia.com/content/technologies/volta/pdf/"
     "volta-v100-datasheet-update-us-1165301-r5.pdf"),
    (r"\bv100\b", "V100 SXM2, fp16", 125, "https://images.nvidia.com/content/technologies/volta/pdf/"
     "volta-v100-datasheet-update-us-1165301-r5.pdf"),
    (r"\bp100\b.*\bsxm2\b", "P100 SXM2, fp16", 21.2,
     "https://images.nvidia.com/content/tesla/pdf/nvidia-tesla-p100-datasheet.pdf"),
    (r"\bp100\b", "P100 PCIe, fp16", 18.7,
     "https://images.nvidia.com/content/tesla/pdf/nvidia-tesla-p100-PCIe-datasheet.pdf"),
    (r"\bt4\b", "T4, fp16", 65, "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/"
     "t4-tensor-core-datasheet-951643.pdf"),
]
WIDTHS = {"b": (768, 12, 12), "s": (384, 12, 6), "l": (1024, 24, 16)}  # backbone: (dim, depth, heads)
TINY_WIDTHS = {"b": (64, 2, 2), "s": (32, 2, 2), "l": (96, 3, 3)}
TINY = ["num_frames=4", "image_size=32", "resize=32"]  # the run's config for --tiny (patch 8: 2 x 4 x 4 tokens)
KERNELS = [("_scaled_dot_product_flash_attention", "flash"), ("_scaled_dot_product_efficient_attention", "efficient"),
           ("_scaled_dot_product_cudnn_attention", "cudnn"), ("_scaled_dot_product_attention_math", "math")]


def peak_tflops(name: str) -> tuple[float, str, str] | None:
    """(dense 16-bit TFLOP/s, what it is, source) for a GPU name, or None for a GPU not in PEAKS."""
    for pattern, label, tflops, source in PEAKS:
        if re.search(pattern, name.lower()):
            return tflops, label, source
    return None


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.machine()
    return f"CPU ({cpu})"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(who: str, fn, device: torch.device) -> float:
    """Seconds of one call of `fn`, the device's queue drained before and after (`who` names the side)."""
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


class Transformers(nn.Module):
    """transformers' classifier behind our interface: (B, C, T, H, W) in, logits out."""

    def __init__(self, hf: nn.Module):
        super().__init__()
        self.hf = hf

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.hf(pixel_values=video.transpose(1, 2)).logits  # (B, C, T, H, W) -> (B, T, C, H, W), a view


def model_config(cfg, tiny: bool, backbone: str = "b") -> VideoMAEConfig:
    dim, depth, heads = (TINY_WIDTHS if tiny else WIDTHS)[backbone]
    size = {"patch_size": 8} if tiny else {}
    return VideoMAEConfig(num_frames=cfg.num_frames, image_size=cfg.image_size, dim=dim, depth=depth, heads=heads,
                          num_classes=51, drop_path=cfg.drop_path, **size)


def build_pair(mcfg: VideoMAEConfig, device: torch.device) -> dict[str, nn.Module]:
    """Ours and transformers' with the same weights, on `device`."""
    from transformers import VideoMAEForVideoClassification
    from transformers.utils import logging

    logging.disable_progress_bar()
    torch.manual_seed(0)
    ours = VideoViT(mcfg)
    with tempfile.TemporaryDirectory() as d:
        ours.save_pretrained(d)
        theirs = VideoMAEForVideoClassification.from_pretrained(d, attn_implementation="sdpa")
    return {"ours": ours.to(device), "theirs": Transformers(theirs).to(device)}


def optimizer_for(who: str, model: nn.Module, cfg) -> torch.optim.Optimizer:
    """The run's AdamW (layer decay, no decay on 1-D parameters); theirs gets the same groups by layer."""
    if who == "ours":
        return build_optimizer(model, cfg, lr=1.0)
    depth, groups = model.hf.config.num_hidden_layers, {}
    for name, p in model.named_parameters():  # hf.videomae.encoder.layer.3.* -> blocks.3.*, as ours are named
        ours = re.sub(r"^hf\.videomae\.encoder\.layer\.(\d+)\.", r"blocks.\1.", name)
        ours = "patch_embed." + name if ".embeddings." in name else ours if ours != name else "head." + name
        lid, decay, head = layer_id(ours, depth), wants_weight_decay(ours, p), ".classifier." in name
        scale = cfg.layer_decay ** (depth + 1 - lid) * (cfg.head_lr_mult if head else 1.0)
        group = groups.setdefault((lid, decay, head), {"params": [], "lr_scale": scale,
                                                       "weight_decay": cfg.weight_decay if decay else 0.0})
        group["params"].append(p)
    return torch.optim.AdamW([groups[k] for k in sorted(groups)], lr=1.0, betas=tuple(cfg.betas))


def eval_clips(cfg) -> int:
    """Clips per eval batch: `loaders.eval_loader`'s rule (2 clips x 6 views for exp4)."""
    return max(1, cfg.batch_size * 2 // VIEWS[cfg.tta])


def make_batches(cfg, d: Dist) -> dict:
    """One uint8 training micro-batch and one uint8 eval batch (TTA regions of 320x240 clips whose short side
    is resized to image_size), made once on the device: the loader is measured on its own."""
    g = torch.Generator().manual_seed(d.rank)
    shape = (cfg.batch_size, 3, cfg.num_frames, cfg.image_size, cfg.image_size)
    clips, width = eval_clips(cfg), round(cfg.image_size * 320 / 240)
    return {"train": (torch.randint(0, 256, shape, generator=g, dtype=torch.uint8).to(d.device),
                      torch.randint(0, 51, (cfg.batch_size,), generator=g).to(d.device)),
            "eval": (torch.randint(0, 256, (clips, 1, 3, cfg.num_frames, cfg.image_size, width), generator=g,
                                   dtype=torch.uint8).to(d.device),
                     torch.tensor([[cfg.image_size, width]] * clips), torch.arange(clips))}


@dataclass
class Side:
    """One model with what the run's training step needs around it."""
    who: str
    model: nn.Module  # the plain network
    trainer: Trainer
    d: Dist
    batches: dict  # make_batches

    def train(self, steps: int = 1) -> None:
        """`steps` optimizer steps of the run's `train_epoch` (this process's share of each under DDP)."""
        cfg, d = self.trainer.cfg, self.d
        per_step = cfg.batch_size * cfg.accum_steps * d.world
        sampler = StepBatchSampler(per_step * steps, cfg.batch_size, per_step, d, shuffle=False)
        train_epoch(self.trainer, repeat(self.batches["train"]), sampler, TrainState())

    def evaluate(self, batches: int) -> None:
        """`batches` eval batches through the run's `predict_probs`, with the preset's TTA views."""
        cfg = self.trainer.cfg
        for _ in predict_probs(self.trainer.net, [self.batches["eval"]] * batches, self.d.device, self.trainer.dtype,
                               cfg.image_size, VIEWS[cfg.tta], self.trainer.mean_std, show=False):
            pass


def make_sides(models: dict, cfg, dtype, d: Dist, compile: bool = False) -> dict[str, Side]:
    sides, batches = {}, make_batches(cfg, d)
    for who, model in models.items():
        net = model
        if d.enabled:
            from torch.nn.parallel import DistributedDataParallel

            net = DistributedDataParallel(net, device_ids=[d.device.index] if d.device.type == "cuda" else None)
        if compile:
            net = torch.compile(net)
        schedule = make_schedule(cfg, 10**6, peak_lr=1e-4)  # stage 1 (Mixup) for every step measured here
        trainer = Trainer(net, optimizer_for(who, model, cfg), make_scaler(dtype, d.device), schedule,
                          make_loss_fn(cfg, 51, torch.Generator().manual_seed(0)), cfg, d, dtype,
                          mean_std(cfg, d.device))
        sides[who] = Side(who, model, trainer, d, batches)
    return sides


def paired(calls: dict, repeats: int, device: torch.device) -> dict[str, list[float]]:
    """Seconds per call of each side, alternating which goes first."""
    times = {"ours": [], "theirs": []}
    for r in range(repeats):
        for who in (("ours", "theirs") if r % 2 == 0 else ("theirs", "ours")):
            times[who].append(measure(who, calls[who], device))
    return times


def rates(times: dict, work: float) -> dict:
    """Median work/s of each side, their ratio ours/theirs, and the median of the paired ratios (one per repeat:
    their time / ours), which a machine whose speed drifts during the run disturbs less."""
    ratios = [t / o for o, t in zip(times["ours"], times["theirs"])]
    ours, theirs = work / statistics.median(times["ours"]), work / statistics.median(times["theirs"])
    return {"ours": ours, "theirs": theirs, "ratio": ours / theirs, "paired_ratio": statistics.median(ratios),
            "ours_faster_in": f"{sum(r > 1 for r in ratios)}/{len(ratios)}", "seconds": times}


def row(key: str, label: str, ours, theirs, ratio=None, note: str = "", fmt: str = "{:.1f}") -> dict:
    if ratio is None and isinstance(ours, (int, float)) and isinstance(theirs, (int, float)) and theirs:
        ratio = ours / theirs
    return {"key": key, "label": label, "ours": ours, "theirs": theirs, "ratio": ratio, "note": note, "fmt": fmt}


def attention_kernels(side: Side) -> list[str]:
    """The SDPA kernels one training step ran, read from torch.profiler's op names."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        side.train()
    names = {e.key for e in prof.key_averages()}
    seen = [kind for op, kind in KERNELS if any(n.startswith("aten::" + op) and "backward" not in n for n in names)]
    return seen or ["none seen"]


def model_files(model: nn.Module) -> list[str]:
    """The source files of the model's classes (ours: vit/, videomae/; theirs: modeling_videomae.py)."""
    files = {inspect.getsourcefile(c) for m in model.modules() for c in type(m).__mro__
             if c.__module__.split(".")[0] not in ("torch", "builtins", "typing")}
    return sorted(f.replace(os.sep, "/") for f in files if f)


def host_syncs(side: Side, steps: int = 2) -> dict:
    """Host reads per optimizer step (the test's count), the peak memory of those steps, and on CUDA the
    syncs torch.cuda.set_sync_debug_mode reports."""
    device, out = side.d.device, {}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    with warnings.catch_warnings(record=True) as caught, count_host_syncs(STEP_CODE + tuple(model_files(side.model))
                                                                          ) as reads:
        warnings.simplefilter("always")
        if device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        try:
            side.train(steps)
        finally:
            if device.type == "cuda":
                torch.cuda.set_sync_debug_mode("default")
    out["per_step"], out["where"] = len(reads) / steps, sorted(set(reads))
    if device.type == "cuda":
        out["cuda_per_step"] = sum("synchroniz" in str(w.message) for w in caught) / steps
        resident = [*side.model.parameters(), *side.model.buffers()]
        resident += [v for s in side.trainer.optimizer.state.values() for v in s.values()
                     if torch.is_tensor(v) and v.device == device]
        own = sum(t.numel() * t.element_size() for t in resident)  # this side's weights, buffers, AdamW moments
        out["peak_mib"] = (torch.cuda.max_memory_allocated(device) - before + own) / MIB
    return out


def memory_count(model: nn.Module, cfg, dtype, device) -> float:
    """benchmarks/activation_memory.py's lower bound, MiB: 16 B x params + per step + batch x per clip."""
    clip, step = per_clip_bytes(model, (3, cfg.num_frames, cfg.image_size, cfg.image_size), dtype, device)
    return (16 * sum(p.numel() for p in model.parameters()) + step + cfg.batch_size * clip) / MIB


def loader_rows(cfg, tiny: bool, gpu_rate: float) -> list[dict]:
    """The run's training loader on toy clips (320x240 JPEG, 5-20 frames, like HMDB51) with the default workers."""
    from benchmarks.loader_speed import clips_per_second

    workers = num_workers(cfg, Dist())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        size = {"classes": 3, "clips_per_class": 4, "frames": (4, 6), "height": 48, "width": 64} if tiny else {}
        data = make_toy_data(Path(tmp) / "data", test_clips=0, seed=0, **size)
        ds = train_dataset(list_train_clips(data)[0], cfg)
        clips = 16 if tiny else 160
        rate, _ = clips_per_second(ds, workers, cfg.batch_size, clips)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:  # one core's CPU time per clip (decode, sample, crop/flip, collate): what one worker delivers
            _, cpu_ms = clips_per_second(ds, 0, cfg.batch_size, clips // 4)
        finally:
            torch.set_num_threads(threads)
    per_worker = 1000 / cpu_ms
    needed = math.ceil(gpu_rate / per_worker)
    verdict = "keeps up" if rate >= gpu_rate else "the GPU waits"
    return [row("loader_clips_per_s", f"data loader clips/s ({workers} workers)", rate, "-", "-",
                note=f"ours trains {gpu_rate:.1f} clips/s: loader / GPU = {rate / gpu_rate:.2f}, {verdict}"),
            row("loader_workers_needed", "num_workers that would keep up", needed, "-", "-", fmt="{:.0f}",
                note=f"one core {per_worker:.0f} clips/s ({cpu_ms:.1f} ms CPU/clip); {cores} cores here, "
                     f"default num_workers {workers} (cores - 1, at most 8)")]


def throughput_rows(prefix: str, label: str, r: dict, macs: float, factor: int, peak) -> list[dict]:
    """clips/s, achieved TFLOP/s and MFU of one pair; `factor`: FLOPs per multiply-add of a clip's forward
    (2 x the views for evaluation; 6 for training: 2 FLOPs x (forward + backward ~ 2 forwards))."""
    tf = {who: r[who] * macs * factor / 1e12 for who in ("ours", "theirs")}
    note = f"paired ratio {r['paired_ratio']:.3f}, ours faster in {r['ours_faster_in']} pairs"
    rows = [row(f"{prefix}_clips_per_s", f"{label} clips/s", r["ours"], r["theirs"], r["ratio"], note),
            row(f"{prefix}_tflops", f"{label} TFLOP/s achieved", tf["ours"], tf["theirs"], r["ratio"], fmt="{:.3g}")]
    if peak is None:
        rows.append(row(f"{prefix}_mfu", f"{label} MFU", "unknown GPU", "unknown GPU", r["ratio"],
                        note="GPU not in the peak table: achieved TFLOP/s only"))
    else:
        rows.append(row(f"{prefix}_mfu", f"{label} MFU", tf["ours"] / peak[0], tf["theirs"] / peak[0], r["ratio"],
                        note=f"of {peak[0]:g} TFLOP/s ({peak[1]})", fmt="{:.1%}"))
    return rows


def measure_pair(args, cfg, mcfg, dtype, d: Dist) -> tuple[list[dict], dict]:
    """The main rows: kernels, syncs, memory, training and evaluation of ours against theirs."""
    device, views = d.device, VIEWS[cfg.tta]
    sides = make_sides(build_pair(mcfg, device), cfg, dtype, d)
    for side in sides.values():
        side.train()  # warm-up: kernels chosen, AdamW's moments made
    probe = sdpa_backend(device, dtype, mcfg.dim // mcfg.heads)
    kernels = {who: attention_kernels(s) for who, s in sides.items()}
    same = probe.split("_")[0].split(" ")[0]
    rows = [row("attention_kernel", "attention kernel (training step)", ", ".join(kernels["ours"]),
                ", ".join(kernels["theirs"]), "same" if kernels["ours"] == kernels["theirs"] else "differ",
                note=f"engine.sdpa_backend predicts {probe}: "
                     + ("agrees" if kernels["ours"] == [same] else "DISAGREES"))]
    syncs = {who: host_syncs(s) for who, s in sides.items()}
    clips = cfg.batch_size * cfg.accum_steps * d.world
    train = rates(paired({w: s.train for w, s in sides.items()}, args.repeats, device), clips)
    peak = peak_tflops(device_name(device))
    macs = classifier_multiply_adds(mcfg)
    rows += throughput_rows("train", "training", train, macs, 6, peak)
    for side in sides.values():
        side.evaluate(1)  # warm-up at the eval shapes
    batches = args.eval_batches
    ev = rates(paired({w: (lambda s=s: s.evaluate(batches)) for w, s in sides.items()}, args.repeats, device),
               batches * eval_clips(cfg))
    rows += throughput_rows("eval", f"eval ({views}-view TTA)", ev, macs, 2 * views, peak)
    counts = {who: memory_count(s.model, cfg, dtype, device) for who, s in sides.items()}
    if device.type == "cuda":
        rows.append(row("peak_memory_mib", "peak memory, training (MiB)", syncs["ours"]["peak_mib"],
                        syncs["theirs"]["peak_mib"], fmt="{:.0f}", note="torch.cuda.max_memory_allocated"))
    else:
        rows.append(row("peak_memory_mib", "peak memory, training (MiB)", "n/a", "n/a", "n/a",
                        note="CUDA only (torch.cuda.max_memory_allocated)"))
    rows.append(row("memory_count_mib", "  counted (activation_memory.py, MiB)", counts["ours"], counts["theirs"],
                    fmt="{:.1f}", note="16 B x params + saved for backward: a lower bound"))
    cuda = {w: s.get("cuda_per_step", "n/a") for w, s in syncs.items()}
    rows.append(row("host_syncs_per_step", "host syncs per optimizer step", syncs["ours"]["per_step"],
                    syncs["theirs"]["per_step"], fmt="{:.2f}",
                    note=f"reads in the step's and model's code; CUDA sync-debug: {cuda['ours']} / {cuda['theirs']} "
                         "(it also sees the epoch's closing read of the sums: +0.5 a step over 2 steps)"))
    rows += loader_rows(cfg, args.tiny, train["ours"])
    details = {"kernels": kernels, "sdpa_backend": probe, "host_syncs": syncs, "train": train, "eval": ev,
               "multiply_adds_per_clip": macs, "peak": peak, "memory_count_mib": counts}
    del sides
    return rows, details


def optional_rows(args, cfg, dtype, d: Dist) -> list[dict]:
    """--compile, --grad-checkpointing, --backbones: training clips/s of ours against theirs in that setting."""
    device, rows = d.device, []
    settings = []
    if args.compile:
        settings.append(("compile", "torch.compile", "b", {"compile": True}))
    if args.grad_checkpointing:
        settings.append(("grad_ckpt", "gradient checkpointing", "b", {"checkpointing": True}))
    for b in (args.backbones or "").split(","):
        if b.strip():
            settings.append((f"vit_{b.strip()}", f"ViT-{b.strip().upper()}", b.strip(), {}))
    peak = peak_tflops(device_name(device))
    for key, label, backbone, extra in settings:
        mcfg, models, sides = model_config(cfg, args.tiny, backbone), None, None
        try:
            models = build_pair(mcfg, device)
            if extra.get("checkpointing"):
                models["ours"].set_grad_checkpointing(True)
                models["theirs"].hf.gradient_checkpointing_enable()
            sides = make_sides(models, cfg, dtype, d, compile=extra.get("compile", False))
            for side in sides.values():
                for _ in range(2 if extra.get("compile") else 1):  # compile: a second call settles recompiles
                    side.train()
            r = rates(paired({w: s.train for w, s in sides.items()}, args.repeats, device),
                      cfg.batch_size * cfg.accum_steps)
            rows += throughput_rows(key, f"training, {label}", r, classifier_multiply_adds(mcfg), 6, peak)[::2]
            if not extra.get("compile"):
                counts = {w: memory_count(s.model, cfg, dtype, device) for w, s in sides.items()}
                rows.append(row(f"{key}_memory_count_mib", f"  counted memory, {label} (MiB)", counts["ours"],
                                counts["theirs"], fmt="{:.1f}", note="as activation_memory.py counts it"))
            if device.type == "cuda":
                peaks = {w: host_syncs(s, 1)["peak_mib"] for w, s in sides.items()}
                rows.append(row(f"{key}_peak_memory_mib", f"peak memory, {label} (MiB)", peaks["ours"],
                                peaks["theirs"], fmt="{:.0f}"))
        except torch.cuda.OutOfMemoryError:
            rows.append(row(f"{key}_clips_per_s", f"training, {label} clips/s", "out of memory", "-", "-",
                            note=f"batch {cfg.batch_size}, both models on the GPU"))
        finally:
            models = sides = None  # both models freed before the next setting
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def ddp_rows(args, cfg, mcfg, dtype, d: Dist, single: float | None) -> list[dict]:
    """Every process trains its share of each optimizer step (DDP); clips/s over all of them, and against
    `single`, ours' clips/s on one process. As the Kaggle notebook runs it (docs/kaggle.md): accumulation
    divided by the processes, so a step stays batch x accum clips."""
    cfg = replace(cfg, accum_steps=max(1, cfg.accum_steps // d.world))
    sides = make_sides(build_pair(mcfg, d.device), cfg, dtype, d)
    for side in sides.values():
        side.train()
    r = rates(paired({w: s.train for w, s in sides.items()}, args.repeats, d.device),
              cfg.batch_size * cfg.accum_steps * d.world)
    scaling = f"ours {r['ours'] / single:.2f}x its one-process clips/s; " if single else ""
    return [row("ddp_clips_per_s", f"training clips/s, DDP on {d.world} processes", r["ours"], r["theirs"],
                r["ratio"], note=f"{scaling}{cfg.batch_size} x {cfg.accum_steps} clips per process and step; paired "
                                 f"ratio {r['paired_ratio']:.3f}, ours faster in {r['ours_faster_in']} pairs")]


def cell(value, fmt: str) -> str:
    return fmt.format(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def table(header: list[str], rows: list[dict]) -> str:
    lines = [*header, f"{'':44} {'ours':>14} {'transformers':>14} {'ours/theirs':>12}  note"]
    for r in rows:
        ratio = f"{r['ratio']:.3f}" if isinstance(r["ratio"], float) else str(r["ratio"] if r["ratio"] is not None
                                                                              else "-")
        lines.append(f"{r['label']:44} {cell(r['ours'], r['fmt']):>14} {cell(r['theirs'], r['fmt']):>14} "
                     f"{ratio:>12}  {r['note']}")
    return "\n".join(lines)


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--tiny", action="store_true", help="a tiny model and tiny clips (implied on the CPU)")
    p.add_argument("--preset", default="exp4", help="the training preset whose batch, recipe and precision are run")
    p.add_argument("--precision", default=None, help="override the preset's precision (auto, bf16, fp16, fp32)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per side (medians reported)")
    p.add_argument("--eval-batches", type=int, default=4, help="eval batches per timed eval call")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: 1 for the tiny model on a CPU, where more only add noise)")
    p.add_argument("--out", default="outputs/gpu_check.json", help="where the JSON goes")
    p.add_argument("--compile", action="store_true", help="also: training with torch.compile (slow to compile)")
    p.add_argument("--grad-checkpointing", action="store_true", help="also: training with gradient checkpointing")
    p.add_argument("--backbones", default="", help="also: other widths, e.g. s,l (ViT-S / ViT-L)")
    p.add_argument("--ddp", action="store_true", help="also: DDP training over the processes torchrun started")
    args = p.parse_args(argv)
    args.tiny = args.tiny or not args.device.startswith("cuda")
    return args


def main(argv=None) -> dict:
    args = parse(argv)
    cfg = get_preset(args.preset)
    cfg = apply_overrides(cfg, (TINY if args.tiny else []) + ([f"precision={args.precision}"] if args.precision
                                                                else []) + ["log_every=1000000000"])
    progress_before = os.environ.get("FINETUNE_PROGRESS")
    os.environ["FINETUNE_PROGRESS"] = "off"  # no progress lines from train_epoch
    if args.ddp:  # torchrun's processes join the group; each takes the GPU of its LOCAL_RANK
        d = setup(args.device)
    else:
        device = torch.device(args.device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())  # an index: device == tensor.device
        d = Dist(device=device)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads or (1 if d.device.type == "cpu" and args.tiny else threads))
    try:
        dtype = choose_precision(cfg.precision, d.device)
        scaling = make_scaler(dtype, d.device).is_enabled()
        mcfg = model_config(cfg, args.tiny)
        name = device_name(d.device)
        header = [f"gpu_check: {name}; torch {torch.__version__}, CUDA {torch.version.cuda or 'none'}; "
                  f"precision {precision_name(dtype)} ({cfg.precision}){' + loss scaling' if scaling else ''}",
                  f"VideoMAE {'tiny' if args.tiny else 'ViT-B'} {mcfg.num_frames}x{mcfg.image_size}, 51 classes, "
                  f"preset {args.preset}: {cfg.batch_size} clips x {cfg.accum_steps} micro-batches per step, "
                  f"{args.repeats} repeats, medians; ratio = ours / theirs"]
        rows, details = [], {}
        if d.main:
            rows, details = measure_pair(args, cfg, mcfg, dtype, Dist(device=d.device))
            rows += optional_rows(args, cfg, dtype, Dist(device=d.device))
        if args.ddp:
            barrier(d)
            if d.enabled:
                rows += ddp_rows(args, cfg, mcfg, dtype, d, details.get("train", {}).get("ours"))
            else:
                rows.append(row("ddp_clips_per_s", "training clips/s, DDP", "not run", "-", "-",
                                note="one process: start it with torchrun --nproc_per_node 2"))
        result = {"command": "python -m benchmarks.gpu_check " + " ".join(sys.argv[1:] if argv is None else argv),
                  "device": name, "torch": torch.__version__, "cuda": torch.version.cuda,
                  "precision": precision_name(dtype), "loss_scaling": scaling, "tiny": args.tiny,
                  "preset": args.preset, "model": asdict(mcfg), "config": {k: v for k, v in asdict(cfg).items()
                                                                             if k != "extra"},
                  "rows": [{k: v for k, v in r.items() if k != "fmt"} for r in rows], "details": details}
        if d.main:
            text = table(header, rows)
            print(text, flush=True)
            result["table"] = text
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=1, default=str))
            print(f"written: {out}")
        return result
    finally:
        teardown(d)
        torch.set_num_threads(threads)
        if progress_before is None:
            os.environ.pop("FINETUNE_PROGRESS", None)
        else:
            os.environ["FINETUNE_PROGRESS"] = progress_before


if __name__ == "__main__":
    main()
