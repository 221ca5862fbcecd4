"""Host syncs in a training step, counted on any device: every place Python waits for the GPU.

A host read of a tensor (`.item()`, `bool()`, `float()`, `.tolist()`, ...) waits
for the GPU to finish all the work queued before it, and so does a tensor made on
the GPU from Python numbers (a copy from pageable host memory). Each such wait
empties the GPU's queue: the next kernels start only when Python has caught up.
`count_host_syncs` wraps those calls for the duration of a `with` block and records
each one made from the files named (by default the step's own code: the engine,
the batch and transform helpers, Mixup), with the function and line it came from.

Not counted: the host-side random draws from CPU generators (Mixup's lambda and
CutMix's box: `_beta`, `cutmix_box`), which involve no GPU.

    with count_host_syncs() as reads:
        train_epoch(...)
    print(len(reads), reads[:3])     # ['__bool__ in train_epoch (engine.py:214)', ...]

tests/finetune/test_gpu_paths.py holds the training loop to one per optimizer
step with it; `python -m benchmarks.gpu_check` reports the count per step.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

READS = ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy")  # Tensor methods that read it
MAKERS = ("tensor", "as_tensor")  # torch functions that copy Python numbers to the device
STEP_CODE = ("finetune/training/engine.py", "finetune/data/batch.py", "finetune/data/transforms.py",
             "finetune/training/mixup.py")
HOST_DRAWS = ("_beta", "cutmix_box")


@contextmanager
def count_host_syncs(files: Iterable[str] = STEP_CODE, skip: Iterable[str] = HOST_DRAWS) -> Iterator[list[str]]:
    """A list that fills with one 'name in function (file:line)' per host read made from `files`
    (path endings, '/'-separated) inside the block, except from the functions named in `skip`."""
    files, skip = tuple(f.replace(os.sep, "/") for f in files), frozenset(skip)
    counted: list[str] = []

    def record(name, frame):
        where = frame.f_code.co_filename.replace(os.sep, "/")
        if where.endswith(files) and frame.f_code.co_name not in skip:
            counted.append(f"{name} in {frame.f_code.co_name} ({Path(where).name}:{frame.f_lineno})")

    def reading(name, original):
        def read(self, *args, **kwargs):
            record(name, sys._getframe(1))
            return original(self, *args, **kwargs)
        return read

    def making(name, original):  # a tensor made from Python numbers: a blocking copy from the host on a GPU
        def make(data, *args, **kwargs):
            if not isinstance(data, torch.Tensor):
                record(name, sys._getframe(1))
            return original(data, *args, **kwargs)
        return make

    saved = [(torch.Tensor, name, getattr(torch.Tensor, name)) for name in READS]
    saved += [(torch, name, getattr(torch, name)) for name in MAKERS]
    try:
        for owner, name, original in saved:
            setattr(owner, name, (reading if owner is torch.Tensor else making)(name, original))
        yield counted
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
