"""What `python -m exercises` prints around the grade: hints one step at a time, and what to do after a PASS.

Which hint of each exercise you have seen is remembered in a small JSON file,
`~/.cache/videomae-from-scratch/exercise_hints.json` (under $XDG_CACHE_HOME when
it is set; the environment variable EXERCISES_HINTS_FILE names another file).
`python -m exercises hint --reset` forgets it; deleting the file does the same.
"""
import json
import os
import textwrap
from dataclasses import replace
from pathlib import Path

from . import BY_NAME, EXERCISES
from .hints import HINTS
from .questions import FINISHED, QUESTIONS, Question

WIDTH = 100  # a terminal's width, less the indent


def hints_file() -> Path:
    if os.environ.get("EXERCISES_HINTS_FILE"):
        return Path(os.environ["EXERCISES_HINTS_FILE"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "videomae-from-scratch" / "exercise_hints.json"


def seen(path: Path | None = None) -> dict[str, int]:
    """{exercise: the highest hint level shown}; a missing or unreadable file is a fresh start."""
    try:
        data = json.loads((path or hints_file()).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in BY_NAME and isinstance(v, int)} if isinstance(data, dict) else {}


def remember(levels: dict[str, int], path: Path | None = None) -> str | None:
    """Write the levels seen; None, or why they could not be written (the hint is shown all the same)."""
    path = path or hints_file()
    try:
        if levels:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(levels, indent=1, sort_keys=True) + "\n")
        else:
            path.unlink(missing_ok=True)
    except OSError as err:
        return f"could not remember which hints you have seen ({path}: {err.strerror}); use --level K"
    return None


def paragraph(text: str, first: str, rest: str | None = None) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=first if rest is None else rest,
                         break_on_hyphens=False)


def show_hint(name: str, level: int) -> list[str]:
    """Hint `level` (1-based) of `name`: its stage, the English, the Vietnamese, then the code lines as they are."""
    hints = HINTS[name]
    hint = hints[level - 1]
    lines = [f"{name}, hint {level} of {len(hints)}: {hint.stage}"]
    lines += paragraph(hint.en, "  ") + [""] + paragraph(hint.vi, "  ")
    return lines + ([""] + [f"    {c}" for c in hint.code] if hint.code else [])


def after_hint(name: str, level: int) -> str:
    hints = HINTS[name]
    if level < len(hints):
        return (f"next hint ({hints[level].stage}): python -m exercises hint {name}\n"
                f"check your code:        python -m exercises check {name}")
    return (f"that was the last hint of {name}; the reference answer is exercises/solutions/{name}.py (read it "
            f"after trying)\nstart the hints over: python -m exercises hint {name} --reset")


def words(q: Question, first: str, then: str, verb: str = "try") -> list[str]:
    lines = paragraph(q.en, first, then) + paragraph(q.vi, then)
    return lines + ([f"{then}{verb}: {q.try_it}"] if q.try_it else [])


def next_exercise(name: str) -> list[str]:
    """The exercise after `name` in reading order, with the command; after the last, what to do next."""
    order = [e.name for e in EXERCISES]
    i = order.index(name) + 1
    if i == len(order):
        last = f"{name} was the last exercise (python -m exercises check grades all {len(order)}). "
        return words(replace(FINISHED, en=last + FINISHED.en), "  next: ", "        ", verb="run")
    e = EXERCISES[i]
    return [f"  next: exercise {i + 1} of {len(order)}, {e.name} ({e.what}): python -m exercises check {e.name}"]


def after_pass(name: str) -> list[str]:
    """Under `PASS name`: a question about the code just written, then the next exercise."""
    return words(QUESTIONS[name], "  think: ", "         ") + next_exercise(name)


def after_fail(name: str) -> str:
    levels, shown = len(HINTS[name]), seen().get(name, 0)
    if shown >= levels:
        return f"  stuck? all {levels} hints: python -m exercises hint {name} --all"
    return f"  stuck? hint {shown + 1} of {levels}: python -m exercises hint {name}"


def where_next(passed: dict[str, bool]) -> list[str]:
    """After grading every exercise: the first one (reading order) that does not pass yet, or what comes after."""
    todo = [n for n, ok in passed.items() if not ok]
    if not todo:
        return words(FINISHED, "next: ", "      ", verb="run")
    i = [e.name for e in EXERCISES].index(todo[0])
    return [f"next: exercise {i + 1}, {todo[0]}: python -m exercises check {todo[0]} "
            f"(a hint: python -m exercises hint {todo[0]})"]
