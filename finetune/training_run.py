"""One fine-tuning run, from a data folder and weights to a run folder (the course notes, section IV.3).

`train` is what `python -m finetune train` and a notebook call: a preset, the
`--set` overrides and field shortcuts (`epochs=30`) make the TrainConfig, then
`run_training` runs it in three steps, each a function:

    setup_run    read or start the run folder (finetune/run_folder.py names its files), build the model,
                 loaders, optimizer and schedule; on `resume`, put back the saved state (finetune/run_setup.py)
    train_loop   the epochs: train, validate when due (the trained weights and, with `ema`, their moving
                 average: the better one is what the predictions use), checkpoint, log metrics and curves
    finish_run   the final validation pass (RUN/val_probs.json, RUN/report.md), RUN/summary.json

The same code runs under `torchrun --nproc_per_node N` on N GPUs (DDP).
`resume` continues a killed run from RUN/checkpoint.pt: same epoch, same step
inside the epoch, same optimizer moments, loss scale and random state; on
another number of GPUs too (a 2-GPU Kaggle run finished on one GPU), with the
same effective batch and lr schedule.
"""
import sys
from dataclasses import asdict
from pathlib import Path

from finetune import config as C
from finetune.backbones import with_recipe
from finetune.data.decode import read_bad_frames
from finetune.data.layout import find_data_root
from finetune.disk import WriteFailed, is_disk_error
from finetune.run_folder import RunFolder
from finetune.run_setup import Run, setup_run
from finetune.training.checkpoint import rng_state
from finetune.training.distributed import Dist, barrier, gather, setup, teardown
from finetune.training.ema import EMA, RAW
from finetune.training.engine import (
    NonFiniteLoss,
    StopRun,
    evaluate,
    peak_memory_gb,
    precision_name,
    train_epoch,
)
from finetune.training.killed_worker import worker_death, worker_killed
from finetune.training.loaders import (
    num_workers,
)
from finetune.training.models import describe_backbone
from finetune.training.probs import mean_nll
from finetune.training.runlog import append_metrics, plot_curves, read_metrics
from finetune.training.schedule import set_lr
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
