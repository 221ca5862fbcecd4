"""What a GPU run does, checked on the CPU: precision choice, skipped fp16/bf16 steps, host syncs per
step, resuming a run on another number of processes, and a data order that does not depend on it."""
import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

import finetune.run_setup as run_setup
import finetune.training.engine as engine
import finetune.training_run as train_module
from finetune.config import apply_overrides, get_preset
from finetune.run_folder import load_checkpoint
from finetune.training.distributed import Dist, StepBatchSampler
from finetune.training.engine import choose_precision, make_scaler
from finetune.training.host_syncs import count_host_syncs
from finetune.training_run import run_training as train

TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "hflip=0",
        "val_fraction=0.2", "lr=1e-3", "drop_path=0.1", "tta=center"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(toy_dataset):
    return toy_dataset(classes=3, clips_per_class=6, test_clips=2,
                       height=24, width=32, frames=(4, 6), seed=3)


def tiny(*extra, preset="exp3"):
    return apply_overrides(get_preset(preset), TINY + list(extra))


# ---- precision --------------------------------------------------------------------------------

@pytest.mark.parametrize("capability, expected", [((7, 5), torch.float16), ((6, 0), torch.float16),
                                                  ((8, 0), torch.bfloat16), ((9, 0), torch.bfloat16)])
def test_precision_follows_compute_capability_not_bf16_emulation(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)  # what a T4 / P100 answers
    dtype = choose_precision("auto", torch.device("cuda", 0))
    assert dtype == expected
    assert make_scaler(dtype, torch.device("cpu")).is_enabled() == (expected == torch.float16)  # fp16 + scaler


def test_precision_on_cpu_and_forced():
    cpu = torch.device("cpu")
    assert choose_precision("auto", cpu) is None and not make_scaler(None, cpu).is_enabled()  # fp32
    assert choose_precision("fp16", cpu) == torch.float16 and choose_precision("bf16", cpu) == torch.bfloat16
    assert choose_precision("fp32", torch.device("cuda", 0)) is None


# ---- non-finite steps are skipped, the run goes on ---------------------------------------------

@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_overflowing_steps_are_skipped_and_the_run_goes_on(data, tmp_path, monkeypatch, capsys, precision):
    """fp16: a huge initial loss scale overflows the scaled gradients (a real overflow, under CPU autocast
    with GradScaler("cpu")), so the first steps are skipped while the scale halves. bf16 needs no scaler:
    the first two losses are made infinite instead. Both runs must finish every step with finite weights."""
    if precision == "fp16":
        monkeypatch.setattr(run_setup, "make_scaler",
                            lambda dtype, device: torch.amp.GradScaler("cpu", init_scale=2.0 ** 24))
    else:
        make_loss_fn, calls = engine.make_loss_fn, [0]

        def poisoned(*args):
            inner = make_loss_fn(*args)

            def loss_for_batch(*a):
                loss, targets, logits = inner(*a)
                calls[0] += 1
                return (loss * float("inf") if calls[0] <= 2 else loss), targets, logits
            return loss_for_batch
        monkeypatch.setattr(run_setup, "make_loss_fn", poisoned)
    cfg = tiny(f"precision={precision}", "epochs=3", "accum_steps=1", "warmup_epochs=0")
    result = train(cfg, data, tmp_path / precision, device="cpu")
    err = capsys.readouterr().err
    skipped = err.count("skipped optimizer step")
    assert skipped >= 2 and result["global_step"] == 3 * result["steps_per_epoch"] > skipped
    ckpt = load_checkpoint(tmp_path / precision)
    assert ckpt["state"]["bad_steps"] < cfg.max_bad_steps
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())
    if precision == "fp16":
        assert ckpt["scaler"]["scale"] <= 2.0 ** (24 - skipped)  # halved at every skipped step
    else:
        assert skipped == 2 and ckpt["scaler"] is None


# ---- host syncs ---------------------------------------------------------------------------------

# The counter (finetune/training/host_syncs.py) records every host read of a tensor (.item(), bool(), .tolist(), ...)
# and every tensor made on the device from Python numbers, made from the step's own code (engine, batch and transform
# helpers, Mixup); the host-side random draws of Mixup and CutMix from CPU generators are not counted.


def test_at_most_one_host_sync_per_optimizer_step(data, tmp_path, monkeypatch):
    counted, steps = [], []
    real_epoch = train_module.train_epoch

    def counted_epoch(*args, **kwargs):
        state = args[3]
        before = state.global_step
        with count_host_syncs() as reads:
            try:
                return real_epoch(*args, **kwargs)
            finally:
                counted.extend(reads)
                steps.append(state.global_step - before)

    monkeypatch.setattr(train_module, "train_epoch", counted_epoch)
    # exp4's first stage mixes (Mixup), its second smooths labels; accumulation 2; logging only per epoch
    cfg = tiny("epochs=2", "stage2_epochs=1", "accum_steps=2", "log_every=1000", preset="exp4")
    train(cfg, data, tmp_path / "run", device="cpu")
    epochs = len(steps)
    assert sum(steps) >= 4
    # one read per optimizer step (is the gradient finite?) + one per epoch (the epoch's sums, for the log)
    assert sum(steps) <= len(counted) <= sum(steps) + epochs, "\n".join(counted)  # (the check is seen at all)


# ---- the data order does not depend on the number of processes ----------------------------------

@pytest.mark.parametrize("n, per_step, start", [(17, 8, 0), (17, 8, 1), (20, 6, 2), (5, 8, 0)])
def test_step_batches_cover_each_step_the_same_way_for_any_number_of_processes(n, per_step, start):
    def per_world(world):
        samplers = [StepBatchSampler(n, 2, per_step, Dist(rank=r, world=world), seed=4) for r in range(world)]
        for s in samplers:
            s.set_epoch(3, start_step=start)
        return [s.steps() for s in samplers]

    one = per_world(1)[0]
    for world in (2, 3):
        ranks = per_world(world)
        assert len({len(r) for r in ranks}) == 1 and len(ranks[0]) == len(one)  # same number of steps
        for s, step in enumerate(one):
            clips = sorted(i for r in ranks for micro in r[s] for i in micro)
            assert set(clips) == {i for micro in step for i in micro}          # the same clips in each step
            assert len({len(r[s]) for r in ranks}) == 1                         # same micro-batch count per rank
            assert len(clips) - len(set(clips)) < world                         # padding: < one clip per process
    if start == 0:  # a whole epoch on one process: every clip exactly once
        assert sorted(i for step in one for micro in step for i in micro) == list(range(n))


# ---- resume on another number of processes -------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, run: str, overrides: list, resume: bool, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    cfg = None if resume else tiny(*overrides)
    result = train(cfg, data, run, resume=resume, device="cpu")
    Path(out, f"rank{rank}.json").write_text(json.dumps({"global_step": result["global_step"],
                                                         "summary_seen": Path(run, "summary.json").exists()}))


def _spawn(world, data, run, overrides, resume, out):
    mp.spawn(_worker, args=(world, _free_port(), str(data), str(run), overrides, resume, str(out)), nprocs=world,
             join=True)
    return [json.loads(Path(out, f"rank{r}.json").read_text()) for r in range(world)]


@pytest.mark.parametrize("saved_on, resumed_on", [(2, 1), (1, 2)])
def test_a_run_saved_by_n_processes_resumes_on_m(data, tmp_path, saved_on, resumed_on):
    # 8 clips per optimizer step in both worlds: 2 clips x accum 4 x 1 process, or 2 x 2 x 2 processes
    settings = ["epochs=2", "stage2_epochs=0", f"accum_steps={8 // (2 * saved_on)}", "save_every=1"]
    full = train(tiny(*settings[:2], "accum_steps=4"), data, tmp_path / "full", device="cpu")
    steps_per_epoch = full["steps_per_epoch"]
    assert steps_per_epoch >= 2
    kill_at = steps_per_epoch + 1  # mid-way through the second epoch
    run = tmp_path / "run"
    if saved_on == 1:
        train(tiny(*settings, f"stop_after_steps={kill_at}"), data, run, device="cpu")
    else:
        _spawn(2, data, run, settings + [f"stop_after_steps={kill_at}"], False, tmp_path)
    saved = load_checkpoint(run)
    assert saved["state"]["global_step"] == kill_at and saved["state"]["step_in_epoch"] == 1
    assert len(saved["rng"]) == saved_on and saved["clips_per_step"] == 8
    if resumed_on == 1:
        results = [train(None, data, run, resume=True, device="cpu")]
    else:
        results = _spawn(2, data, run, [], True, tmp_path)
        assert all(r["summary_seen"] for r in results)  # every rank returned after rank 0 wrote summary.json
    assert [r["global_step"] for r in results] == [full["global_step"]] * resumed_on
    final = load_checkpoint(run)
    adam_steps = {int(s["step"]) for s in final["optimizer"]["state"].values()}
    assert adam_steps == {full["global_step"]}


# ---- the memory count behind docs/04_project71.md's table -------------------------------------------

def test_saved_bytes_count_shrinks_with_checkpointing_and_grows_with_math_attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from finetune.training.memory import per_clip_bytes, saved_bytes
    from videomae import videovit_tiny

    torch.manual_seed(0)
    model = videovit_tiny(num_classes=5, num_frames=4, image_size=32, dim=64, depth=3, heads=2)
    shape = (3, 4, 32, 32)  # 2 x 4 x 4 = 32 tokens of width 64
    fused, step = per_clip_bytes(model, shape, torch.bfloat16)
    assert step > 0  # autocast's bf16 weight copies, once per step
    # a block keeps at least its fp32 input, its bf16 fc1 output and GELU output: > 3 x 32 x 64 x 8 bytes
    assert fused > 3 * 32 * 64 * 8
    assert saved_bytes(model, torch.randn(3, *shape), torch.bfloat16) == step + 3 * fused  # linear in the batch
    with sdpa_kernel(SDPBackend.MATH):  # the N x N attention probabilities are kept for backward
        assert per_clip_bytes(model, shape, torch.bfloat16)[0] >= fused + 3 * 2 * 32 * 32 * 2
    model.set_grad_checkpointing(True)
    assert per_clip_bytes(model, shape, torch.bfloat16)[0] < fused / 3
