"""Training checkpoints that survive a kill: atomic writes and every piece of state needed to resume.

A run can die at any moment (Kaggle's 12-hour limit, a preempted university
node, Ctrl-C). Two rules make `--resume` exact:

1. Atomic write: save to `name.tmp`, flush it to disk, then `os.replace` it over
   `name`. A rename is atomic on POSIX, so a kill mid-save leaves the previous
   checkpoint intact instead of a truncated file.
2. Save everything that changes while training: model, optimizer (AdamW's
   moments and step counts), loss scaler, the epoch AND the optimizer step
   inside it, and every random generator (python, numpy, torch CPU, the CUDA
   generator of this process's own GPU, and our own Mixup generator), so the
   resumed run draws the same numbers. One entry per process; a run resumed on
   fewer or more GPUs takes the entries it has processes for.

A checkpoint holds only tensors and plain Python data, so it loads with
`torch.load(weights_only=True)`: opening a run folder someone sent you cannot
run code hidden in a pickle.
"""
import os
import random
from pathlib import Path

import numpy as np
import torch

from finetune.errors import RunError

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


def rng_state(generator: torch.Generator | None = None, device: torch.device | None = None) -> dict:
    """This process's random generators, as tensors and plain numbers only (safe to load)."""
    version, words, gauss = random.getstate()
    numpy = np.random.get_state(legacy=False)
    state = {
        "python": [version, list(words), gauss],
        "numpy": {"key": torch.from_numpy(numpy["state"]["key"].astype(np.int64)), "pos": int(numpy["state"]["pos"]),
                  "has_gauss": int(numpy["has_gauss"]), "gauss": float(numpy["gauss"])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device is not None and device.type == "cuda" else None,
    }
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: dict, generator: torch.Generator | None = None, device: torch.device | None = None) -> None:
    """Restore what `rng_state` saved; the CUDA state only into this process's own GPU."""
    version, words, gauss = state["python"]
    random.setstate((version, tuple(words), gauss))
    n = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937", "state": {"key": n["key"].numpy().astype(np.uint32),
                         "pos": n["pos"]}, "has_gauss": n["has_gauss"], "gauss": n["gauss"]})
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and device is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


def load_checkpoint(run: Path) -> dict:
    """RUN/checkpoint.pt as a dict, loaded without unpickling code (tensors and plain data only)."""
    path = Path(run) / CHECKPOINT
    if not path.is_file():
        raise RunError(f"no {CHECKPOINT} in {run}: expected a run folder written by `python -m finetune train`")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - truncated, not a torch file, or carrying code
        raise RunError(f"cannot read {path}: expected a checkpoint saved by `python -m finetune train` "
                       f"(tensors and plain data only), found {type(err).__name__}: {str(err).splitlines()[0]}")
