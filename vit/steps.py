"""What the three lessons share: one way to print a step, their command line, and
a thread count for a block.

`python -m vit`, `python -m imagemae` and `python -m videomae` walk through their
models one tensor at a time. Every such line has three columns,

    what was computed                    its shape          what that shape means

so a student reads the three lessons' output the same way (docs/01_vit.md,
docs/02_imagemae.md and docs/03_videomae.md quote it). Each lesson is
`<package>.lesson.main(argv) -> int`, and its parser starts from `lesson_parser`.

Timings vary from run to run and machine to machine, so a lesson prints them on
their own lines starting with "time:" (`print_time`): every other line is the same
on two runs with the same seed, and a diff with those lines filtered out checks it.
"""
import argparse
from contextlib import contextmanager
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


def lesson_parser(package: str, doc: str, budget: tuple[int, str] | None = None) -> argparse.ArgumentParser:
    """`python -m <package>`'s parser with what every lesson takes: --out (default
    outputs/<package>) and --seed; `doc` (the lesson's module docstring) is its help.

    budget = (default step count, why one thread) adds what the pretraining lessons
    take: --steps, a FIXED number of training steps (never a wall-clock budget, so
    two runs with the same seed print the same numbers on any machine speed), and
    --threads, 1 by default for that reason and because float sums split over
    threads can round differently."""
    parser = argparse.ArgumentParser(prog=f"python -m {package}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs") / package,
                        help="folder for the figures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="every random draw of the lesson (default: %(default)s)")
    if budget:
        steps, why_one_thread = budget
        parser.add_argument("--steps", type=_positive, default=steps,
                            help="pretraining steps, a fixed count (default: %(default)s)")
        parser.add_argument("--threads", type=int, default=1,
                            help=f"torch CPU threads; 1 by default: {why_one_thread} (0 = torch's choice)")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a step count >= 1, found {text}")
    return value
