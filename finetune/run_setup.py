"""The first of a run's three steps: everything the epochs need, made or, on `--resume`, put back.

`setup_run` reads or starts the run folder (its files are named in
finetune/run_folder.py), builds the model from `--weights` (or a resumed
checkpoint's own architecture), the grouped split, the loaders, optimizer,
schedule, loss scaler and the weights' moving average, and hands them on as
one `Run`; finetune/training_run.py's `train_loop` and `finish_run` take it from
there.
"""
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from finetune import config as C
from finetune.data.decode import BadFrameLog
from finetune.data.layout import Clip, list_train_clips
from finetune.errors import RunError
from finetune.run_folder import RunFolder
from finetune.training.checkpoint import set_rng_state
from finetune.training.distributed import Dist, StepBatchSampler, barrier
from finetune.training.ema import RAW, WeightEMA
from finetune.training.engine import (
    Trainer,
    TrainState,
    choose_precision,
    make_loss_fn,
    make_scaler,
    precision_name,
    sdpa_backend,
)
from finetune.training.loaders import (
    class_counts,
    eval_dataset,
    eval_loader,
    mean_std,
    split_clips,
    train_dataset,
    train_loader,
)
from finetune.training.models import build_model, describe_backbone, model_from_spec, model_spec
from finetune.training.optim import build_optimizer
from finetune.training.schedule import make_schedule


@dataclass
class Run:
    """One run's parts: made by `setup_run`, advanced by `train_loop`, closed by `finish_run`."""
    cfg: C.TrainConfig
    folder: RunFolder
    data: Path
    preset: str
    d: Dist
    classes: list[str]
    train_clips: list[Clip]
    val_clips: list[Clip]
    model: torch.nn.Module  # the plain network: saved, evaluated in predict, given its layer decay
    spec: dict  # how to rebuild `model` without its weights file (finetune.training.models.model_spec)
    trainer: Trainer  # what an optimizer step needs: net (DDP / compiled), optimizer, scaler, schedule, loss
    loader: DataLoader
    sampler: StepBatchSampler  # the loader's: this process's clips of every step
    val_loader: DataLoader | None  # None without validation clips
    generator: torch.Generator  # Mixup draws
    bad_log: BadFrameLog
    clips_per_step: int
    counts: list[int]  # training clips per class: the prior predict falls back on; fixed for the run
    state: TrainState  # epoch, step, bad steps: advanced by the loop, saved in every checkpoint
    seen: list[str] = field(default_factory=list)  # clip names this process trained on, in order
    record: dict = field(default_factory=dict)  # the last epoch's metrics
    epoch_times: list[float] = field(default_factory=list)
    final: dict | None = None  # the last epoch's validation predictions, when they are the final pass's too
    weights: str | None = None  # where the starting weights came from (--weights), kept in every checkpoint
    ema: WeightEMA | None = None  # the weights' moving average (cfg.ema > 0); the trainer updates it every step
    weights_used: str = RAW  # "raw" or "ema": the better at the latest validation, what the predictions use


def _open(cfg, data: Path, folder: RunFolder, weights, resume: bool, preset: str, d: Dist, resume_overrides=()):
    """(config, checkpoint or None, clips, classes, model): a resumed run's own, or a fresh run's, folder written."""
    ckpt = None
    if resume:
        ckpt = folder.load_checkpoint()
        # the run's own config wins over any new flags but the loading settings; a simulated kill is not
        # simulated twice
        cfg = C.apply_overrides(C.replace(C.from_dict(ckpt["config"]), stop_after_steps=0), list(resume_overrides))
    elif folder.started():
        raise RunError(f"{folder.path} already holds a run ({folder.checkpoint.name}); pass --resume to continue "
                       "it or choose another --out")
    C.validate(cfg)
    clips, classes = list_train_clips(data)
    if ckpt is not None and ckpt["classes"] != classes:
        raise RunError(f"{folder.path} was trained on classes {ckpt['classes'][:5]}..., {data} has {classes[:5]}...; "
                       "resume it with the data it was trained on")
    torch.manual_seed(cfg.seed)  # the fresh head's init: identical on every process
    # the weights load before anything is written: a wrong --weights leaves no half-made run folder
    model = model_from_spec(ckpt["model_spec"]) if ckpt else build_model(cfg, len(classes), weights)
    if ckpt:
        model.load_state_dict(ckpt["model"])
    if d.main:
        folder.path.mkdir(parents=True, exist_ok=True)
        source = ckpt.get("weights") if ckpt else (str(weights) if weights else None)
        print(C.describe(cfg, preset) + f"\n  {'architecture':<22} = {describe_backbone(model)}"
              f"\n  {'weights':<22} = {source or 'none: a fresh init'}", flush=True)
        # config.json: the TrainConfig, and what the file it started from holds (the architecture is the file's)
        folder.write_config({**C.to_dict(cfg), "architecture": describe_backbone(model), "weights": source})
        folder.write_classes(classes)
    barrier(d)  # the run folder exists before any process writes into it
    return cfg, ckpt, clips, classes, model


def setup_run(cfg, data: Path, folder: RunFolder, weights, resume: bool, preset: str, d: Dist,
              resume_overrides=()) -> Run:
    """Everything the epochs need, on this process's device; a resumed run's saved state put back."""
    cfg, ckpt, clips, classes, model = _open(cfg, data, folder, weights, resume, preset, d, resume_overrides)
    tr_clips, va_clips = split_clips(clips, cfg, folder.path, write=d.main, read=d.main or ckpt is not None)
    spec = model_spec(model)
    if cfg.grad_checkpointing:
        model.set_grad_checkpointing(True)
    model.to(d.device)
    ema = WeightEMA(model, cfg.ema) if cfg.ema > 0 else None  # a copy on the device, made before DDP wraps it
    if d.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(d.device)  # this run's peak, not an earlier run's in the same process
    optimizer = build_optimizer(model, cfg, lr=1.0)  # the real lr is set by the schedule every step
    net = model  # what the loop calls: DDP first, then compile around it (DDP's communication hooks survive)
    if d.enabled:
        net = DistributedDataParallel(net, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)
    # one optimizer step = a fixed number of clips, set when the run starts: a run resumed on
    # another number of processes keeps its effective batch, lr and schedule
    per_step = ckpt.get("clips_per_step") if ckpt else None
    per_step = per_step or cfg.batch_size * cfg.accum_steps * d.world
    bad_log = BadFrameLog(folder.bad_frames)
    loader, sampler = train_loader(train_dataset(tr_clips, cfg, bad_log), cfg, d, per_step)
    norm = mean_std(cfg, d.device)
    val_loader = eval_loader(eval_dataset(va_clips, cfg, bad_log=bad_log), cfg, d) if va_clips else None
    peak_lr = cfg.lr or cfg.blr * per_step / 256
    schedule = make_schedule(cfg, sampler.steps_per_epoch, peak_lr)
    dtype = choose_precision(cfg.precision, d.device)
    scaler = make_scaler(dtype, d.device)
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + d.rank)  # Mixup draws
    state = TrainState()
    if ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler.is_enabled() and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        state = TrainState(**ckpt["state"])
        if ema is not None:
            ema.load_state_dict(ckpt["ema"])
        if d.rank < len(ckpt["rng"]):  # a process the saved run did not have keeps its fresh seeds
            set_rng_state(ckpt["rng"][d.rank], generator, d.device)
    if d.main:
        micro = math.ceil(per_step / d.world / cfg.batch_size)
        print(f"{len(tr_clips)} train / {len(va_clips)} val clips, {len(classes)} classes; {d.world} process(es) on "
              f"{d.device}; precision {precision_name(dtype)}{' + loss scaling' if scaler.is_enabled() else ''}, "
              f"attention kernel {sdpa_backend(d.device, dtype)}; {per_step} clips per step ({micro} micro-batch(es) "
              f"of {cfg.batch_size}{f' x {cfg.repeated_aug} copies' if cfg.repeated_aug > 1 else ''} per process), "
              f"peak lr {peak_lr:.3g}, {sampler.steps_per_epoch} steps/epoch"
              + (f"; resuming at epoch {state.epoch + 1}, step {state.step_in_epoch}" if ckpt else ""), flush=True)
    counts = class_counts(tr_clips, len(classes))
    trainer = Trainer(net, optimizer, scaler, schedule, make_loss_fn(cfg, len(classes), generator), cfg, d, dtype,
                      norm, ema=ema)
    run = Run(cfg, folder, data, preset, d, classes, tr_clips, va_clips, model, spec, trainer, loader, sampler,
              val_loader, generator, bad_log, per_step, counts, state)
    run.weights = ckpt.get("weights") if ckpt else (str(weights) if weights else None)
    run.ema, run.weights_used = ema, ckpt.get("weights_used", RAW) if ckpt else RAW
    return run
