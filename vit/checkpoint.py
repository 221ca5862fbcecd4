"""Reading the checkpoint files people actually hold, and translating key names.

One place for what every `from_pretrained` in the project needs:

- `read_checkpoint(path)`: a directory (HF: config.json + model.safetensors or
  pytorch_model.bin) or one file (.safetensors, .pth/.pt/.bin); the state dict
  is unwrapped from 'model' / 'module' / 'state_dict' (official repositories).
- `hf_blocks_to_ours` / `ours_blocks_to_hf`: the per-layer names of transformers'
  ViT, ViTMAE and VideoMAE files (separate query/key/value) <-> ours (one fused
  `qkv`, the official and timm layout: rows [0:D] query, [D:2D] key, [2D:] value).
- `load_state(model, state, source)`: strict loading whose error names every
  missing, unexpected or mis-shaped key, with both shapes.
"""
import json
import re
from pathlib import Path

import torch
from torch import nn

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "checkpoint.pth")


def _load_file(path: Path) -> dict:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # official .pth files also pickle their argparse options
        if "weights_only" not in str(err) and "Unpickl" not in type(err).__name__:
            raise ValueError(f"cannot read checkpoint {path}: {err}") from err
        return torch.load(path, map_location="cpu", weights_only=False)


def read_checkpoint(path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """(state_dict, config) from a directory or a file. `config` is the parsed
    config.json (HF directory), the 'config' entry of our own files, or None."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    config = None
    if path.is_dir():
        found = [path / f for f in WEIGHT_FILES if (path / f).exists()]
        if not found:
            raise FileNotFoundError(f"{path} holds none of {', '.join(WEIGHT_FILES)}: not a checkpoint directory")
        if (path / "config.json").exists():
            config = json.loads((path / "config.json").read_text())
        path = found[0]
    obj = _load_file(path)
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a state dict (a dict of tensors), found {type(obj).__name__}")
    if isinstance(obj.get("config"), dict) and config is None:
        config = obj["config"]
    for wrapper in ("model", "module", "state_dict", "model_state"):
        if isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
            break
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise ValueError(f"{path}: no tensors found (top-level keys: {sorted(obj)[:10]})")
    return state, config


def strip_prefix(state: dict, prefix: str) -> dict:
    """Drop `prefix` from the keys that have it (e.g. 'module.' left by DDP)."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}


# transformers 5 renamed the ViT modules in memory (files keep the old names);
# a state dict saved with torch.save(model.state_dict()) has the new ones.
_HF5_ALIASES = [
    (r"\.layers\.(\d+)\.attention\.q_proj\.", r".encoder.layer.\1.attention.attention.query."),
    (r"\.layers\.(\d+)\.attention\.k_proj\.", r".encoder.layer.\1.attention.attention.key."),
    (r"\.layers\.(\d+)\.attention\.v_proj\.", r".encoder.layer.\1.attention.attention.value."),
    (r"\.layers\.(\d+)\.attention\.o_proj\.", r".encoder.layer.\1.attention.output.dense."),
    (r"\.layers\.(\d+)\.mlp\.fc1\.", r".encoder.layer.\1.intermediate.dense."),
    (r"\.layers\.(\d+)\.mlp\.fc2\.", r".encoder.layer.\1.output.dense."),
    (r"\.layers\.(\d+)\.layernorm_", r".encoder.layer.\1.layernorm_"),
]

_HF_LAYER_PARTS = {  # HF name inside one layer -> ours inside one block
    "layernorm_before": "norm1",
    "layernorm_after": "norm2",
    "attention.output.dense": "attn.proj",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
}


def hf_blocks_to_ours(state: dict, src: str, dst: str) -> dict:
    """Rename the layers under `src` (e.g. 'vit.encoder.layer.') to ours under `dst`
    (e.g. 'blocks.'), fusing query/key/value into `qkv`. Keys outside `src` pass
    through unchanged. Handles full q/k/v biases and VideoMAE's q_bias / v_bias
    (spelled `q_bias` in files, `query.bias` without a key bias in memory)."""
    state = dict(state)
    for pattern, repl in _HF5_ALIASES:
        state = {re.sub(pattern, repl, "." + k)[1:]: v for k, v in state.items()}
    out, layers = {}, {}
    for key, value in state.items():
        if not key.startswith(src):
            out[key] = value
            continue
        index, rest = key[len(src):].split(".", 1)
        layers.setdefault(int(index), {})[rest] = value
    for i, parts in sorted(layers.items()):
        a = "attention.attention."
        for name in ("query", "key", "value"):
            if f"{a}{name}.weight" not in parts:
                raise KeyError(f"layer {src}{i} has no {a}{name}.weight; found {sorted(parts)}")
        out[f"{dst}{i}.attn.qkv.weight"] = torch.cat([parts.pop(f"{a}{n}.weight") for n in ("query", "key", "value")])
        if f"{a}key.bias" in parts:
            out[f"{dst}{i}.attn.qkv.bias"] = torch.cat([parts.pop(f"{a}{n}.bias") for n in ("query", "key", "value")])
        q = parts.pop(f"{a}q_bias", None)
        q = parts.pop(f"{a}query.bias", q)
        v = parts.pop(f"{a}v_bias", None)
        v = parts.pop(f"{a}value.bias", v)
        if q is not None:
            out[f"{dst}{i}.attn.q_bias"], out[f"{dst}{i}.attn.v_bias"] = q, v
        for rest, value in parts.items():
            module, leaf = rest.rsplit(".", 1)
            if module not in _HF_LAYER_PARTS:
                raise KeyError(f"unknown key {src}{i}.{rest} in a transformers checkpoint")
            out[f"{dst}{i}.{_HF_LAYER_PARTS[module]}.{leaf}"] = value
    return out


def ours_blocks_to_hf(state: dict, src: str, dst: str) -> dict:
    """Inverse of `hf_blocks_to_ours`: our blocks under `src` -> HF file names under
    `dst`, q_bias / v_bias written with the file spelling (`q_bias`)."""
    inverse = {v: k for k, v in _HF_LAYER_PARTS.items()}
    out = {}
    for key, value in state.items():
        if not key.startswith(src):
            out[key] = value
            continue
        index, rest = key[len(src):].split(".", 1)
        a = f"{dst}{index}.attention.attention."
        if rest in ("attn.qkv.weight", "attn.qkv.bias"):
            leaf = rest.rsplit(".", 1)[1]
            for name, chunk in zip(("query", "key", "value"), value.chunk(3)):
                out[f"{a}{name}.{leaf}"] = chunk.clone()
        elif rest in ("attn.q_bias", "attn.v_bias"):
            out[f"{a}{rest[5:]}"] = value
        else:
            module, leaf = rest.rsplit(".", 1)
            out[f"{dst}{index}.{inverse[module]}.{leaf}"] = value
    return out


def load_state(model: nn.Module, state: dict, source: str = "checkpoint") -> None:
    """Load `state` into `model` strictly; on any mismatch raise one error that
    lists each key with the shape expected and the shape found. Non-persistent
    buffers (fixed position tables) are not expected in the file."""
    expected = model.state_dict()
    problems = []
    for key, param in expected.items():
        if key not in state:
            problems.append(f"  missing {key}: expected shape {tuple(param.shape)}")
        elif state[key].shape != param.shape:
            problems.append(f"  {key}: expected shape {tuple(param.shape)}, found {tuple(state[key].shape)}")
    problems += [f"  unexpected {k}: shape {tuple(v.shape)}" for k, v in state.items() if k not in expected]
    if problems:
        raise ValueError(f"{source} does not fit {type(model).__name__}:\n" + "\n".join(problems))
    model.load_state_dict(state, strict=True)
