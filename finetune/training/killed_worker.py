"""A data-loading worker killed by the system, told in one line: what happened, what to lower, how to go on.

Each DataLoader worker is a process of its own: a copy of the Python process,
its decoded frames, and `prefetch` batches of clips ready ahead. When
num_workers x that outgrows the RAM (Kaggle: ~30 GB), the Linux out-of-memory
killer sends one of them SIGKILL, which no Python code can catch. PyTorch then
raises, in the main process, "DataLoader worker (pid 123) is killed by signal:
Killed." from its SIGCHLD handler, re-raised as "... exited unexpectedly"
from the iterator: two or three nested tracebacks that read like a bug. A bus
error (signal 7) is the same story with the shared memory (/dev/shm) that
carries the batches from the workers.

`worker_death` recognises those errors; `WorkerKilled` says it as one line.
"""
from __future__ import annotations

import re

from finetune.errors import UserError

# the two reports as PyTorch words them: torch/csrc/DataLoader.cpp (the SIGCHLD handler), torch/utils/data/dataloader.py
_DEATH = re.compile(r"DataLoader worker \(pid(?:\(s\))? ([\d, ]+)\) "
                    r"(?:is killed by signal: ([^.\n]+)|exited unexpectedly)")


class WorkerKilled(UserError, RuntimeError):
    """A data-loading worker process died (killed by a signal, most often the out-of-memory killer)."""


def worker_death(err: BaseException | None) -> tuple[str, str] | None:
    """(pids, signal name or "") if `err`, or an exception it was raised from, is PyTorch's report of
    a DataLoader worker that died; else None. The signal comes from whichever report names it."""
    found = None
    seen = set()
    while err is not None and id(err) not in seen:  # follow __cause__ / __context__: the signal is in the inner one
        seen.add(id(err))
        m = _DEATH.search(str(err)) if isinstance(err, RuntimeError) else None
        if m:
            pids, signal = m.group(1).strip(), (m.group(2) or "").strip()
            found = (pids, signal or (found[1] if found else ""))
        err = err.__cause__ or err.__context__
    return found


def _lower(name: str, now: int, floor: int) -> str:
    """'name=half (now N)', the setting to try next."""
    return f"{name}={max(floor, now // 2)} (now {now})"


def worker_killed(death: tuple[str, str], workers: int | None = None, batch_size: int = 0, prefetch: int = 0,
                  where: str = "", then: str = "run the command again") -> WorkerKilled:
    """The one-line error for `death` (from `worker_death`): what happened (`where`: e.g. "at step 12"), the
    settings to lower with their current values (unknown: `workers` None), and `then`: how to continue."""
    pids, signal = death
    how = f"killed by signal {signal}" if signal else "stopped (exited unexpectedly)"
    why = ("the shared memory (/dev/shm) that carries batches from the workers ran out" if "bus" in signal.lower()
           else "on Linux the out-of-memory killer does this when the RAM runs out")
    if workers is None:
        lower = "Lower the data-loading processes (num_workers, --num-workers) or the batch size"
    else:
        steps = [_lower("num_workers", workers, 0), _lower("batch_size", batch_size, 1)]
        steps += [_lower("prefetch", prefetch, 1)] if prefetch > 1 else []
        lower = f"Lower --set {', '.join(steps[:-1])} or {steps[-1]}"
    return WorkerKilled(f"a data-loading worker (pid {pids}) was {how}{' ' + where if where else ''}: {why} "
                        f"(each worker is a process of its own, holding `prefetch` batches of clips). {lower}, "
                        f"then {then}")
