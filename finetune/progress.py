"""Progress reports that fit both a terminal and a log file.

On a terminal a tqdm bar redraws itself in place with carriage returns. In a
log (Kaggle's "Save & Run All", nohup, CI, a SLURM .out file) every redraw
becomes text: an epoch of 2,000 steps leaves thousands of `\\r` fragments and
buries the lines that matter. So `progress(...)` returns

    bar    tqdm, as before (leave=False, dynamic_ncols=True), when stderr is a terminal;
    lines  a small object with the part of tqdm's interface this project uses, which
           prints a plain line (desc, n/total, percent, elapsed, rate, postfix)
           at most every 10% of the total and at the end, or every 30 s when the
           total is unknown: a handful of lines per loop;
    off    nothing at all.

FINETUNE_PROGRESS=bar|lines|off forces a mode (e.g. `bar` in a notebook that
renders carriage returns, `off` for quiet test logs).

    for batch in progress(loader, desc="val", unit="batch"):
        ...
    bar = progress(total=n, desc="epoch 1/20")
    bar.set_postfix(loss="0.731", acc="0.52"); bar.update(1); ...; bar.close()
"""
from __future__ import annotations

import math
import os
import sys
import time

from finetune.errors import ConfigError

ENV = "FINETUNE_PROGRESS"
MODES = ("bar", "lines", "off")
LINE_FRACTION = 0.1  # lines mode: one line per 10% of the total ...
LINE_SECONDS = 30.0  # ... or one per 30 s when the total is unknown


def progress_mode(file=None) -> str:
    """bar, lines or off: FINETUNE_PROGRESS if set, else bar on a terminal and lines otherwise."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced and forced != "auto":
        if forced not in MODES:
            raise ConfigError(f"{ENV}={forced!r}: expected one of {', '.join(MODES)} (or unset)")
        return forced
    stream = file if file is not None else sys.stderr
    try:
        return "bar" if stream is not None and stream.isatty() else "lines"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return "lines"


def progress(iterable=None, total=None, desc: str = "", disable: bool = False, unit: str = "it", **kw):
    """tqdm on a terminal, `LineProgress` elsewhere (see the module docstring). `kw` goes to tqdm
    (`file=` is honoured by both; other tqdm-only options are ignored in lines mode)."""
    mode = progress_mode(kw.get("file"))
    if mode == "bar":
        from tqdm import tqdm

        kw.setdefault("leave", False)
        kw.setdefault("dynamic_ncols", True)
        return tqdm(iterable, total=total, desc=desc, disable=disable, unit=unit, **kw)
    return LineProgress(iterable, total=total, desc=desc, disable=disable or mode == "off", unit=unit,
                        file=kw.get("file"))


def _duration(seconds: float) -> str:
    """75 -> '1:15', 3725 -> '1:02:05' (tqdm's style)."""
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class LineProgress:
    """A few plain progress lines instead of a redrawn bar; tqdm's iteration, `update`,
    `set_postfix`, `set_postfix_str`, `set_description`, `close` and `with` block."""

    def __init__(self, iterable=None, total=None, desc: str = "", disable: bool = False, unit: str = "it",
                 file=None, clock=time.monotonic):
        if total is None and iterable is not None:
            try:
                total = len(iterable)
            except TypeError:  # a generator: total unknown
                total = None
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.disable, self.file, self.clock = disable, file, clock
        self.n, self.postfix, self.closed = 0, "", False
        self.start = self.last_time = clock()
        self.printed_n = 0  # n at the last printed line
        self.step = total * LINE_FRACTION if total else None  # print each time n crosses a multiple of this
        self.next_at = self.step

    def __iter__(self):
        if self.iterable is None:
            raise TypeError("LineProgress without an iterable: call update() instead of iterating")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total if self.total is not None else len(self.iterable)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.disable:
            return
        if self.step is not None:
            if self.n >= self.next_at or self.n >= self.total:
                self._print()
                self.next_at = (math.floor(self.n / self.step + 1e-9) + 1) * self.step
        elif self.clock() - self.last_time >= LINE_SECONDS:
            self._print()

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kw) -> None:
        items = {**(ordered_dict or {}), **kw}
        self.postfix = ", ".join(f"{k}={_fmt(v)}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = str(s)

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self.desc = desc

    def close(self) -> None:
        """The final line (unless the last line printed already shows this count)."""
        if self.closed:
            return
        self.closed = True
        if not self.disable and self.n != self.printed_n:
            self._print()

    def line(self) -> str:
        elapsed = self.clock() - self.start
        if self.total:
            count = f"{self.n}/{self.total} {self.unit} ({100 * self.n / self.total:.0f}%)"
        else:
            count = f"{self.n} {self.unit}"
        rate = self.n / elapsed if elapsed > 0 else 0.0
        speed = f"{rate:.2f} {self.unit}/s" if rate >= 1 or rate == 0 else f"{1 / rate:.2f} s/{self.unit}"
        text = f"{count} in {_duration(elapsed)}, {speed}" + (f", {self.postfix}" if self.postfix else "")
        return f"{self.desc}: {text}" if self.desc else text

    def _print(self) -> None:
        print(self.line(), file=self.file if self.file is not None else sys.stderr, flush=True)
        self.printed_n, self.last_time = self.n, self.clock()
