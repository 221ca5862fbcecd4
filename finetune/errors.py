"""Mistakes a user can fix, told apart from bugs.

A wrong path, a file that is not a checkpoint, a bad `--set`, a broken dataset
or a run folder that already exists is not a bug in this program: the user
needs one line that says what was expected, what was found and where, not a
Python traceback. Code raises a `UserError` (or one of its kinds below) for
those; `python -m finetune` prints it as `error: ...` and exits with status 2.
Everything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A mistake in what the user gave us; the message names the path or value and what was expected."""


class DataError(UserError, ValueError):
    """The dataset is not in the expected layout, or a clip cannot be read."""


class ConfigError(UserError, ValueError):
    """A bad preset, `--set` pair or config value."""


class RunError(UserError):
    """A run folder that is missing, already used, or does not fit the data."""
