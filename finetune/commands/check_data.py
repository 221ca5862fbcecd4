"""`python -m finetune check-data DATA`: every problem of a dataset, up front, each with its path.

Prints each problem as `ERROR|WARNING path: what`, then a one-screen summary,
then OK or FAIL; exit status 1 on any error (or any warning with --strict).
What is checked, and why before training: finetune/data/check.py.
"""
import sys

from finetune.data.check import check_data, summary

DESCRIPTION = ("Walk DATA (the folder holding data_train/ and test/, or its parent) once, decode every "
               "frame and report each problem with its path. Exit 1 if training or prediction would fail.")


def _add_arguments(p) -> None:
    p.add_argument("data", help="dataset folder")
    p.add_argument("--min-clips", type=int, default=5, help="warn about classes with fewer clips (default 5)")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("check-data", help="report every problem in a dataset, each with its path",
                              description=DESCRIPTION)
    _add_arguments(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    rep = check_data(args.data, args.min_clips)
    for level, path, what in rep.problems:
        print(f"{level.upper():7s} {path}: {what}")
    print(summary(rep))
    failed = rep.errors > 0 or (args.strict and rep.problems)
    print("FAIL: fix the errors above before training" if failed else "OK")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """`python -m finetune.commands.check_data DATA`: the same command on its own, without loading the training
    code."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m finetune.commands.check_data", description=DESCRIPTION)
    _add_arguments(parser)
    return _run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
