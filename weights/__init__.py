"""Checkpoint files: read safely, recognised, converted to our names, loaded strictly.

Every `from_pretrained` in the project (`vit.ViT`, `imagemae.MAE`,
`videomae.VideoViT`, `videomae.VideoMAE`) is the same four steps:

    state, config = read_checkpoint(path, KIND.formats)   # the file, read safely   (weights/files.py)
    state, fields = convert_x(state, config, path)        # pure: names and fields  (<package>/checkpoint.py)
    model = cls(Config(**fields))
    load_state(model, state, str(path))                   # strict, every mismatch named (weights/load.py)

This package holds what all of them share and knows no model: reading every
file format without unpickling code (`files.py`), the `CheckpointError` every
mistake becomes (`errors.py`), the released models' head counts that official
files do not store (`heads.py`), transformers' per-layer names (`hf_layers.py`),
the converter pattern with its one renaming helper and its "our own file"
marker (`layouts.py`), and the strict loader (`load.py`). Each model package
keeps only its own converter, in its `checkpoint.py`.
"""
from .errors import CheckpointError, checkpoint_error
from .files import FORMATS, SAFE_GLOBALS, WEIGHT_FILES, read_checkpoint
from .heads import RELEASED_HEADS, released_heads, resolve_heads
from .hf_layers import hf_blocks_to_ours, ours_blocks_to_hf
from .layouts import (
    OURS,
    Layout,
    ModelKind,
    count_blocks,
    describe,
    our_fields,
    rename,
    set_num_classes,
    strip_prefix,
    to_our_names,
)
from .load import load_state

__all__ = [
    "FORMATS", "OURS", "RELEASED_HEADS", "SAFE_GLOBALS", "WEIGHT_FILES", "CheckpointError", "Layout", "ModelKind",
    "checkpoint_error", "count_blocks", "describe", "hf_blocks_to_ours", "load_state", "our_fields",
    "ours_blocks_to_hf", "read_checkpoint", "released_heads", "rename", "resolve_heads", "set_num_classes",
    "strip_prefix", "to_our_names",
]
