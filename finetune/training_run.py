"""One fine-tuning run, from a data folder and weights to a run folder (the course notes, section IV.3).

`train` is what `python -m finetune train` and a notebook call: a preset, the
`--set` overrides and field shortcuts (`epochs=30`) make the TrainConfig, then
`run_training` runs it in three steps, each a function:

    setup_run    read or start the run folder (finetune/run_folder.py names its files), build the model,
                 loaders, optimizer and schedule; on `resume`, put back the saved state
    train_loop   the epochs: train, validate when due (the trained weights and, with `ema`, their moving
                 average: the better one is what the predictions use), checkpoint, log metrics and curves
    finish_run   the final validation pass (RUN/val_probs.json, RUN/report.md), RUN/summary.json

The same code runs under `torchrun --nproc_per_node N` on N GPUs (DDP).
`resume` continues a killed run from RUN/checkpoint.pt: same epoch, same step
inside the epoch, same optimizer moments, loss scale and random state; on
another number of GPUs too (a 2-GPU Kaggle run finished on one GPU), with the
same effective batch and lr schedule.
"""
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from finetune import config as C
from finetune.backbones import with_recipe
from finetune.data.decode import BadFrameLog, read_bad_frames
from finetune.data.layout import Clip, find_data_root, list_train_clips
from finetune.disk import WriteFailed, is_disk_error
from finetune.errors import RunError
from finetune.run_folder import RunFolder
from finetune.training.checkpoint import rng_state, set_rng_state
from finetune.training.distributed import Dist, StepBatchSampler, barrier, gather, setup, teardown
from finetune.training.ema import EMA, RAW, WeightEMA
from finetune.training.engine import (
    NonFiniteLoss,
    StopRun,
    Trainer,
    TrainState,
    choose_precision,
    evaluate,
    make_loss_fn,
    make_scaler,
    peak_memory_gb,
    precision_name,
    sdpa_backend,
    train_epoch,
)
from finetune.training.killed_worker import worker_death, worker_killed
from finetune.training.loaders import (
    class_counts,
    eval_dataset,
    eval_loader,
    mean_std,
    num_workers,
    split_clips,
    train_dataset,
    train_loader,
)
from finetune.training.models import build_model, describe_backbone, model_from_spec, model_spec
from finetune.training.optim import build_optimizer
from finetune.training.probs import mean_nll
from finetune.training.runlog import append_metrics, plot_curves, read_metrics
from finetune.training.schedule import make_schedule, set_lr
from finetune.training.val_probs import save_val_predictions, val_predictions


def train(data, out, weights=None, preset: str = "exp4", overrides=(), *, resume: bool = False,
          device: str = "auto", **fields) -> dict:
    """Run (or, with `resume`, continue) one training run into the folder `out`; returns its summary.

    `preset` names a row of the course notes' ablation (finetune.config.PRESETS), `overrides` are
    `--set` pairs ("lr=1e-4") and `fields` shortcuts for them (`epochs=30`), checked the same way.
    A resumed run keeps its saved config, but for the loading settings of `C.RESUME_FIELDS` (what a killed
    worker asks to lower). Also written to RUN/summary.json."""
    user = C.as_overrides(fields) + list(overrides)
    cfg = C.apply_overrides(C.get_preset(preset), user)  # a resumed run's own config wins: a bad --set still errs
    if not resume:  # the backbone's official values between the preset and `user` (finetune/backbones.py)
        cfg = with_recipe(C.get_preset(preset), user, weights)
    kept = C.resume_overrides(user) if resume else []
    if resume and len(kept) < len(user):
        print(f"note: --resume continues with the run's saved config; --set and shortcuts are ignored, but for "
              f"how clips are loaded ({', '.join(C.RESUME_FIELDS)})")
    return run_training(cfg, data, out, weights, resume, preset, device, resume_overrides=kept)


def run_training(cfg: C.TrainConfig, data, out, weights=None, resume: bool = False, preset: str = "",
                 device: str = "auto", resume_overrides=()) -> dict:
    """`train` from a TrainConfig (ignored on `resume`: the run's own config wins, changed only by the
    `resume_overrides` pairs of C.RESUME_FIELDS). A full disk or a killed data-loading worker ends it with
    one error that names the run's last good checkpoint (`_why_it_stopped`)."""
    d = setup(device)
    folder, run = RunFolder(out), None
    try:
        run = setup_run(cfg, Path(data), folder, weights, resume, preset, d, resume_overrides)
        stopped = train_loop(run)  # the short result of a run stopped on purpose, else None
        return stopped if stopped is not None else finish_run(run)
    except Exception as err:  # only a full disk and a killed worker become one line; the rest is re-raised
        told = _why_it_stopped(err, folder, run, d)
        if told is None:
            raise
        raise told from err
    finally:
        teardown(d)


def _why_it_stopped(err: Exception, folder: RunFolder, run, d: Dist) -> Exception | None:
    """A full disk (`WriteFailed`, or a bare OSError saying so) or a killed data-loading worker, as one user
    error naming the last good checkpoint and how to continue; None for anything else. A WriteFailed gets
    its sentence in place (and None back: it is re-raised as it is)."""
    keep = folder.describe_last_checkpoint()
    again = "run the same command again" + (" (`train`: with --resume) to continue from it" if folder.started()
                                            else "")  # no checkpoint: --resume would have nothing to read
    if isinstance(err, WriteFailed) or is_disk_error(err):
        told = err if isinstance(err, WriteFailed) else WriteFailed(err.filename or folder.path, err)
        told.keep = f"{keep} Free some space (or choose an --out on a disk with room), then {again}."
        return None if told is err else told
    death = worker_death(err)
    if death is None or run is None:
        return None
    cfg, state = run.cfg, run.state
    where = f"after optimizer step {state.global_step} (in epoch {min(state.epoch + 1, cfg.epochs)} of {cfg.epochs})"
    return worker_killed(death, num_workers(cfg, d), cfg.batch_size, cfg.prefetch, where, f"{again}. {keep}")


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


def save_checkpoint(run: Run, best: bool = False) -> None:
    """RUN/checkpoint.pt: the model, the optimizer and loss scaler, where the run is, every process's random state.
    `best`: RUN/best.pt too, first (a kill between the two leaves the older checkpoint, whose resumed run
    trains this epoch again and judges it again)."""
    t, d = run.trainer, run.d
    rngs = gather(rng_state(run.generator, d.device), d)  # every process's random state: each resumes its own
    if d.main:
        state = {
            "model": run.model.state_dict(), "model_spec": run.spec, "optimizer": t.optimizer.state_dict(),
            "scaler": t.scaler.state_dict() if t.scaler.is_enabled() else None, "state": asdict(run.state),
            "clips_per_step": run.clips_per_step, "rng": rngs, "config": C.to_dict(run.cfg), "classes": run.classes,
            "class_counts": run.counts, "preset": run.preset, "weights": run.weights,
            "weights_used": run.weights_used, **({"ema": run.ema.state_dict()} if run.ema is not None else {})}
        if best:
            run.folder.save_best(state)
        run.folder.save_checkpoint(state)


def is_new_best(run: Run, record: dict) -> bool:
    """With `keep_best`: does this epoch's validation accuracy (the better of the trained and the EMA
    weights) beat every earlier epoch's? If so it becomes `state.best_val_acc`, saved with the checkpoint."""
    accs = [record[k] for k in ("val_acc", "ema_val_acc") if record.get(k) is not None]
    if not run.cfg.keep_best or not accs or max(accs) <= run.state.best_val_acc:
        return False
    run.state.best_val_acc = max(accs)
    return True


def train_loop(run: Run) -> dict | None:
    """The epochs left, from `run.state` on; None when every epoch is done, or the short result of a run
    stopped on purpose (`stop_after_steps`). A checkpoint after every epoch and every `save_every` steps."""
    cfg, d, t, state, sampler = run.cfg, run.d, run.trainer, run.state, run.sampler
    steps_per_epoch, schedule = sampler.steps_per_epoch, t.schedule

    def on_step(st):
        # mid-epoch, save only after a good step: a resumed run then retries the skipped ones
        if (cfg.save_every and st.global_step % cfg.save_every == 0 and st.step_in_epoch < steps_per_epoch
                and st.bad_steps == 0):
            save_checkpoint(run)
        if cfg.stop_after_steps and st.global_step >= cfg.stop_after_steps:
            raise StopRun(f"stopped after {st.global_step} optimizer steps (stop_after_steps)")

    try:
        while state.epoch < cfg.epochs:
            epoch = state.epoch
            sampler.set_epoch(epoch, start_step=state.step_in_epoch)
            run.seen += [run.train_clips[i].name for step in sampler.steps() for micro in step for i in micro]
            set_lr(t.optimizer, schedule.lr(min(state.global_step, schedule.total_steps - 1)))
            stats = train_epoch(t, run.loader, sampler, state, on_step)
            record = {"epoch": epoch, "stage": schedule.stage(state.global_step - 1), "global_step":
                      state.global_step, "lr": schedule.lr(state.global_step - 1), **stats}
            if run.val_loader is not None and ((epoch + 1) % cfg.eval_every == 0 or epoch + 1 == cfg.epochs):
                record.update(validate_epoch(run, last=epoch + 1 == cfg.epochs))
            record["peak_mem_gb"], record["mem_kind"] = peak_memory_gb(d.device)
            run.record = record
            run.epoch_times.append(stats["train_time_s"])
            state.epoch, state.step_in_epoch = epoch + 1, 0
            # always: a skipped step leaves the weights as they were; predict needs the last epoch
            save_checkpoint(run, best=is_new_best(run, record))
            if d.main:
                append_metrics(run.folder.path, record)
                plot_curves(run.folder.path, title=f"{run.preset or cfg.model}: {run.folder.name}")
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
        return {"stopped": True, "global_step": state.global_step, "seen": run.seen}
    return None


def validate_epoch(run: Run, last: bool) -> dict:
    """val_loss / val_acc of the trained weights and, with EMA, ema_val_loss / ema_val_acc of the averaged ones.
    The better of the two (the trained ones on a tie) becomes `run.weights_used`, the weights of the run's
    predictions. `last`: the last epoch, whose one-view pass is kept as the final one when the run's views are 1."""
    t, cfg = run.trainer, run.cfg
    nets = {RAW: None} | ({EMA: run.ema.model} if run.ema is not None else {})  # None: the trained t.net
    record, finals = {}, {}
    for name, net in nets.items():
        prefix = "ema_" if name == EMA else ""
        if last and cfg.tta == "center":  # the final pass sees the same one view: keep its probabilities
            final = finals[name] = val_predictions(t, run.val_clips, cfg.tta, run.bad_log, net=net)
            val = {"loss": mean_nll(final["probs"], final["labels"]), "acc": final["acc"]}
        else:
            val = evaluate(t, run.val_loader, net=net, desc=f"{prefix}val")
        record.update({f"{prefix}val_loss": val["loss"], f"{prefix}val_acc": val["acc"]})
    run.weights_used = EMA if run.ema is not None and record["ema_val_acc"] > record["val_acc"] else RAW
    run.final = finals.get(run.weights_used)
    return record


def finish_run(run: Run) -> dict:
    """The summary of a run whose epochs are all done: the final validation pass with the run's views
    (RUN/val_probs.json and RUN/report.md), the bad frames met, RUN/summary.json; printed in one line."""
    cfg, d, folder = run.cfg, run.d, run.folder
    record = run.record or (read_metrics(folder.path) or [{}])[-1]  # resumed after the last epoch: the logged one
    times = run.epoch_times
    summary = {"preset": run.preset, "model": describe_backbone(run.model), "backbone": cfg.backbone,
               "weights": run.weights, "epochs": cfg.epochs, "global_step": run.state.global_step,
               "steps_per_epoch": run.sampler.steps_per_epoch, "train_acc": record.get("train_acc"),
               "val_acc": record.get("val_acc"), "time_per_epoch_s": sum(times) / max(len(times), 1),
               "clips_per_s": record.get("clips_per_s"), "peak_mem_gb": record.get("peak_mem_gb"),
               "mem_kind": record.get("mem_kind"), "world": d.world, "device": str(d.device), "tta": cfg.tta,
               "precision": precision_name(run.trainer.dtype)}
    summary["weights_used"] = run.weights_used  # what predict, export and val_probs.json use (training/ema.py)
    if run.ema is not None:
        summary["ema_val_acc"] = record.get("ema_val_acc")
    summary["tta_acc"] = summary["val_acc"]
    if run.val_loader is not None:  # the final pass, with the run's views; its predictions feed report and ensemble
        net = run.ema.model if run.weights_used == EMA else None  # None: the trained weights
        val = run.final or val_predictions(run.trainer, run.val_clips, cfg.tta, run.bad_log, net=net)
        if cfg.tta != "center" or run.weights_used == EMA:  # the final pass's own accuracy
            summary["tta_acc"] = val["acc"]
        if d.main:
            save_val_predictions(folder.path, val, run.classes, find_data_root(run.data))
    if d.main:
        bad = read_bad_frames(folder.bad_frames)
        summary["bad_frames"] = sum(kind == "frame" for kind, _, _ in bad)
        summary["bad_clips"] = [path for kind, path, _ in bad if kind == "clip"]
        folder.write_summary(summary)
        train_acc = f"{summary['train_acc']:.4f}" if summary["train_acc"] is not None else "n/a"
        used = f" ({run.weights_used} weights)" if run.ema is not None else ""
        val = (f"val acc {summary['val_acc']}, {cfg.tta} acc {summary['tta_acc']}{used}" if run.val_clips else
               f"no validation clips (val_fraction={cfg.val_fraction}: trained on every labelled clip)")
        print(f"done: train acc {train_acc}, {val}; {summary['time_per_epoch_s']:.1f} s/epoch -> {folder.path}",
              flush=True)
        if bad:
            print(f"note: {summary['bad_frames']} unreadable frame(s) replaced by a neighbour and "
                  f"{len(summary['bad_clips'])} clip(s) left out; listed in {folder.bad_frames}", flush=True)
    barrier(d)  # the other processes return (and `ablate` reads summary.json) only once rank 0 wrote it
    summary["seen"] = run.seen
    return summary
