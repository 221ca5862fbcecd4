"""One epoch of training and one pass of evaluation: the inner loops (seed IV.3).

Training, per micro-batch: (stage 1) mix the clips and their one-hot labels
(Mixup, Exp 3), forward under autocast, divide the loss by `accum_steps` and
backpropagate; every `accum_steps` micro-batches: unscale, clip, step, zero the
gradients. Gradient accumulation gives the effective batch of a big GPU on a
small one: 8 clips x 4 accumulation steps update like 32 clips at once.

Mixed precision (Micikevicius et al. 2018): bf16 keeps fp32's exponent range, so
it needs no loss scaling; fp16 (older GPUs: T4, P100, V100) underflows small
gradients to 0 unless the loss is multiplied by a scale first (GradScaler); the
CPU stays in fp32. A loss that is NaN or inf stops the run (`NonFiniteLoss`)
before it can poison the weights: the last good checkpoint stays on disk.

Evaluation with several views per clip (6-view TTA, Exp 4) averages the SOFTMAX
of each view, not the logits: every view votes with a probability distribution.
"""
import math
import resource
import time
from contextlib import nullcontext

import torch
from einops import rearrange
from torch.nn import functional as F
from tqdm import tqdm

from .distributed import Dist, all_sum, all_true
from .mixup import mix_batch, soft_target_cross_entropy
from .schedule import set_lr


class NonFiniteLoss(RuntimeError):
    pass


class StopRun(Exception):
    """Raised by a step hook to end the run at once (tests: simulate a kill)."""


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """bf16 where the GPU supports it, fp16 otherwise, None (= fp32) on CPU or when asked."""
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def make_scaler(dtype: torch.dtype | None) -> torch.amp.GradScaler | None:
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 else None


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def peak_memory_gb(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30, "gpu"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "cpu rss"  # Linux reports KiB


def make_loss_fn(cfg, num_classes: int, generator: torch.Generator):
    """(model, videos, labels, stage) -> (loss, targets, logits) for the stage's recipe."""
    mixing = cfg.mixup > 0 or cfg.cutmix > 0

    def loss_for_batch(model, videos, labels, stage):
        if stage == 2:  # Exp 4 second stage: real clips, label smoothing only
            logits = model(videos)
            return F.cross_entropy(logits.float(), labels, label_smoothing=cfg.stage2_smoothing), labels, logits
        if mixing:  # Exp 3: Mixup (and CutMix if asked), smoothed soft targets
            videos, targets = mix_batch(videos, labels, num_classes, cfg.mixup, cfg.cutmix,
                                        smoothing=cfg.label_smoothing, generator=generator)
            logits = model(videos)
            return soft_target_cross_entropy(logits.float(), targets), targets, logits
        logits = model(videos)
        return F.cross_entropy(logits.float(), labels, label_smoothing=cfg.label_smoothing), labels, logits

    return loss_for_batch


def train_epoch(model, loader, optimizer, scaler, schedule, state: dict, cfg, d: Dist, dtype, loss_for_batch,
                n_micro: int, on_step=None) -> dict:
    """Train until the end of the epoch (`n_micro` micro-batches, counting those skipped on resume).

    `state` holds `global_step` and `step_in_epoch` and is updated in place after
    every optimizer step; `loss_for_batch(logits_fn, videos, labels, stage)` returns
    (loss, targets for accuracy); `on_step(state)` runs after each optimizer step.
    """
    model.train()
    accum = cfg.accum_steps
    first_micro = state["step_in_epoch"] * accum
    steps_total = math.ceil(n_micro / accum)
    sums = {"loss": 0.0, "correct": 0.0, "count": 0.0}
    start, clips = time.perf_counter(), 0
    bar = tqdm(total=n_micro - first_micro, desc=f"epoch {state['epoch'] + 1}/{cfg.epochs}", disable=not d.main,
               leave=False, dynamic_ncols=True)
    optimizer.zero_grad(set_to_none=True)
    for micro, (videos, labels) in enumerate(loader, start=first_micro):
        if micro >= n_micro:
            break
        videos, labels = videos.to(d.device, non_blocking=True), labels.to(d.device, non_blocking=True)
        step = state["global_step"]
        stage = schedule.stage(step)
        last_of_step = (micro + 1) % accum == 0 or micro + 1 == n_micro
        sync = last_of_step or not d.enabled
        with (nullcontext() if sync else model.no_sync()):
            with _autocast(d.device, dtype):
                loss, targets, logits = loss_for_batch(model, videos, labels, stage)
            if not all_true(bool(torch.isfinite(loss)), d):
                raise NonFiniteLoss(
                    f"loss is {loss.item()} at optimizer step {step} (epoch {state['epoch'] + 1}); expected a finite "
                    "number. Try a lower lr, --set precision=bf16 or clip_grad=5; the last good checkpoint is kept."
                )
            # the last step of an epoch may gather fewer micro-batches: average over those it has
            n_in_step = accum if (micro // accum) < steps_total - 1 or n_micro % accum == 0 else n_micro % accum
            scaled = loss / n_in_step
            (scaler.scale(scaled) if scaler else scaled).backward()
        with torch.no_grad():
            hard = targets.argmax(-1) if targets.ndim == 2 else targets
            sums["correct"] += (logits.argmax(-1) == hard).sum().item()
        sums["loss"] += loss.item() * len(videos)
        sums["count"] += len(videos)
        clips += len(videos) * d.world
        if last_of_step:
            if scaler:
                scaler.unscale_(optimizer)
            if cfg.clip_grad:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            state["global_step"] += 1
            state["step_in_epoch"] += 1
            if state["global_step"] < schedule.total_steps:
                set_lr(optimizer, schedule.lr(state["global_step"]))
            if on_step is not None:
                on_step(state)
        rate = clips / max(time.perf_counter() - start, 1e-9)
        bar.set_postfix(loss=f"{sums['loss'] / sums['count']:.3f}", acc=f"{sums['correct'] / sums['count']:.3f}",
                        lr=f"{schedule.lr(min(step, schedule.total_steps - 1)):.2e}", clips_s=f"{rate:.1f}")
        bar.update(1)
    bar.close()
    loss_sum, correct, count = all_sum([sums["loss"], sums["correct"], sums["count"]], d)
    elapsed = time.perf_counter() - start
    return {"train_loss": loss_sum / max(count, 1), "train_acc": correct / max(count, 1),
            "clips_per_s": clips / max(elapsed, 1e-9), "train_time_s": elapsed, "clips_seen": count}


@torch.no_grad()
def predict_probs(model, loader, device: torch.device, dtype, show: bool = True, desc: str = "eval"):
    """Yield (labels_or_ids, probs (B, K)) per batch; multi-view inputs average the softmax over views."""
    model.eval()
    for videos, keys in tqdm(loader, desc=desc, disable=not show, leave=False, dynamic_ncols=True):
        videos = videos.to(device, non_blocking=True)
        views = videos.shape[1] if videos.ndim == 6 else 1
        if videos.ndim == 6:
            videos = rearrange(videos, "b v c t h w -> (b v) c t h w")  # every view is a clip of its own
        with _autocast(device, dtype):
            logits = model(videos)
        probs = F.softmax(logits.float(), dim=-1)  # (B*V, K)
        probs = rearrange(probs, "(b v) k -> b v k", v=views).mean(dim=1)  # (B, V, K) -> (B, K)
        yield keys, probs


def evaluate(model, loader, d: Dist, dtype, desc: str = "val") -> dict:
    """Loss (NLL of the averaged probabilities) and accuracy, summed over processes."""
    loss_sum = correct = count = 0.0
    for labels, probs in predict_probs(model, loader, d.device, dtype, show=d.main, desc=desc):
        labels = labels.to(d.device)
        loss_sum += F.nll_loss(torch.log(probs.clamp_min(1e-8)), labels, reduction="sum").item()
        correct += (probs.argmax(-1) == labels).sum().item()
        count += len(labels)
    loss_sum, correct, count = all_sum([loss_sum, correct, count], d)
    return {"loss": loss_sum / max(count, 1), "acc": correct / max(count, 1), "count": int(count)}
