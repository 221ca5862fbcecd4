"""Writing a run's files on a disk that may be full: atomically, and with one clear error when it fails.

Kaggle gives a notebook 20 GB in /kaggle/working, and one ViT-B checkpoint with
its AdamW state is about 1 GB (docs/04_project71.md, "Disk"). When a write
fails (disk full, over quota, a read-only folder), Python raises a bare
`OSError: [Errno 28] No space left on device` that names no file, half a file
stays on the disk, and the user cannot tell what was lost. Here every file is
written the same way:

    write to NAME.tmp -> flush -> fsync -> os.replace(NAME.tmp, NAME)

A rename is atomic on POSIX, so NAME is either the old complete file or the new
complete one, never half of one; a failed write deletes NAME.tmp (giving its
space back) and raises `WriteFailed`, which names the file, the space the
write needed, the space left, and (filled in by the run, `keep`) which
checkpoint is intact and how to continue. Note what the atomic write costs:
the new file is written beside the old one, so a checkpoint save needs its own
size free even though it replaces a file of the same size.

A bottom module like finetune/errors.py: the standard library only (torch
tensors are sized by duck typing), so `run_folder` can use it without torch.
"""
from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from finetune.errors import RunError

# what "the disk cannot take this file" looks like: full, over quota, read-only, file too large
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def human_bytes(n: int | None) -> str:
    """1_040_000_000 -> '1.04 GB' (decimal units, as disk quotas are stated)."""
    if n is None:
        return "an unknown amount"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def free_bytes(path: Path) -> int | None:
    """Free space on the disk that holds `path` (or its nearest existing parent); None if unknown."""
    for p in (Path(path), *Path(path).parents):
        if p.exists():
            try:
                return shutil.disk_usage(p).free
            except OSError:
                return None
    return None


def tensor_bytes(obj) -> int:
    """The bytes of every tensor inside nested dicts/lists/tuples: what torch.save will write, about."""
    if isinstance(obj, dict):
        return sum(tensor_bytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(tensor_bytes(v) for v in obj)
    if hasattr(obj, "element_size") and hasattr(obj, "nelement"):  # a torch.Tensor, without importing torch
        return obj.nelement() * obj.element_size()
    return 0


def is_disk_error(err: BaseException) -> bool:
    """An OSError that says the disk cannot take the file (not e.g. a missing folder)."""
    return isinstance(err, OSError) and err.errno in DISK_ERRNOS


class WriteFailed(RunError):
    """A run's file could not be written: what, why, how much it needed, what is left and what is intact.

    `keep` is the sentence about the run's last good checkpoint; the run fills it in
    (finetune/training_run.py), since only it knows which checkpoint that is."""

    def __init__(self, path: str | Path, err: OSError, needed: int | None = None, keep: str = ""):
        super().__init__(str(path))
        self.path, self.needed, self.keep = Path(path), needed, keep
        self.reason = err.strerror or str(err) or type(err).__name__
        self.free = free_bytes(self.path.parent)  # measured after the partial file was deleted

    def __str__(self) -> str:
        free = f", {human_bytes(self.free)} free there" if self.free is not None else ""
        keep = f" {self.keep}" if self.keep else ""
        return f"cannot write {self.path} ({self.reason}): it needs about {human_bytes(self.needed)}{free}.{keep}"


def write_atomic(path: str | Path, write: Callable, needed: int | None = None) -> Path:
    """`write(f)` into PATH.tmp (binary), flushed to disk, then renamed over PATH; WriteFailed if it fails.

    Whatever stops the write (a full disk, a kill signal turned into an exception), PATH.tmp
    is deleted and PATH keeps its previous content."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)  # give the partial file's space back before measuring what is free
        if isinstance(err, OSError) and not isinstance(err, FileNotFoundError):
            raise WriteFailed(path, err, needed) from err
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """`write_atomic` for a text file (UTF-8); the space needed is the text's size."""
    data = text.encode("utf-8")
    return write_atomic(path, lambda f: f.write(data), len(data))
