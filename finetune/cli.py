"""`python -m finetune <command>`: a registry of subcommands, one module each.

Every module named in COMMANDS defines `add_parser(subparsers)`, which adds its
subcommand with its own --help text and sets `func(args) -> exit code`. Adding a
command is one line here; modules are imported only when the CLI runs, so
`import finetune` stays light.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = ["finetune.toydata", "finetune.checkdata", "finetune.train", "finetune.predict", "finetune.ablate", "finetune.demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m finetune",
        description="Fine-tune VideoMAE / ViT on the Project 7.1 competition data (HMDB51 frames).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
