"""`python -m finetune train`: one fine-tuning run, from a data folder and weights to RUN/ (seed IV.3).

    RUN/config.json      the full config (also printed at the start)
    RUN/classes.json     class names = the training folders, in index order
    RUN/split.json       the grouped train/validation split
    RUN/checkpoint.pt    the latest good state (every `save_every` steps and every epoch)
    RUN/metrics.jsonl    one line per epoch; RUN/curves.png the same as a plot
    RUN/summary.json     written when the run is finished (ablate skips such runs)
    RUN/val_probs.json   the final validation pass's probabilities per clip (`ensemble`, `ablate`)
    RUN/report.md        per-class accuracy, confusion matrix, worst clips (`python -m finetune report`)
    RUN/bad_frames.txt   frames that could not be decoded (replaced by a neighbour) and clips left out

The same command under `torchrun --nproc_per_node N` trains on N GPUs (DDP).
`--resume` continues a killed run from RUN/checkpoint.pt: same epoch, same step
inside the epoch, same optimizer moments, loss scale and random state; on
another number of GPUs too (a 2-GPU Kaggle run finished on one GPU), with the
same effective batch and lr schedule.
"""
import json
import math
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel

from finetune import config as C
from finetune.training.checkpoint import CHECKPOINT, atomic_save, load_checkpoint, rng_state, set_rng_state
from finetune.data.decode import BadFrameLog, read_bad_frames
from finetune.training.distributed import barrier, gather, setup, teardown
from finetune.training.engine import (NonFiniteLoss, StopRun, Trainer, TrainState, choose_precision, evaluate,
                                     make_loss_fn, make_scaler, peak_memory_gb, sdpa_backend, train_epoch)
from finetune.errors import RunError
from finetune.data.layout import find_data_root, list_train_clips
from finetune.training.loaders import eval_dataset, eval_loader, mean_std, split_clips, train_dataset, train_loader
from finetune.training.models import build_model, model_from_spec, model_spec
from finetune.training.optim import build_optimizer
from finetune.training.runlog import append_metrics, plot_curves, read_metrics
from finetune.training.schedule import make_schedule, set_lr
from finetune.training.probs import mean_nll
from finetune.training.val_probs import save_val_predictions, val_predictions

SUMMARY = "summary.json"
BAD_FRAMES = "bad_frames.txt"


def train(cfg: C.TrainConfig, data, out, weights=None, resume: bool = False, preset: str = "",
          device: str = "auto") -> dict:
    """Run (or resume) one training run; returns the summary (also in RUN/summary.json)."""
    d = setup(device)
    try:
        return _train(cfg, Path(data), Path(out), weights, resume, preset, d)
    finally:
        teardown(d)


def _train(cfg, data: Path, run: Path, weights, resume: bool, preset: str, d) -> dict:
    ckpt = None
    if resume:
        ckpt = load_checkpoint(run)
        # the run's own config wins over any new flags; a simulated kill is not simulated twice
        cfg = C.replace(C.from_dict(ckpt["config"]), stop_after_steps=0)
    elif (run / CHECKPOINT).exists():
        raise RunError(f"{run} already holds a run ({CHECKPOINT}); pass --resume to continue it or "
                       "choose another --out")
    C.validate(cfg)
    clips, classes = list_train_clips(data)
    if ckpt is not None and ckpt["classes"] != classes:
        raise RunError(f"{run} was trained on classes {ckpt['classes'][:5]}..., {data} has {classes[:5]}...; "
                       "resume it with the data it was trained on")
    torch.manual_seed(cfg.seed)  # the fresh head's init: identical on every process
    # the weights load before anything is written: a wrong --weights leaves no half-made run folder
    model = model_from_spec(ckpt["model_spec"]) if ckpt else build_model(cfg, len(classes), weights)
    if ckpt:
        model.load_state_dict(ckpt["model"])
    if d.main:
        run.mkdir(parents=True, exist_ok=True)
        print(C.describe(cfg, preset), flush=True)
        C.save(cfg, run / "config.json")
        (run / "classes.json").write_text(json.dumps(classes, indent=1))
    barrier(d)  # the run folder exists before any process writes into it
    tr_clips, va_clips = split_clips(clips, cfg, run, write=d.main, read=d.main or ckpt is not None)

    spec = model_spec(model)
    if cfg.grad_checkpointing:
        model.set_grad_checkpointing(True)
    model.to(d.device)  # `model` stays the plain network: saved, evaluated in predict, given its layer decay
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
    per_step = ckpt["clips_per_step"] if ckpt and "clips_per_step" in ckpt else cfg.batch_size * cfg.accum_steps * d.world
    bad_log = BadFrameLog(run / BAD_FRAMES)
    tr_ds = train_dataset(tr_clips, cfg, bad_log)
    loader, sampler = train_loader(tr_ds, cfg, d, per_step)
    norm = mean_std(cfg, d.device)
    val_loader = eval_loader(eval_dataset(va_clips, cfg, bad_log=bad_log), cfg, d) if va_clips else None
    steps_per_epoch = sampler.steps_per_epoch
    peak_lr = cfg.lr or cfg.blr * per_step / 256
    schedule = make_schedule(cfg, steps_per_epoch, peak_lr)
    dtype = choose_precision(cfg.precision, d.device)
    scaler = make_scaler(dtype, d.device)
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + d.rank)  # Mixup draws
    state = TrainState()
    if ckpt:
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler.is_enabled() and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        state = TrainState(**ckpt["state"])
        if d.rank < len(ckpt["rng"]):  # a process the saved run did not have keeps its fresh seeds
            set_rng_state(ckpt["rng"][d.rank], generator, d.device)
    if d.main:
        micro = math.ceil(per_step / d.world / cfg.batch_size)
        print(f"{len(tr_clips)} train / {len(va_clips)} val clips, {len(classes)} classes; {d.world} process(es) on "
              f"{d.device}; precision {precision_name(dtype)}{' + loss scaling' if scaler.is_enabled() else ''}, "
              f"attention kernel {sdpa_backend(d.device, dtype)}; {per_step} clips per step ({micro} micro-batch(es) "
              f"of {cfg.batch_size} per process), peak lr {peak_lr:.3g}, {steps_per_epoch} steps/epoch"
              + (f"; resuming at epoch {state.epoch + 1}, step {state.step_in_epoch}" if ckpt else ""), flush=True)

    counts = class_counts(tr_clips, len(classes))  # the prior predict falls back on; fixed for the run

    def save(st):
        rngs = gather(rng_state(generator, d.device), d)  # every process's random state: each resumes its own
        if d.main:
            atomic_save({"model": model.state_dict(), "model_spec": spec, "optimizer": optimizer.state_dict(),
                         "scaler": scaler.state_dict() if scaler.is_enabled() else None, "state": asdict(st),
                         "clips_per_step": per_step, "rng": rngs, "config": C.to_dict(cfg), "classes": classes,
                         "class_counts": counts, "preset": preset}, run / CHECKPOINT)

    def on_step(st):
        # mid-epoch, save only after a good step: a resumed run then retries the skipped ones
        if (cfg.save_every and st.global_step % cfg.save_every == 0 and st.step_in_epoch < steps_per_epoch
                and st.bad_steps == 0):
            save(st)
        if cfg.stop_after_steps and st.global_step >= cfg.stop_after_steps:
            raise StopRun(f"stopped after {st.global_step} optimizer steps (stop_after_steps)")

    trainer = Trainer(net, optimizer, scaler, schedule, make_loss_fn(cfg, len(classes), generator), cfg, d, dtype,
                      norm)
    seen, record, times = [], {}, []
    final = None  # the last epoch's validation predictions, when they are the final pass's too
    try:
        while state.epoch < cfg.epochs:
            epoch = state.epoch
            sampler.set_epoch(epoch, start_step=state.step_in_epoch)
            seen += [tr_clips[i].name for step in sampler.steps() for micro in step for i in micro]  # this process's
            set_lr(optimizer, schedule.lr(min(state.global_step, schedule.total_steps - 1)))
            stats = train_epoch(trainer, loader, sampler, state, on_step)
            record = {"epoch": epoch, "stage": schedule.stage(state.global_step - 1), "global_step":
                      state.global_step, "lr": schedule.lr(state.global_step - 1), **stats}
            if val_loader is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
                if epoch + 1 == cfg.epochs and cfg.tta == "center":  # the final pass sees the same one view:
                    final = val_predictions(trainer, va_clips, cfg.tta, bad_log)  # keep its per-clip probabilities
                    val = {"loss": mean_nll(final["probs"], final["labels"]), "acc": final["acc"]}
                else:
                    val = evaluate(trainer, val_loader)
                record.update(val_loss=val["loss"], val_acc=val["acc"])
            record["peak_mem_gb"], record["mem_kind"] = peak_memory_gb(d.device)
            times.append(stats["train_time_s"])
            state.epoch, state.step_in_epoch = epoch + 1, 0
            save(state)  # always: a skipped step leaves the weights as they were, and predict needs the last epoch
            if d.main:
                append_metrics(run, record)
                plot_curves(run, title=f"{preset or cfg.model}: {run.name}")
                print(f"epoch {epoch + 1}/{cfg.epochs}: " + ", ".join(
                    f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float)), flush=True)
    except NonFiniteLoss as err:
        print(f"stopping: {err}", file=sys.stderr, flush=True)
        raise
    except StopRun as stop:
        if d.main:
            print(stop, flush=True)
        # every process stops at the same step; wait for rank 0's last save before leaving the group, or a
        # process that left early closes connections the others still use (gloo then aborts it)
        barrier(d)
        return {"stopped": True, "global_step": state.global_step, "seen": seen}
    if not record:  # resumed after the last epoch had been saved: take the logged numbers
        record = (read_metrics(run) or [{}])[-1]
    summary = {"preset": preset, "model": cfg.model, "epochs": cfg.epochs, "global_step": state.global_step,
               "steps_per_epoch": steps_per_epoch, "train_acc": record.get("train_acc"),
               "val_acc": record.get("val_acc"), "time_per_epoch_s": sum(times) / max(len(times), 1),
               "clips_per_s": record.get("clips_per_s"), "peak_mem_gb": record.get("peak_mem_gb"),
               "mem_kind": record.get("mem_kind"), "world": d.world, "device": str(d.device), "tta": cfg.tta,
               "precision": precision_name(dtype)}
    summary["tta_acc"] = summary["val_acc"]
    if val_loader is not None:  # the final pass, with the run's views; its predictions feed `report` and `ensemble`
        val = final or val_predictions(trainer, va_clips, cfg.tta, bad_log)  # one-view runs: the last epoch's
        if cfg.tta != "center":
            summary["tta_acc"] = val["acc"]
        if d.main:
            save_val_predictions(run, val, classes, find_data_root(data))  # RUN/val_probs.json, RUN/report.md
    if d.main:
        bad = read_bad_frames(run / BAD_FRAMES)
        summary["bad_frames"] = sum(kind == "frame" for kind, _, _ in bad)
        summary["bad_clips"] = [path for kind, path, _ in bad if kind == "clip"]
        (run / SUMMARY).write_text(json.dumps(summary, indent=1))
        train_acc = f"{summary['train_acc']:.4f}" if summary["train_acc"] is not None else "n/a"
        print(f"done: train acc {train_acc}, val acc {summary['val_acc']}, {cfg.tta} acc "
              f"{summary['tta_acc']}; {summary['time_per_epoch_s']:.1f} s/epoch -> {run}", flush=True)
        if bad:
            print(f"note: {summary['bad_frames']} unreadable frame(s) replaced by a neighbour and "
                  f"{len(summary['bad_clips'])} clip(s) left out; listed in {run / BAD_FRAMES}", flush=True)
    barrier(d)  # the other processes return (and `ablate` reads summary.json) only once rank 0 wrote it
    summary["seen"] = seen
    return summary


def precision_name(dtype) -> str:
    return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def class_counts(clips, num_classes: int) -> list[int]:
    """Training clips per class: the prior `predict` falls back on for a test clip it cannot read."""
    counts = [0] * num_classes
    for clip in clips:
        counts[clip.label] += 1
    return counts


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="fine-tune on DATA with a preset (exp1..exp4, ...) into RUN",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the data folder (data_train/<class>/<clip>/*.jpg)")
    p.add_argument("--weights", help="VideoMAE / ViT weights: HF folder, .pth, .safetensors, or an HF hub id")
    p.add_argument("--preset", default="exp4", choices=list(C.PRESETS), help="the seed's experiment (default exp4)")
    p.add_argument("--out", required=True, help="run folder to write (or to continue with --resume)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="override config fields")
    p.add_argument("--device", default="auto", help="auto (GPU if present) or cpu")
    for name in ("epochs", "batch_size", "accum_steps", "num_frames", "num_workers"):
        p.add_argument("--" + name.replace("_", "-"), type=int, help=f"shortcut for --set {name}=...")
    p.add_argument("--lr", type=float, help="shortcut for --set lr=...")
    p.set_defaults(func=_run)


def _run(args) -> int:
    cfg = C.get_preset(args.preset)
    shortcuts = [f"{n}={getattr(args, n)}" for n in ("epochs", "batch_size", "accum_steps", "num_frames",
                                                     "num_workers", "lr") if getattr(args, n) is not None]
    cfg = C.apply_overrides(cfg, shortcuts + list(args.set))
    if args.resume and (args.set or shortcuts):
        print("note: --resume continues with the run's saved config; --set and shortcuts are ignored")
    train(cfg, args.data, args.out, args.weights, args.resume, args.preset, args.device)
    return 0
