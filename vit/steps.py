"""What the three lessons share: one way to print a step, their command line, and
a thread count for a block.

`python -m vit`, `python -m imagemae` and `python -m videomae` walk through their
models one tensor at a time. Every such line has three columns,

    what was computed                    its shape          what that shape means

so a student reads the three lessons' output the same way (docs/01_vit.md,
docs/02_imagemae.md and docs/03_videomae.md quote it). Each lesson is
`<package>.lesson.main(argv) -> int`, and its parser starts from `lesson_parser`.
"""
import argparse
from contextlib import contextmanager
from pathlib import Path


def print_step(what: str, shape, meaning: str) -> None:
    """Print one step: `what` was computed, its `shape` (a tensor, a torch.Size or a
    tuple) and what that shape means."""
    shape = tuple(getattr(shape, "shape", shape))  # a tensor prints its shape, not its values
    print(f"  {what:<36} {str(shape):<18} {meaning}")


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


def lesson_parser(package: str, doc: str, budget: tuple[str, int, str] | None = None) -> argparse.ArgumentParser:
    """`python -m <package>`'s parser with what every lesson takes: --out (default
    outputs/<package>) and --seed; `doc` (the lesson's module docstring) is its help.

    budget = (step-cap flag, its default, why one thread) adds what the pretraining
    lessons take: --seconds (about a minute), that step cap, and --threads, 1 by
    default for that reason."""
    parser = argparse.ArgumentParser(prog=f"python -m {package}", description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("outputs") / package,
                        help="folder for the figures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="every random draw of the lesson (default: %(default)s)")
    if budget:
        steps_flag, steps, why_one_thread = budget
        parser.add_argument("--seconds", type=float, default=60.0, help="pretraining time budget (default: %(default)s)")
        parser.add_argument(steps_flag, type=int, default=steps, help="pretraining step cap (default: %(default)s)")
        parser.add_argument("--threads", type=int, default=1,
                            help=f"torch CPU threads; 1 by default: {why_one_thread} (0 = torch's choice)")
    return parser
