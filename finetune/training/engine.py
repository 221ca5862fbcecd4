"""One epoch of training and one pass of evaluation: the inner loops (course notes IV.3).

Training, per optimizer step: for each of its micro-batches, (stage 1) mix the
clips and their one-hot labels (Mixup, Exp 3), forward under autocast, weight
the loss by the micro-batch's share of the step's clips and backpropagate; then
unscale, clip, step, zero the gradients, move the weights' moving average
(`cfg.ema`, finetune/training/ema.py) one step. Gradient accumulation gives the
effective batch of a big GPU on a small one: 8 clips x 4 micro-batches update
like 32 clips at once. Under DDP the gradients are averaged only at the last
micro-batch of a step (`no_sync` before it): one all-reduce per step.

Mixed precision (Micikevicius et al. 2018), chosen by `choose_precision`: bf16
keeps fp32's exponent range, so it needs no loss scaling, but only GPUs of
compute capability >= 8.0 (A100, H100, RTX 30xx+) run it natively; older ones
(T4, P100, V100) emulate it slowly and their fused attention kernels take only
fp16, so they get fp16, which underflows small gradients to 0 unless the loss is
multiplied by a scale first (GradScaler). The CPU stays in fp32.

A step whose gradients are not finite (an fp16 overflow, or a NaN) is skipped,
as GradScaler skips it, and in fp16 the scale is halved; only `max_bad_steps`
such steps in a row stop the run (`NonFiniteLoss`), with the last good
checkpoint on disk. The finiteness test is the step's one host sync: losses and
accuracies add up on the device and are read only when the progress line is
refreshed (`log_every` steps) and at the end of the epoch.

Evaluation with several views per clip (6-view TTA, Exp 4) averages the SOFTMAX
of each view, not the logits: every view votes with a probability distribution.
"""
import resource
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from finetune.config import TrainConfig
from finetune.data.batch import eval_input
from finetune.data.transforms import normalize
from finetune.errors import UserError
from finetune.progress import progress
from finetune.training.distributed import Dist, all_sum
from finetune.training.ema import WeightEMA
from finetune.training.mixup import mix_batch, soft_target_cross_entropy
from finetune.training.schedule import Schedule, set_lr


class NonFiniteLoss(UserError, RuntimeError):
    """Too many optimizer steps in a row had non-finite gradients."""


class StopRun(Exception):
    """Raised by a step hook to end the run at once (tests: simulate a kill)."""


def choose_precision(precision: str, device: torch.device, capability: tuple[int, int] | None = None):
    """The autocast dtype: None (fp32), torch.bfloat16 or torch.float16.

    auto: fp32 on the CPU; on a GPU, bf16 from compute capability 8.0 (native bf16
    tensor cores; flash attention) and fp16 + loss scaling below it. NOT
    `torch.cuda.is_bf16_supported()`: it answers True on a T4 or P100, which only
    emulate bf16. `bf16` / `fp16` / `fp32` force one (fp16/bf16 also run on a CPU).
    """
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    if precision == "auto":
        major, minor = capability or torch.cuda.get_device_capability(device)
        return torch.bfloat16 if (major, minor) >= (8, 0) else torch.float16
    if precision not in ("bf16", "fp16"):
        raise ValueError(f"precision must be auto, bf16, fp16 or fp32, found {precision!r}")
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def precision_name(dtype) -> str:
    """The name `choose_precision` was given for `dtype`: fp32 (None), bf16 or fp16."""
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def make_scaler(dtype, device: torch.device) -> torch.amp.GradScaler:
    """A loss scaler that is on for fp16 only; disabled, its calls are no-ops (one step path for all)."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def sdpa_backend(device: torch.device, dtype, head_dim: int = 64) -> str:
    """Which fused attention kernel F.scaled_dot_product_attention will use here, found by trying each.

    flash (sm80+, fp16/bf16) and memory-efficient keep O(N) memory per head; the math
    fallback stores the full N x N attention matrix (59 MB per layer and clip for
    ViT-B at 16x224 in 16 bit), which is what emulated bf16 on a T4 gets.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel

    dt = dtype or torch.float32
    q = torch.ones(1, 2, 16, head_dim, device=device, dtype=dt)  # not randn: the global RNG stays untouched
    for backend in fused_backends(SDPBackend):
        try:
            with sdpa_kernel(backend), torch.no_grad():
                F.scaled_dot_product_attention(q, q, q)
            return backend.name.lower()
        except RuntimeError:
            continue
    return "math (stores the full attention matrix)"


def fused_backends(enum) -> list:
    """The fused kernels of `enum` (torch.nn.attention.SDPBackend) to try, in order. CUDNN_ATTENTION is a
    newer member than the others: a torch without it (older than setup.cfg's floor allows) just skips it."""
    cudnn = getattr(enum, "CUDNN_ATTENTION", None)
    return [enum.FLASH_ATTENTION, enum.EFFICIENT_ATTENTION, *([cudnn] if cudnn is not None else [])]


def _autocast(device: torch.device, dtype):
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
            videos, targets = mix_batch(videos, labels, num_classes, cfg.mixup, cfg.cutmix, cfg.mixup_switch_prob,
                                        smoothing=cfg.label_smoothing, generator=generator)
            logits = model(videos)
            return soft_target_cross_entropy(logits.float(), targets), targets, logits
        logits = model(videos)
        return F.cross_entropy(logits.float(), labels, label_smoothing=cfg.label_smoothing), labels, logits

    return loss_for_batch


def grad_norm(parameters, max_norm: float) -> torch.Tensor:
    """The gradients' total L2 norm (a device tensor, no sync), clipped to `max_norm` first if > 0."""
    if max_norm > 0:
        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)
    return total_norm([p.grad for p in parameters if p.grad is not None])


def total_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The L2 norm of `tensors` seen as one vector: the norm of their norms (a device tensor, no sync).

    What torch.nn.utils.get_total_norm returns, written out: that function exists only from torch 2.6,
    older than the floor setup.cfg promises (tests/finetune/test_torch_floor.py keeps it so)."""
    if not tensors:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t.detach()).float() for t in tensors]))


@dataclass
class TrainState:
    """Where a run is; saved in every checkpoint, so `--resume` continues from exactly here."""
    epoch: int = 0  # epochs finished
    step_in_epoch: int = 0  # optimizer steps taken in the current epoch
    global_step: int = 0  # optimizer steps taken in the run (the schedule's clock)
    bad_steps: int = 0  # steps skipped in a row because the gradients were not finite
    best_val_acc: float = -1.0  # keep_best: the best epoch's validation accuracy so far, the one in RUN/best.pt


@dataclass
class Trainer:
    """Everything an optimizer step needs, built once per run (finetune/training_run.py)."""
    net: nn.Module  # what runs the batches: the model, wrapped by DDP and/or torch.compile
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler  # on for fp16 only
    schedule: Schedule
    loss_fn: Callable  # (net, videos, labels, stage) -> (loss, targets, logits), from `make_loss_fn`
    cfg: TrainConfig
    d: Dist
    dtype: torch.dtype | None  # autocast dtype, None = fp32
    mean_std: tuple  # normalisation of the weights, tensors on the device
    ema: WeightEMA | None = None  # the weights' moving average (cfg.ema > 0), updated after every optimizer step


def train_epoch(t: Trainer, loader, sampler, state: TrainState, on_step=None) -> dict:
    """Train until the end of the epoch, from optimizer step `state.step_in_epoch` on.

    `sampler` (the loader's StepBatchSampler) says how many clips each micro-batch of
    each step holds; `state` is updated in place after every optimizer step, and
    `on_step(state)` runs after each one.
    """
    cfg, d, optimizer, scaler, schedule = t.cfg, t.d, t.optimizer, t.scaler, t.schedule
    t.net.train()
    params = [p for p in t.net.parameters() if p.requires_grad]
    plan = [[len(micro) for micro in step] for step in sampler.steps()]  # this process's clips per micro-batch
    # loss x clips, clips with a finite loss, correct, clips
    sums = torch.zeros(4, dtype=torch.float64, device=d.device)
    start, clips = time.perf_counter(), 0
    bar = progress(total=len(plan), desc=f"epoch {state.epoch + 1}/{cfg.epochs}", disable=not d.main,
                   unit="step")
    batches = iter(loader)
    optimizer.zero_grad(set_to_none=True)
    for sizes in plan:
        stage = schedule.stage(state.global_step)
        for k, n in enumerate(sizes):
            videos, labels = next(batches)
            m = len(labels)  # clips through the model: n, or n x cfg.repeated_aug (repeated augmentation)
            videos = normalize(videos.to(d.device, non_blocking=True), *t.mean_std)  # uint8 -> normalised float
            labels = labels.to(d.device, non_blocking=True)
            last = k == len(sizes) - 1
            with (t.net.no_sync() if d.enabled and not last else nullcontext()):  # all-reduce once per step
                with _autocast(d.device, t.dtype):
                    loss, targets, logits = t.loss_fn(t.net, videos, labels, stage)
                scaler.scale(loss * (n / sum(sizes))).backward()  # each clip weighs the same in the step
            with torch.no_grad():
                hard = targets.argmax(-1) if targets.ndim == 2 else targets
                finite = torch.isfinite(loss)
                sums[0] += torch.where(finite, loss.double() * m, 0.0)  # in-place adds on the device: no sync
                sums[1] += finite * m
                sums[2] += (logits.argmax(-1) == hard).sum()
                sums[3] += m
            clips += m * d.world
        # the optimizer step: skipped when the gradients are not finite (what GradScaler.step
        # does, tested here once, so that this is the step's only host sync)
        scaler.unscale_(optimizer)  # no-op unless fp16
        if bool(torch.isfinite(grad_norm(params, cfg.clip_grad))):
            optimizer.step()
            state.bad_steps = 0
        else:
            state.bad_steps += 1
            if d.main:
                tqdm.write(f"skipped optimizer step {state.global_step + 1}: gradients not finite "
                          f"({state.bad_steps} in a row)" + (f", loss scale now {scaler.get_scale() / 2:g}"
                                                                if scaler.is_enabled() else ""), file=sys.stderr)
        scaler.update()  # fp16: halve the scale after a skipped step, grow it after many good ones
        optimizer.zero_grad(set_to_none=True)
        if t.ema is not None:  # once per step, skipped or not, as the official engine_for_finetuning.py does
            t.ema.update()
        state.global_step += 1
        state.step_in_epoch += 1
        if state.global_step < schedule.total_steps:
            set_lr(optimizer, schedule.lr(state.global_step))
        if state.bad_steps >= cfg.max_bad_steps:
            raise NonFiniteLoss(
                f"{state.bad_steps} optimizer steps in a row had non-finite gradients (last: step "
                f"{state.global_step}, epoch {state.epoch + 1}); expected finite ones. Try a lower lr, "
                "--set clip_grad=5 or precision=bf16 (on a GPU that has it); the last good checkpoint is kept.")
        if on_step is not None:
            on_step(state)
        bar.update(1)
        if state.step_in_epoch % cfg.log_every == 0:  # reading the sums is a host sync: not every step
            loss_sum, loss_n, correct, count = sums.tolist()
            bar.set_postfix(loss=f"{loss_sum / max(loss_n, 1):.3f}", acc=f"{correct / max(count, 1):.3f}",
                            lr=f"{schedule.lr(min(state.global_step, schedule.total_steps - 1)):.2e}",
                            clips_s=f"{clips / max(time.perf_counter() - start, 1e-9):.1f}")
    bar.close()
    loss_sum, loss_n, correct, count = all_sum(sums, d)
    elapsed = time.perf_counter() - start
    return {"train_loss": loss_sum / max(loss_n, 1), "train_acc": correct / max(count, 1),
            "clips_per_s": clips / max(elapsed, 1e-9), "train_time_s": elapsed, "clips_seen": count}


@torch.no_grad()
def predict_probs(model, loader, device: torch.device, dtype, size: int, views: int, mean_std, show: bool = True,
                  desc: str = "eval"):
    """Yield (labels_or_ids, probs (B, K)) per batch of `batch.collate_eval`; the softmax is averaged over views."""
    model.eval()
    for regions, sizes, keys in progress(loader, desc=desc, disable=not show, unit="batch"):
        if len(keys) == 0:  # every clip of the batch was unreadable
            continue
        videos = eval_input(regions.to(device, non_blocking=True), sizes, size, views, *mean_std)  # (B*K*V, 3, T, S, S)
        with _autocast(device, dtype):
            logits = model(videos)
        probs = F.softmax(logits.float(), dim=-1)  # (B*K*V, classes)
        probs = rearrange(probs, "(b v) k -> b v k", b=len(keys)).mean(dim=1)  # (B, K*V, classes) -> (B, classes)
        yield keys, probs


def evaluate(t: Trainer, loader, views: int = 1, desc: str = "val", net=None) -> dict:
    """Loss (NLL of the averaged probabilities) and accuracy, summed on the device and over processes.
    `net`: the network to evaluate, default the trained one (t.net); e.g. the EMA's."""
    d = t.d
    sums = torch.zeros(3, dtype=torch.float64, device=d.device)  # loss sum, correct, clips
    net = t.net if net is None else net
    for labels, probs in predict_probs(net, loader, d.device, t.dtype, t.cfg.image_size, views, t.mean_std,
                                       show=d.main, desc=desc):
        labels = labels.to(d.device, non_blocking=True)
        sums[0] += F.nll_loss(torch.log(probs.clamp_min(1e-8)), labels, reduction="sum")
        sums[1] += (probs.argmax(-1) == labels).sum()
        sums[2] += len(labels)
    loss_sum, correct, count = all_sum(sums, d)
    return {"loss": loss_sum / max(count, 1), "acc": correct / max(count, 1), "count": int(count)}
