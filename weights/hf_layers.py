"""transformers' names for one encoder layer <-> ours, shared by ViT, ViTMAE and VideoMAE files.

    transformers (files)                                ours = timm = official repositories
    {i}.attention.attention.{query,key,value}.weight    {i}.attn.qkv.weight  rows [0:D] query, [D:2D] key, [2D:] value
    {i}.attention.attention.{query,key,value}.bias      {i}.attn.qkv.bias    (ViT, MAE: a bias on all three)
    {i}.attention.attention.{q_bias,v_bias}             {i}.attn.{q_bias,v_bias}  (VideoMAE: no key bias)
    {i}.attention.output.dense.*                        {i}.attn.proj.*
    {i}.layernorm_before.*, {i}.layernorm_after.*       {i}.norm1.*, {i}.norm2.*
    {i}.intermediate.dense.*, {i}.output.dense.*        {i}.mlp.fc1.*, {i}.mlp.fc2.*

transformers 5 renamed the modules in memory (`layers.{i}.attention.q_proj`,
`mlp.fc1`, VideoMAE's `query.bias` for `q_bias`); its files keep the names
above, but a `torch.save(model.state_dict())` has the new ones: both are read.
"""
import re

import torch

from .errors import CheckpointError

_HF5_ALIASES = [  # transformers 5, in memory -> the file names above
    (r"\.layers\.(\d+)\.attention\.q_proj\.", r".encoder.layer.\1.attention.attention.query."),
    (r"\.layers\.(\d+)\.attention\.k_proj\.", r".encoder.layer.\1.attention.attention.key."),
    (r"\.layers\.(\d+)\.attention\.v_proj\.", r".encoder.layer.\1.attention.attention.value."),
    (r"\.layers\.(\d+)\.attention\.o_proj\.", r".encoder.layer.\1.attention.output.dense."),
    (r"\.layers\.(\d+)\.mlp\.fc1\.", r".encoder.layer.\1.intermediate.dense."),
    (r"\.layers\.(\d+)\.mlp\.fc2\.", r".encoder.layer.\1.output.dense."),
    (r"\.layers\.(\d+)\.layernorm_", r".encoder.layer.\1.layernorm_"),
]

_LAYER_PARTS = {  # transformers' name inside one layer -> ours inside one block
    "layernorm_before": "norm1",
    "layernorm_after": "norm2",
    "attention.output.dense": "attn.proj",
    "intermediate.dense": "mlp.fc1",
    "output.dense": "mlp.fc2",
}


def hf_blocks_to_ours(state: dict, src: str, dst: str) -> dict:
    """Rename the layers under `src` (e.g. 'vit.encoder.layer.') to ours under `dst`
    (e.g. 'blocks.'), fusing query/key/value into `qkv`. Keys outside `src` pass
    through unchanged. A layer that does not fit is a CheckpointError naming it."""
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
                raise CheckpointError(f"layer {src}{i} has no {a}{name}.weight; found {sorted(parts)}")
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
            if module not in _LAYER_PARTS:
                raise CheckpointError(f"unknown key {src}{i}.{rest} in a transformers checkpoint")
            out[f"{dst}{i}.{_LAYER_PARTS[module]}.{leaf}"] = value
    return out


def ours_blocks_to_hf(state: dict, src: str, dst: str) -> dict:
    """Inverse of `hf_blocks_to_ours`: our blocks under `src` -> transformers' file
    names under `dst`, q_bias / v_bias written with the file spelling (`q_bias`)."""
    inverse = {v: k for k, v in _LAYER_PARTS.items()}
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
