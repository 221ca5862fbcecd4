"""Data-parallel training on N GPUs (or N CPU processes) under `torchrun --nproc_per_node N`.

DistributedDataParallel (Li et al. 2020): every process holds a full copy of the
model, sees a different 1/N of the clips (`StepBatchSampler`), and the gradients
are averaged across processes during `backward`, so all copies take the same
step. The effective batch of a fresh run is batch_size x accum_steps x N; the lr
follows it through the linear scaling rule (config.blr). Only rank 0 prints,
writes metrics and saves checkpoints; accuracies are summed over ranks before
they are reported, and `barrier` makes the other ranks wait where they read a
file rank 0 writes.

Resume anywhere: an optimizer step is a fixed number of clips of one global,
seeded order per epoch, whatever the number of processes. A run saved by 2
processes resumes on 1 (or the reverse) at the same clip of the same epoch, with
the same effective batch and lr schedule; only the per-process accumulation
changes (each process now takes 1/M of every step).

`torchrun` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; with
none of them set this is an ordinary single-process run.
"""
import math
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from finetune.errors import DataError


@dataclass
class Dist:
    rank: int = 0  # this process's index
    world: int = 1  # number of processes
    local_rank: int = 0  # index on this machine: which GPU to use
    device: torch.device = torch.device("cpu")  # noqa: RUF009 - a torch.device is immutable: one shared default is safe

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def setup(device: str = "auto") -> Dist:
    """Join the process group when launched by torchrun; pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device == "auto" else device.startswith("cuda")
    dev = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", rank=rank, world_size=world)
    return Dist(rank, world, local_rank, dev)


def teardown(d: Dist) -> None:
    if d.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values, d: Dist) -> list[float]:
    """Sum a few numbers (a list, or a tensor already on the device) over all processes; read them once."""
    t = torch.as_tensor(values, dtype=torch.float64, device=d.device)
    if d.enabled:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def barrier(d: Dist) -> None:
    """Wait until every process gets here (e.g. before reading a file rank 0 has just written)."""
    if d.enabled:
        dist.barrier()


def gather(obj, d: Dist) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every process (e.g. the random states to checkpoint)."""
    if not d.enabled:
        return [obj]
    out = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


class StepBatchSampler(Sampler):
    """This process's micro-batches of one epoch, grouped into optimizer steps; resumable at any step.

    The epoch's order is one seeded permutation of all n clips (seed, epoch). Step s
    takes the clips [s * per_step, (s + 1) * per_step) of it; this process takes every
    world-th of those (padded by repeating the step's first clips, as DistributedSampler
    pads, when they do not divide evenly), cut into micro-batches of `batch_size`.
    Every process thus runs the same number of micro-batches in every step, and the
    order does not depend on the number of processes: only who takes which clip does.

    Yields lists of (index, epoch) pairs: the dataset draws the augmentation of a clip
    from them, so workers that live across epochs still see the right epoch.
    """

    def __init__(self, n: int, batch_size: int, per_step: int, d: Dist, shuffle: bool = True, seed: int = 0,
                 limit: int = 0):
        if n < 1:
            raise DataError(f"expected at least one training clip, found {n}")
        self.total = n
        self.n = min(n, limit) if limit else n  # limit: smoke tests train on the first `limit` clips of each order
        self.batch_size, self.per_step, self.d, self.shuffle, self.seed = batch_size, per_step, d, shuffle, seed
        self.epoch, self.start_step = 0, 0

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n / self.per_step)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.epoch, self.start_step = epoch, start_step

    def steps(self) -> list[list[list[int]]]:
        """steps -> micro-batches -> clip indices, for this process, from `start_step` on."""
        if self.shuffle:
            # seeded as DistributedSampler seeds it: one process gets the order it always had
            order = torch.randperm(self.total, generator=torch.Generator().manual_seed(self.seed + self.epoch))
        else:
            order = torch.arange(self.total)
        order, world, out = order[:self.n].tolist(), self.d.world, []
        for s in range(self.start_step, self.steps_per_epoch):
            clips = order[s * self.per_step:(s + 1) * self.per_step]
            clips += (clips * world)[:(-len(clips)) % world]  # pad to a multiple of the number of processes
            mine = clips[self.d.rank::world]
            out.append([mine[k:k + self.batch_size] for k in range(0, len(mine), self.batch_size)])
        return out

    def __iter__(self):
        for step in self.steps():
            for micro in step:
                yield [(i, self.epoch) for i in micro]

    def __len__(self) -> int:
        return sum(len(step) for step in self.steps())
