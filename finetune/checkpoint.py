"""Training checkpoints that survive a kill: atomic writes and every piece of state needed to resume.

A run can die at any moment (Kaggle's 12-hour limit, a preempted university
node, Ctrl-C). Two rules make `--resume` exact:

1. Atomic write: save to `name.tmp`, flush it to disk, then `os.replace` it over
   `name`. A rename is atomic on POSIX, so a kill mid-save leaves the previous
   checkpoint intact instead of a truncated file.
2. Save everything that changes while training: model, optimizer (AdamW's
   moments and step counts), loss scaler, the epoch AND the optimizer step
   inside it, and every random generator (python, numpy, torch CPU and CUDA,
   and our own Mixup generator), so the resumed run draws the same numbers.
"""
import os
import random
from pathlib import Path

import numpy as np
import torch

CHECKPOINT = "checkpoint.pt"  # the single checkpoint of a run folder: the latest good state


def atomic_save(obj, path: Path) -> None:
    """torch.save to `path` such that a kill never leaves a half-written file."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def rng_state(generator: torch.Generator | None = None) -> dict:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: dict, generator: torch.Generator | None = None) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside DistributedDataParallel and/or torch.compile."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or getattr(model, "_orig_mod")
    return model


def load_checkpoint(run: Path) -> dict:
    path = Path(run) / CHECKPOINT
    if not path.exists():
        raise FileNotFoundError(f"no {CHECKPOINT} in {run}: expected a run folder written by `finetune train`")
    return torch.load(path, map_location="cpu", weights_only=False)
