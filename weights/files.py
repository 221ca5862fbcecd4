"""Reading a checkpoint file or folder without running any code from it.

`read_checkpoint(path)` takes what people hold: a directory (transformers:
config.json + model.safetensors or pytorch_model.bin) or one file
(.safetensors, or .pth / .pt / .bin written by `torch.save`), and returns the
state dict, unwrapped from 'model' / 'module' / 'state_dict' (where the
official repositories keep it), and the config that came with it.

Files written by `torch.save` are pickles, and unpickling can run any code the
file's author chose. They are read with `torch.load(weights_only=True)` only:
nothing but tensors, plain containers and the `argparse.Namespace` the official
training scripts store is accepted
(https://pytorch.org/docs/stable/generated/torch.load.html). Every other
problem (a text file, an empty or cut file, a folder without weights) is a
CheckpointError that names the file and what is read.
"""
import argparse
import json
import pickle
import re
from pathlib import Path

import torch

from .errors import CheckpointError, checkpoint_error

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "checkpoint.pth")

# What `read_checkpoint` reads; each model's loader passes a more precise sentence.
FORMATS = (
    "a transformers directory (config.json + model.safetensors or pytorch_model.bin), or one file holding "
    "a state dict: .safetensors, or .pth / .pt / .bin written by torch.save"
)

# The only non-tensor object allowed inside a torch.save file: facebookresearch/mae
# and MCG-NJU/VideoMAE save their command-line options next to the weights
# (`utils.save_model`: {'model', 'optimizer', 'epoch', 'scaler', 'args'}).
SAFE_GLOBALS = [argparse.Namespace]


def _sniff(path: Path) -> str:
    """What the file holds, from its first bytes: 'empty', 'torch' (a zip, as
    torch.save writes since 1.6, or an older raw pickle), 'text' (no NUL byte,
    decodes as UTF-8), 'safetensors' (an 8-byte header length, then the JSON
    header), or 'unknown'."""
    with path.open("rb") as f:
        head = f.read(512)
    if not head:
        return "empty"
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        return "torch"
    if b"\0" not in head and head.decode("utf-8", errors="replace").count("\ufffd") <= 3:  # a cut last character
        return "text"
    if head[8:9] == b"{":
        return "safetensors"
    return "unknown"


def _unsafe_refusal(path: Path, err: Exception, formats: str) -> CheckpointError:
    """The error for a pickle that names a global outside the allowed ones (torch's
    message names it as 'GLOBAL module.name')."""
    found = re.search(r"GLOBAL (\S+)", str(err))
    name = f"`{found.group(1)}`" if found else "an object that is not plain data"
    cut = " (a torch name torch.load does not know: the file may simply be truncated or corrupt)" if (
        found and found.group(1).startswith("torch.")) else ""
    return checkpoint_error(
        path,
        f"refused to load: reading it would unpickle {name}{cut}, and unpickling anything other than tensors, "
        "plain containers and argparse.Namespace can run arbitrary code chosen by whoever wrote the file "
        "(it is read with torch.load(weights_only=True), never weights_only=False). If you trust this file, "
        "re-save just its state dict yourself and load that: "
        f"torch.save(torch.load({str(path)!r}, weights_only=False)['model'], 'clean.pth') "
        "(use the key holding the weights: 'model', 'module' or 'state_dict'; for a pickled nn.Module, "
        ".state_dict())",
        formats,
    )


def _is_zip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else "no message"


def load_file(path: Path, formats: str = FORMATS, lazy: bool = False) -> object:
    """The object stored in one file, read without running any code from it. `lazy`: only
    the shapes are needed (a safetensors file gives meta tensors, a torch.save file is
    memory-mapped), so a 4 GB ViT-g file is described without being read."""
    kind = _sniff(path)
    if kind == "empty":
        raise checkpoint_error(path, "the file is empty (0 bytes)", formats)
    if kind == "text":
        first = (path.read_text(errors="replace").strip().splitlines() or [""])[0][:80]
        raise checkpoint_error(
            path, f"this is a text file, not weights (first line: {first!r}; a Git LFS pointer or a web page "
            "saved instead of the file?)", formats,
        )
    if kind == "safetensors" or (kind == "unknown" and path.suffix == ".safetensors"):
        from safetensors.torch import load_file as load_safetensors

        try:
            return _safetensors_shapes(path) if lazy else load_safetensors(str(path))
        except Exception as err:  # noqa: BLE001 - safetensors raises its own SafetensorError
            raise checkpoint_error(
                path, f"not a readable safetensors file, truncated or corrupt ({err})", formats
            ) from None
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            mmap = lazy and _is_zip(path)  # memory-mapping needs torch.save's zip format (the default since 1.6)
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err):
            raise _unsafe_refusal(path, err, formats) from None
        why = _first_line(err)
    except Exception as err:  # noqa: BLE001 - a truncated zip (RuntimeError), a cut pickle (EOFError), ...
        why = f"{type(err).__name__}: {_first_line(err)}"
    raise checkpoint_error(path, f"cannot be read by torch.load, truncated or corrupt ({why})", formats)


def _safetensors_shapes(path: Path) -> dict[str, torch.Tensor]:
    """Meta tensors (shape and dtype, no data) for every tensor of a safetensors file: its header only."""
    from safetensors import safe_open

    dtypes = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    with safe_open(str(path), framework="pt") as f:
        return {k: torch.empty(f.get_slice(k).get_shape(), dtype=dtypes.get(f.get_slice(k).get_dtype(), torch.float32),
                               device="meta") for k in f.keys()}  # noqa: SIM118 - a safe_open handle is not a dict


def read_checkpoint(path, formats: str = FORMATS, lazy: bool = False) -> tuple[dict[str, torch.Tensor], dict | None]:
    """(state_dict, config) from a directory or a file. `config` is the parsed
    config.json (transformers directory), the 'config' entry of our own files,
    or None. `formats` is the caller's sentence for what it reads, used in the errors.
    `lazy`: for the shapes only (see `load_file`): the tensors must not be computed with."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}. Expected {formats}.")
    config = None
    if path.is_dir():
        found = [path / f for f in WEIGHT_FILES if (path / f).exists()]
        if not found:
            held = sorted(p.name for p in path.iterdir())
            listing = ", ".join(held[:8]) + (" ..." if len(held) > 8 else "") if held else "nothing"
            raise checkpoint_error(
                path, f"this directory holds none of {', '.join(WEIGHT_FILES)} (found: {listing}); "
                "if one of its files is the checkpoint, pass that file", formats,
            )
        if (path / "config.json").exists():
            try:
                config = json.loads((path / "config.json").read_text())
            except ValueError as err:
                raise checkpoint_error(path / "config.json", f"not valid JSON ({err})", formats) from None
        path = found[0]
    obj = load_file(path, formats, lazy)
    if not isinstance(obj, dict):
        raise checkpoint_error(path, f"expected a state dict (a dict of tensors), found {type(obj).__name__}", formats)
    if isinstance(obj.get("config"), dict) and config is None:
        config = obj["config"]
    for wrapper in ("model", "module", "state_dict", "model_state"):
        if isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
            break
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise checkpoint_error(path, f"no tensors found (top-level keys: {sorted(map(str, obj))[:10]})", formats)
    return state, config
