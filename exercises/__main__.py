"""python -m exercises list | check [NAME ...] [--solutions | --from DIR]

    python -m exercises list                  the exercises in reading order, with their lesson
    python -m exercises check attention       grade exercises/attention.py against vit.blocks.Attention
    python -m exercises check                 grade all of them
    python -m exercises check --solutions     grade the reference answers (they all pass)

Exit status 0 when every exercise checked passes, 1 otherwise.
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the exercises import vit, imagemae, ... from the repository
    sys.path.insert(0, str(ROOT))

from exercises import BY_NAME, EXERCISES  # noqa: E402 - importable only once ROOT is on sys.path


def print_list() -> None:
    width = max(len(e.what) for e in EXERCISES) + 2
    print(f"{'':3}{'exercise':<16}{'lesson':<15}{'what you write':<{width}}explained in")
    for i, e in enumerate(EXERCISES, 1):
        print(f"{i:<3}{e.name:<16}{e.lesson:<15}{e.what:<{width}}{e.doc}")
    print("\nopen exercises/<name>.py, write the body, then: python -m exercises check <name>")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exercises", description="Grade the exercises against the real code.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exercises, in reading order:\n" + "\n".join(f"  {e.name:<16}{e.lesson:<15}{e.what}" for e in EXERCISES))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the exercises in reading order, with their lesson and doc page")
    check = sub.add_parser("check", help="grade exercises (all of them when no NAME is given)")
    check.add_argument("names", nargs="*", metavar="NAME", help="exercises to grade: " + ", ".join(BY_NAME))
    where = check.add_mutually_exclusive_group()
    where.add_argument("--solutions", action="store_true", help="grade exercises/solutions/ instead of your files")
    where.add_argument("--from", dest="directory", type=Path, help="grade the <name>.py files of this folder")
    args = parser.parse_args(argv)

    if args.command == "list":
        print_list()
        return 0
    unknown = [n for n in args.names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown exercise {', '.join(unknown)}; expected one of: {', '.join(BY_NAME)}")

    import torch

    from exercises.grade import HERE, grade, shown

    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and polite on a shared machine
    directory = HERE / "solutions" if args.solutions else (args.directory or HERE)
    names = args.names or list(BY_NAME)
    start, passed = time.perf_counter(), 0
    for name in names:
        result = grade(name, directory)
        passed += result.passed
        print("\n".join(result.lines()), flush=True)
    seconds = time.perf_counter() - start
    print(f"{passed} of {len(names)} pass (files in {shown(Path(directory).resolve())}/, {seconds:.1f} s)")
    return 0 if passed == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
