"""What a training checkpoint holds so that `--resume` is exact, and the random state inside it.

A run can die at any moment (Kaggle's 12-hour limit, a preempted university
node, Ctrl-C). Two rules make `--resume` exact:

1. Atomic write: `RunFolder.save_checkpoint` (finetune/run_folder.py) saves to
   a temporary file and renames it over RUN/checkpoint.pt, so a kill mid-save
   leaves the previous checkpoint intact instead of a truncated file.
2. Save everything that changes while training: model, optimizer (AdamW's
   moments and step counts), loss scaler, the epoch AND the optimizer step
   inside it, and every random generator (python, numpy, torch CPU, the CUDA
   generator of this process's own GPU, and our own Mixup generator), so the
   resumed run draws the same numbers. One entry per process; a run resumed on
   fewer or more GPUs takes the entries it has processes for. This module turns
   the generators into that entry and back.

A checkpoint holds only tensors and plain Python data, so it loads with
`torch.load(weights_only=True)`: opening a run folder someone sent you cannot
run code hidden in a pickle.
"""
import random

import numpy as np
import torch


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

