"""The one exception for a checkpoint a model cannot load, and the shape of its message."""


class CheckpointError(ValueError):
    """A checkpoint path that cannot be loaded into the model asked for: not a
    checkpoint, truncated, refused as unsafe, another model's weights, an
    unknown head count, or keys / shapes that do not fit. The message names the
    file; it is a mistake the user can fix, so callers may print the message
    without a traceback."""


def checkpoint_error(path, problem: str, formats: str) -> CheckpointError:
    """'<path>: <problem>. Expected <formats>.': the shape of every "this is not
    a checkpoint I can read" message."""
    return CheckpointError(f"{path}: {problem}. Expected {formats}.")
