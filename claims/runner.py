"""Run the lessons over seeds and thread counts and check every claim their pages make.

    python -m claims                   the small setting: every lesson shortened (seconds each), 3 seeds x
                                       threads 1 and 2; only the claims a short run can show are checked
                                       (tests/test_claims.py runs it; under a minute on 2 cores)
    python -m claims --full            the lessons' real settings (about an hour on 2 cores): every claim,
                                       and the ranges the pages quote
    python -m claims --full --lessons imagemae --seeds 0,1,2,3 --threads 1
    python -m claims --plain --lessons why --seeds 3,4,5
                                       each lesson exactly as `python -m <lesson>` runs it (the same as --full
                                       but for videomae.why, whose plain run is experiment 2 alone)
    python -m claims --env ATEN_CPU_CAPABILITY=avx2 --env MKL_ENABLE_INSTRUCTIONS=AVX2
                                       each run in a fresh process with these variables set: another
                                       CPU's kernels, emulated (the runs are isolated whenever --env is given)
    python -m claims --full --save runs.json, later python -m claims --from runs.json
                                       keep every run's numbers; check the claims on them again (after
                                       editing a claim) without running anything

Why: the lessons are seeded and run fixed step counts, so one machine prints the same
numbers on every run; but another CPU (AVX2 instead of AVX-512, another vendor's math
library) or another thread count adds floats in another order, and a training run turns
that last bit into the second digit. A page quotes such a number as the range this
prints, and makes its point with a claim that held on every run. Each lesson's claims
are in `<package>/lesson_claims.py` (`videomae/why_claims.py` for `python -m
videomae.why`); each lesson checks them on its own run too ("as docs/02 says" /
"unlike docs/02").

Per run it prints the wall and CPU seconds and the load average (`os.getloadavg`, the
1-minute figure at the start and the end: on a shared machine a time means little
without it); the table's columns are the numbers the page quotes, and the last row their
range. Exit status 0 when every claim checked held on every run, 1 otherwise.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Lesson:
    module: str  # what `python -m` runs
    main: str  # the module whose main(argv) runs it in this process
    claims: str  # the module with CLAIMS and COLUMNS
    page: str
    small: tuple[str, ...]  # arguments of the small setting (the test's)
    full: tuple[str, ...] = ()  # arguments of the real setting (the lesson's defaults, or --full)


LESSONS = {
    "vit": Lesson("vit", "vit.lesson", "vit.lesson_claims", "docs/01_vit.md", ("--steps", "3", "--norm-steps", "10")),
    "imagemae": Lesson("imagemae", "imagemae.lesson", "imagemae.lesson_claims", "docs/02_imagemae.md",
                       ("--steps", "3")),
    "videomae": Lesson("videomae", "videomae.lesson", "videomae.lesson_claims", "docs/03_videomae.md",
                       ("--steps", "3")),
    "why": Lesson("videomae.why", "videomae.why", "videomae.why_claims", "docs/05_why_videomae.md",
                  ("--quick",), ("--full",)),
}


def _csv(kind):
    def parse(text: str):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            values = []
        if not values:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        return values
    return parse


def _lessons(text: str) -> list[str]:
    chosen = [v.strip() for v in text.split(",") if v.strip()]
    wrong = [v for v in chosen if v not in LESSONS]
    if wrong or not chosen:
        raise argparse.ArgumentTypeError(f"expected lessons among {','.join(LESSONS)}, got {text!r}")
    return chosen


def _env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def run_once(lesson: Lesson, args: list[str], env: dict[str, str], workdir: Path) -> dict:
    """One run of `lesson` with `args`; returns its results (numbers and claim verdicts)
    plus wall and CPU seconds, the load average before and after, and the printed text.
    In this process when `env` is empty (fast: torch is imported once), else in a fresh
    `python -m` process with `env` added to the environment (a kernel choice such as
    ATEN_CPU_CAPABILITY is read once, when torch starts)."""
    results = workdir / "results.json"
    results.unlink(missing_ok=True)
    full_args = [*args, "--no-figures", "--out", str(workdir / "out"), "--results", str(results)]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    if env:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([sys.executable, "-m", lesson.module, *full_args], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, **env}, check=False)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        text, status = proc.stdout + proc.stderr, proc.returncode
    else:
        before = resource.getrusage(resource.RUSAGE_SELF)
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            status = importlib.import_module(lesson.main).main(full_args)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        text = buffer.getvalue()
    wall = time.perf_counter() - start
    if status != 0 or not results.exists():
        raise RuntimeError(f"python -m {lesson.module} {' '.join(full_args)} failed (exit {status}):\n{text[-3000:]}")
    run = json.loads(results.read_text())
    cpu = (usage.ru_utime - before.ru_utime) + (usage.ru_stime - before.ru_stime)
    run.update(wall=wall, cpu=cpu, load=(load, os.getloadavg()[0]), text=text)
    return run


def _cell(read, fmt: str, numbers: dict) -> str:
    try:
        value = read(numbers)
    except (KeyError, TypeError, IndexError):
        value = None
    return "-" if value is None else fmt.format(value)


def _range(read, fmt: str, runs: list[dict]) -> str:
    values = []
    for run in runs:
        try:
            value = read(run["numbers"])
        except (KeyError, TypeError, IndexError):
            value = None
        if value is not None:
            values.append(value)
    if not values:
        return "-"
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low} to {high}"


def verdict(claim, numbers: dict) -> bool | None:
    """The claim on one run's numbers: True, False, or None when that run cannot show it."""
    return bool(claim.holds(numbers)) if claim.applies(numbers) else None


def report(name: str, lesson: Lesson, command: str, runs: list[dict]) -> int:
    """Print the table of one lesson's runs and the verdict of each claim (checked here,
    on the numbers each run wrote, with the claims as they are now); returns the number
    of claims that failed on at least one run."""
    module = importlib.import_module(lesson.claims)
    columns = module.COLUMNS
    print(f"\n== {name} ({lesson.page}): {command}")
    head = ["seed", "threads", "env", "wall s", "CPU s", "load"] + [c[0] for c in columns]
    rows = [[str(r["seed"]), str(r["threads"]), r["env"] or "-", f"{r['wall']:.0f}", f"{r['cpu']:.0f}",
             f"{r['load'][0]:.1f}-{r['load'][1]:.1f}"] + [_cell(read, fmt, r["numbers"]) for _, read, fmt in columns]
            for r in runs]
    rows.append(["range", "", "", "", "", ""] + [_range(read, fmt, runs) for _, read, fmt in columns])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    failed = 0
    for claim in module.CLAIMS:
        verdicts = [verdict(claim, r["numbers"]) for r in runs]
        checked = [v for v in verdicts if v is not None]
        bad = [f"seed {r['seed']} threads {r['threads']}" + (f" {r['env']}" if r["env"] else "")
               for r, v in zip(runs, verdicts) if v is False]
        if not checked:
            print(f"  not checked at this setting: {claim.says}")
        elif bad:
            failed += 1
            print(f"  FAILS on {len(bad)} of {len(checked)} runs ({'; '.join(bad)}): {claim.says}")
        else:
            print(f"  holds on {len(checked)} of {len(checked)} runs: {claim.says}")
    return failed


def report_saved(runs: list[dict]) -> int:
    """`--from`: the tables and verdicts of saved runs, lesson by lesson, command by command."""
    failed = 0
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["lesson"], run["command"]), []).append(run)
    for (name, command), group in groups.items():
        failed += report(name, LESSONS[name], command, group)
    print(f"\n{'every claim checked held on every run' if not failed else f'{failed} claim(s) failed on some run'}")
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m claims", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    setting = parser.add_mutually_exclusive_group()
    setting.add_argument("--full", action="store_true", help="the lessons' real settings (minutes each)")
    setting.add_argument("--plain", action="store_true",
                         help="each lesson with no setting argument, as `python -m <lesson>` runs it")
    parser.add_argument("--lessons", type=_lessons, default=list(LESSONS),
                        help=f"which lessons, comma-separated (default: {','.join(LESSONS)})")
    parser.add_argument("--seeds", type=_csv(int), default=[0, 1, 2], help="(default: 0,1,2)")
    parser.add_argument("--threads", type=_csv(int), default=[1, 2], help="torch threads per run (default: 1,2)")
    parser.add_argument("--env", type=_env, action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for every run (each run then gets a fresh process)")
    parser.add_argument("--save", type=Path, metavar="FILE", help="also write every run's results to FILE (JSON)")
    parser.add_argument("--from", dest="saved", type=Path, metavar="FILE",
                        help="run nothing: check the claims on the runs saved in FILE by --save")
    args = parser.parse_args(argv)
    if args.saved:
        return report_saved(json.loads(args.saved.read_text()))
    env = dict(args.env)
    env_text = " ".join(f"{k}={v}" for k, v in env.items())
    failed, saved = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.lessons:
            lesson = LESSONS[name]
            setting = [] if args.plain else list(lesson.full if args.full else lesson.small)
            runs = []
            for seed in args.seeds:
                for threads in args.threads:
                    run = run_once(lesson, [*setting, "--seed", str(seed), "--threads", str(threads)], env, Path(tmp))
                    run["env"] = env_text
                    runs.append(run)
                    print(f"  {name} seed {seed} threads {threads}: {run['wall']:.0f} s wall, {run['cpu']:.0f} s CPU, "
                          f"load {run['load'][0]:.1f}-{run['load'][1]:.1f}", file=sys.stderr, flush=True)
            command = (f"{env_text + ' ' if env_text else ''}python -m {lesson.module} {' '.join(setting)} "
                       f"--seed S --threads T").replace("  ", " ")
            failed += report(name, lesson, command, runs)
            saved += [r | {"lesson": name, "command": command} for r in runs]
    if args.save:
        args.save.write_text(json.dumps(saved, indent=1))
    print(f"\n{'every claim checked held on every run' if not failed else f'{failed} claim(s) failed on some run'}")
    return 1 if failed else 0
