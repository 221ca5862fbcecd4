"""`python -m finetune <command>`: a registry of subcommands, one module each.

Every module named in COMMANDS defines `add_parser(subparsers)`, which adds its
subcommand with its own --help text and sets `func(args) -> exit code`. Adding a
command is one line here; modules are imported only when the CLI runs, so
`import finetune` stays light. A command parses its arguments, calls the library
(the same functions as `from finetune import train, ...`) and prints the result;
the arguments several commands share are spelled once, below (`add_run_arguments`).

How a command ends (`main`'s exit status):

    0    done (check-data: no errors found)
    1    check-data found problems, or a bug: its traceback, then how to report it
    2    a mistake the user can fix (a wrong path, a file that is not a checkpoint,
         a bad --set, a broken dataset, a run folder already used): ONE line
         `error: <what was expected, what was found, where>`, no traceback.
         argparse's own usage errors exit 2 as well.
    130  interrupted (Ctrl-C); a training run keeps its last checkpoint

`python -m finetune --debug <command>` or FINETUNE_DEBUG=1 shows the full
traceback for every error, the user's mistakes included.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from finetune.errors import UserError
from finetune.run_folder import RunFolder

COMMANDS = ["make_toy_data", "check_data", "extract_frames", "train", "predict", "report", "ensemble", "ablate",
            "export", "demo"]  # modules of finetune.commands
DEBUG_ENV = "FINETUNE_DEBUG"
USAGE_ERROR, INTERRUPTED, BUG = 2, 130, 1


def user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "the user gave us something wrong", not "this program is wrong"."""
    from weights import CheckpointError  # imports torch: only when an error is being sorted

    return (UserError, CheckpointError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError,
            PermissionError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m finetune",
        description="Fine-tune VideoMAE / ViT on the Project 7.1 competition data (HMDB51 frames).",
        epilog="Exit status: 0 done, 1 check-data found problems (or a bug), 2 a mistake in the input "
               "(one 'error:' line), 130 interrupted.")
    debug_help = f"show the full traceback of any error (same as {DEBUG_ENV}=1)"
    parser.add_argument("--debug", action="store_true", help=debug_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"finetune.commands.{name}").add_parser(sub)
    for command in sub.choices.values():  # `--debug` after the command works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=debug_help)
    return parser


def debug_enabled(args: argparse.Namespace | None = None) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")


def describe_error(err: BaseException) -> str:
    """The message of a user error as the user should read it: what, where; no traceback."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:  # raised by open(), os.*, ...
        where = f"{err.filename}" + (f" -> {err.filename2}" if err.filename2 is not None else "")
        return f"{err.strerror}: {where}"
    msg = str(err).strip() or type(err).__name__
    # an error raised in a DataLoader worker comes back with the worker's traceback inside its
    # message: keep only the original "Type: message" that ends it
    if "Original Traceback (most recent call last):" in msg:
        lines = msg.splitlines()
        frames = [i for i, line in enumerate(lines) if line.startswith("  File ")]
        rest = lines[frames[-1] + 1:] if frames else lines
        while rest and (rest[0].startswith("    ") or not rest[0].strip()):  # the code line and its ^^^ marks
            rest.pop(0)
        head, sep, tail = "\n".join(rest).partition(": ")
        msg = (tail if sep and " " not in head else "\n".join(rest)).strip() or msg
    return msg


def print_error(err: BaseException, file=None) -> None:
    """`error: <first line>`; further lines of the message (e.g. one per mis-shaped key) indented below it."""
    first, *more = describe_error(err).splitlines()
    print("\n".join([f"error: {first}"] + [f"  {line}" for line in more]), file=file or sys.stderr, flush=True)


def _interrupted_note(args: argparse.Namespace) -> str:
    command = getattr(args, "command", None)
    if command == "train" and getattr(args, "out", None):
        ckpt = RunFolder(args.out).checkpoint
        if ckpt.exists():
            return (f"interrupted; the last checkpoint stays in {ckpt}: continue with the same command "
                    "plus --resume")
        return "interrupted (before the run's first checkpoint)"
    if command == "ablate":
        return ("interrupted; finished runs and the last checkpoint of the current one stay in "
                f"{args.out}: run the same command again to continue")
    return "interrupted"


def _as_user_error(err: Exception) -> Exception:
    """A full disk or a killed data-loading worker that reached here untold (`train` tells them itself, with
    its checkpoint): not a bug, but the machine's limits; one line that says so. Anything else as it is."""
    from finetune.disk import is_disk_error
    from finetune.training.killed_worker import worker_death, worker_killed

    if isinstance(err, user_errors()):
        return err  # told already (a WorkerKilled keeps the death it explains as its cause)
    if is_disk_error(err):
        told = UserError(f"{describe_error(err)}: free some space on that disk (or write elsewhere), then run the "
                         "command again")
    elif worker_death(err):
        told = worker_killed(worker_death(err))
    else:
        return err
    told.__cause__ = err  # --debug shows the original traceback
    return told


def run_command(func, args: argparse.Namespace) -> int:
    """`func(args)`, its exit status, and every exception turned into the status and message above."""
    debug = debug_enabled(args)
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(_interrupted_note(args), file=sys.stderr, flush=True)
        return INTERRUPTED
    except Exception as err:  # noqa: BLE001 - every error is sorted here: the user's mistake, or a bug (traceback)
        err = _as_user_error(err)
        if isinstance(err, user_errors()):
            if debug:
                traceback.print_exc()
            print_error(err)
            return USAGE_ERROR
        traceback.print_exc()
        print(f"This is a bug in finetune, not in your input: please report it with the command line and the "
              f"traceback above (python {sys.version.split()[0]}, {sys.platform}).", file=sys.stderr, flush=True)
        return BUG


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return USAGE_ERROR
    return run_command(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
