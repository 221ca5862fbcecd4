"""The grader: run one exercise's check on a file and report, in words, what is wrong.

    grade(name, directory) -> Result      directory: exercises/ or exercises/solutions/

The checks themselves are in exercises/checks.py. An exception in the student's
code (or a file that does not import) becomes a FAIL line with the exception's
last line and where in the file it was raised, never a crash of the grader.
"""
import importlib.util
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checks import CHECKS
from .compare import Mistake

HERE = Path(__file__).resolve().parent


@dataclass
class Result:
    name: str
    fails: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.fails

    def lines(self) -> list[str]:
        return [f"PASS {self.name}"] if self.passed else [f"FAIL {self.name}: {m}" for m in self.fails]


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"graded_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def last_line(err: BaseException, path: Path) -> str:
    """'ValueError: ...' and, when the error is raised in the graded file, where."""
    text = traceback.format_exception_only(type(err), err)[-1].strip()
    frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path]
    return text + (f" (at {path.name}:{frames[-1].lineno}: {frames[-1].line})" if frames else "")


def shown(path: Path) -> str:
    """The path as the student would type it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def grade(name: str, directory: Path | str = HERE) -> Result:
    """Check `directory/<name>.py` against the real code; the Result lists what is wrong, in words."""
    path = (Path(directory) / f"{name}.py").resolve()
    result = Result(name)
    if not path.is_file():
        result.fails.append(f"no file {shown(path)}")
        return result
    try:
        module = load(path)
    except Exception as err:  # noqa: BLE001 - a syntax error, a bad import: the student's, reported, not raised
        result.fails.append(f"could not import {shown(path)}: {last_line(err, path)}")
        return result
    torch.manual_seed(0)  # code that draws from the global generator is repeatable too
    try:
        for message in CHECKS[name](module):  # the mistakes that do not stop the check
            result.fails.append(message)
    except Mistake as err:
        result.fails.append(str(err))
    except NotImplementedError as err:
        result.fails.append(f"not written yet: {shown(path)} says {str(err)!r}; read its docstring, write the body")
    except Exception as err:  # noqa: BLE001 - an error in the student's code becomes a FAIL line, never a crash
        result.fails.append(f"your code raised {last_line(err, path)}")
    return result


__all__ = ["HERE", "Result", "grade"]
