"""python -m exercises list | check [NAME ...] [--solutions | --from DIR] | hint NAME [--level K | --all | --reset]

    python -m exercises list                  the exercises in reading order, with their lesson
    python -m exercises check attention       grade exercises/attention.py against vit.blocks.Attention;
                                              after a PASS, a question about it and the next exercise
    python -m exercises check                 grade all of them, then name the first one left to do
    python -m exercises check --solutions     grade the reference answers (they all pass)
    python -m exercises hint attention        the next hint: the idea first, the code last
    python -m exercises hint attention --level 2 | --all | --reset

`check` exits 0 when every exercise checked passes, 1 otherwise; `hint` and `list` exit 0.
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
    print("\nopen exercises/<name>.py, write the body, then: python -m exercises check <name>"
          "\nstuck? the next hint, from the idea to the code: python -m exercises hint <name>")


def run_hint(args, parser) -> int:
    """Show the next hint of args.name (or the one asked for) and remember it; --reset forgets."""
    from exercises import coach
    from exercises.hints import HINTS

    levels = coach.seen()
    if args.reset:
        if args.name:
            levels.pop(args.name, None)
        else:
            levels = {}
        problem = coach.remember(levels)
        print(problem or f"the hints of {args.name or 'every exercise'} start again from hint 1")
        return 1 if problem else 0
    if args.name is None:
        for e in EXERCISES:
            print(f"{e.name:<16}{levels.get(e.name, 0)} of {len(HINTS[e.name])} hints seen")
        print(f"\nnext hint of one: python -m exercises hint NAME (remembered in {coach.hints_file()})")
        return 0
    count = len(HINTS[args.name])
    if args.level is not None and not 1 <= args.level <= count:
        parser.error(f"{args.name} has {count} hints: --level 1 to {count}")
    if args.all:
        shown = list(range(1, count + 1))
    else:
        shown = [args.level or min(levels.get(args.name, 0) + 1, count)]
    for level in shown:
        print("\n".join(coach.show_hint(args.name, level)) + "\n")
    print(coach.after_hint(args.name, shown[-1]))
    levels[args.name] = max(levels.get(args.name, 0), shown[-1])
    problem = coach.remember(levels)
    if problem:
        print(problem, file=sys.stderr)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exercises", description="Grade the exercises against the real code; hints in steps.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exercises, in reading order:\n" + "\n".join(f"  {e.name:<16}{e.lesson:<15}{e.what}" for e in EXERCISES))
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the exercises in reading order, with their lesson and doc page")
    check = sub.add_parser("check", help="grade exercises (all of them when no NAME is given)")
    check.add_argument("names", nargs="*", metavar="NAME", help="exercises to grade: " + ", ".join(BY_NAME))
    where = check.add_mutually_exclusive_group()
    where.add_argument("--solutions", action="store_true", help="grade exercises/solutions/ instead of your files")
    where.add_argument("--from", dest="directory", type=Path, help="grade the <name>.py files of this folder")
    hint = sub.add_parser("hint", help="the next hint of an exercise: the idea first, the code last (remembered)")
    hint.add_argument("name", nargs="?", metavar="NAME", choices=list(BY_NAME),
                      help="the exercise; without it, how many hints of each you have seen")
    step = hint.add_mutually_exclusive_group()
    step.add_argument("--level", type=int, metavar="K", help="show hint K (1 = the idea; the last is the code)")
    step.add_argument("--all", action="store_true", help="show every hint of NAME, in order")
    step.add_argument("--reset", action="store_true", help="forget which hints you have seen (of NAME, or of all)")
    args = parser.parse_args(argv)

    if args.command == "list":
        print_list()
        return 0
    if args.command == "hint":
        if args.name is None and (args.all or args.level is not None):
            parser.error("--level and --all need an exercise: python -m exercises hint NAME --all")
        return run_hint(args, parser)
    unknown = [n for n in args.names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown exercise {', '.join(unknown)}; expected one of: {', '.join(BY_NAME)}")

    import torch

    from exercises import coach
    from exercises.grade import HERE, grade, shown

    torch.set_num_threads(1)  # tiny tensors: one thread is fastest, and polite on a shared machine
    directory = HERE / "solutions" if args.solutions else (args.directory or HERE)
    names = args.names or list(BY_NAME)
    teach = not args.solutions  # the questions are about code the student wrote
    start, passed = time.perf_counter(), {}
    for name in names:
        result = grade(name, directory)
        passed[name] = result.passed
        lines = result.lines()
        if teach and args.names:  # graded by name: a question after a PASS, a hint after a FAIL
            lines += coach.after_pass(name) if result.passed else [coach.after_fail(name)]
        print("\n".join(lines), flush=True)
    seconds = time.perf_counter() - start
    n_passed = sum(passed.values())
    print(f"{n_passed} of {len(names)} pass (files in {shown(Path(directory).resolve())}/, {seconds:.1f} s)")
    if teach and not args.names:  # all eight graded: where to go on
        print("\n".join(coach.where_next(passed)))
    return 0 if n_passed == len(names) else 1


if __name__ == "__main__":
    sys.exit(main())
