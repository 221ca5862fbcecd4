"""What the lessons share: one way to print a step, their command line, a thread
count for a block, and the claims each page makes about its lesson's numbers.

`python -m vit`, `python -m imagemae` and `python -m videomae` walk through their
models one tensor at a time. Every such line has three columns,

    what was computed                    its shape          what that shape means

so a student reads the three lessons' output the same way (docs/01_vit.md,
docs/02_imagemae.md and docs/03_videomae.md quote it). Each lesson is
`<package>.lesson.main(argv) -> int`, and its parser starts from `lesson_parser`.

Timings vary from run to run and machine to machine, so a lesson prints them on
their own lines starting with "time:" (`print_time`): every other line is the same
on two runs with the same seed, and a diff with those lines filtered out checks it.

"The same seed prints the same numbers" holds on one machine, not across machines:
another CPU (AVX2 instead of AVX-512, another vendor's math library) or another
thread count adds floats in another order, and a training run amplifies the last
bit into the second digit. So a page quotes a number that depends on that order as
the range measured over seeds and thread counts (`python -m claims --full`), and
makes its point with a claim that holds across the range. Each lesson ends by
checking those claims on the run it just made (`Claim`, `print_claims`): "as
docs/02 says: ..." or "unlike docs/02, ...", so a reader never has to guess which
of two numbers to believe.
"""
import argparse
import json
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def print_step(what: str, shape, meaning: str) -> None:
    """Print one step: `what` was computed, its `shape` (a tensor, a torch.Size or a
    tuple) and what that shape means."""
    shape = tuple(getattr(shape, "shape", shape))  # a tensor prints its shape, not its values
    print(f"  {what:<36} {shape!s:<18} {meaning}")


def print_time(what: str, seconds: float) -> None:
    """A wall-clock time on its own line: the only lesson output that varies between runs."""
    print(f"time: {what} {seconds:.0f} s (varies with the machine and its load)")


@contextmanager
def torch_threads(count: int):
    """Run the block on `count` torch CPU threads (0: leave torch's choice), then
    put the previous count back, so a lesson called from Python (a test) leaves
    the process as it found it."""
    import torch

    before = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# What each lesson's default run takes: (wall seconds, CPU seconds), measured with
# `/usr/bin/time -v python -m <lesson>` on a quiet 2-core VM (Intel Xeon, AVX-512, 1-minute
# load average below 0.5 at the start). `--help`, the README and each lesson's page quote
# these numbers (tests/test_claims.py checks that they agree); a slower or busier CPU takes longer.
LESSON_TIMES = {
    "vit": (27, 27),
    "imagemae": (41, 41),
    "videomae": (62, 62),
    "why_videomae": (82, 82),
    "why_videomae --full": (254, 254),
}


def lesson_time(name: str) -> str:
    """'52 s (51 s of CPU)': the measured time of `name` in LESSON_TIMES, as the docs quote it."""
    wall, cpu = LESSON_TIMES[name]
    return f"{wall} s ({cpu} s of CPU)"


def lesson_parser(package: str, doc: str, budget: tuple[int, str] | None = None) -> argparse.ArgumentParser:
    """`python -m <package>`'s parser with what every lesson takes: --out (default
    outputs/<package>), --seed, --no-figures and --results; `doc` (the lesson's
    module docstring) is its help.

    budget = (default step count, why one thread) adds what the pretraining lessons
    take: --steps, a FIXED number of training steps (never a wall-clock budget, so
    two runs with the same seed print the same numbers on any machine speed), and
    --threads, 1 by default for that reason and because float sums split over
    threads can round differently."""
    parser = argparse.ArgumentParser(prog=f"python -m {package}", description=doc,
                                     epilog=_time_epilog(package), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs") / package,
                        help="folder for the figures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="every random draw of the lesson (default: %(default)s)")
    parser.add_argument("--no-figures", dest="figures", action="store_false",
                        help="draw no figure (faster; every printed number stays the same)")
    parser.add_argument("--results", type=Path, metavar="FILE",
                        help="also write this run's measured numbers and claim verdicts to FILE as JSON "
                             "(python -m claims reads them)")
    if budget:
        steps, why_one_thread = budget
        parser.add_argument("--steps", type=_positive, default=steps,
                            help="pretraining steps, a fixed count (default: %(default)s)")
        parser.add_argument("--threads", type=int, default=1,
                            help=f"torch CPU threads; 1 by default: {why_one_thread} (0 = torch's choice)")
    return parser


def figures_folder(args) -> Path | None:
    """Where the lesson draws its figures: `--out`, made if missing, or None with
    `--no-figures` (then every figure step is skipped; the printed numbers stay the same)."""
    if not args.figures:
        return None
    args.out.mkdir(parents=True, exist_ok=True)
    return args.out


def _time_epilog(package: str) -> str:
    runs = [name for name in LESSON_TIMES if name.split()[0] == package]
    if not runs:
        return ""
    times = "; ".join(f"{'with ' + name.split(maxsplit=1)[1] + ': ' if ' ' in name else ''}{lesson_time(name)}"
                      for name in runs)
    return (f"Time of the default run on a quiet 2-core CPU (Intel Xeon, AVX-512; /usr/bin/time -v): {times}. "
            "A slower CPU takes longer.")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a step count >= 1, found {text}")
    return value


@dataclass(frozen=True)
class Claim:
    """One thing a lesson's page says about the lesson's own numbers, checkable on one run.

    `says` is the sentence as the page words it; `holds(numbers)` decides it from the
    run's measured numbers (the dict the lesson fills); `shows(numbers)` prints the
    numbers that decided it. `applies(numbers)` says whether this run can show it at
    all (a 3-step test run cannot show what 250 steps learn); `needs` says, for the
    reader, what it takes (e.g. "the default --steps 250")."""

    name: str
    says: str
    holds: Callable[[dict], bool]
    shows: Callable[[dict], str]
    applies: Callable[[dict], bool] = lambda numbers: True
    needs: str = ""


def ran_steps(steps: int) -> Callable[[dict], bool]:
    """`Claim.applies` for a claim about what `steps` training steps do (the lesson's
    default): a run with another --steps cannot show it."""
    return lambda numbers: numbers.get("steps") == steps


def share_left(pair) -> float:
    """(loss before training, loss after) -> the share of the loss left."""
    before, after = pair
    return after / before


def print_claims(page: str, claims, numbers: dict) -> dict[str, bool | None]:
    """Check every claim of `page` (e.g. "docs/02") on this run's `numbers` and print one
    line each. Returns {claim name: True (holds), False (does not), None (not checked:
    this run's setting cannot show it)}."""
    print(f"\nWhat {page} says about these numbers, checked on this run "
          "(python -m claims checks it over seeds and thread counts):")
    verdicts = {}
    for claim in claims:
        if not claim.applies(numbers):
            verdicts[claim.name] = None
            print(f"  not checked at this setting (it needs {claim.needs}): {claim.says}")
            continue
        verdicts[claim.name] = ok = bool(claim.holds(numbers))
        if ok:
            print(f"  as {page} says: {claim.says} (this run: {claim.shows(numbers)})")
        else:
            print(f"  unlike {page}, which says {claim.says}: this run shows {claim.shows(numbers)}")
    return verdicts


def save_results(path: Path | None, lesson: str, args, numbers: dict, verdicts: dict) -> None:
    """Write the run's numbers and verdicts to `path` as JSON (nothing when `path` is None)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"lesson": lesson, "seed": args.seed, "threads": getattr(args, "threads", None),
                                "numbers": numbers, "claims": verdicts}, indent=1))
