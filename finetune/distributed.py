"""Data-parallel training on N GPUs (or N CPU processes) under `torchrun --nproc_per_node N`.

DistributedDataParallel (Li et al. 2020): every process holds a full copy of the
model, sees a different 1/N of the clips (DistributedSampler), and the gradients
are averaged across processes during `backward`, so all copies take the same
step. The effective batch is batch_size x accum_steps x N; the lr follows it
through the linear scaling rule (config.blr). Only rank 0 prints, writes metrics
and saves checkpoints; accuracies are summed over ranks before they are reported.

`torchrun` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; with
none of them set this is an ordinary single-process run.
"""
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler, Sampler


@dataclass
class Dist:
    rank: int = 0  # this process's index
    world: int = 1  # number of processes
    local_rank: int = 0  # index on this machine: which GPU to use
    device: torch.device = torch.device("cpu")

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


def all_sum(values: list[float], d: Dist) -> list[float]:
    """Sum a few numbers over all processes (counts, correct predictions, loss sums)."""
    if not d.enabled:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_true(flag: bool, d: Dist) -> bool:
    """True only if `flag` is true on every process (a NaN on one rank stops them all)."""
    if not d.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return bool(t.item())


def gather(obj, d: Dist) -> list:
    """[obj of rank 0, obj of rank 1, ...] on every process (e.g. the random states to checkpoint)."""
    if not d.enabled:
        return [obj]
    out = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


class SkipSampler(Sampler):
    """A DistributedSampler whose epoch can start `skip` indices in (resuming mid-epoch).

    With one process it is simply a seeded shuffle per epoch: (seed, epoch) fixes
    the order, so a resumed run regenerates the same order and skips what the
    killed run had already consumed, without loading those clips.
    """

    def __init__(self, n: int, d: Dist, shuffle: bool, seed: int):
        self.inner = DistributedSampler(range(n), num_replicas=d.world, rank=d.rank, shuffle=shuffle, seed=seed)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.inner.set_epoch(epoch)
        self.skip = skip

    def __iter__(self):
        return iter(list(self.inner)[self.skip:])

    def __len__(self) -> int:
        return len(self.inner) - self.skip
