"""Reading the checkpoint files people actually hold, and converting them to ours.

One place for what every `from_pretrained` in the project needs, and the ViT's
own converter. A `from_pretrained` is four steps, the same in every package:

    state, config = read_checkpoint(path, FORMATS)     # the file, read safely
    state, fields = convert_...(state, config, path)   # pure: names and config fields
    model = cls(Config(**fields))
    load_state(model, state, path)                     # strict, every mismatch named

The converters (`convert_vit` here, `imagemae.checkpoint.convert_mae`,
`videomae.checkpoint.convert_videomae`) take a state dict and the file's config
and return a state dict in our names and the config's fields; they touch no
file and no model, as timm's `vision_transformer.py` `checkpoint_filter_fn`.

ViT layouts read by `convert_vit` (the same numbers under three spellings):

  ours = timm = official MAE    transformers ViTForImageClassification / ViTModel / ViTMAE*
  cls_token                     vit.embeddings.cls_token
  pos_embed                     vit.embeddings.position_embeddings
  patch_embed.proj.*            vit.embeddings.patch_embeddings.projection.*
  blocks.{i}.attn.qkv.*         vit.encoder.layer.{i}.attention.attention.{query,key,value}.*
  blocks.{i}.{norm1,norm2}.*    vit.encoder.layer.{i}.{layernorm_before,layernorm_after}.*
  blocks.{i}.attn.proj.*        vit.encoder.layer.{i}.attention.output.dense.*
  blocks.{i}.mlp.{fc1,fc2}.*    vit.encoder.layer.{i}.{intermediate,output}.dense.*
  norm.*                        vit.layernorm.*
  fc_norm.* (MAE fine-tuned)    -
  head.*                        classifier.*

A bare `ViTModel` has no `vit.` prefix; an official MAE pretraining file also
holds `decoder*` and `mask_token` (dropped); our MAE files hold the encoder
under `encoder.`.

The shared pieces:

- `read_checkpoint(path)`: a directory (HF: config.json + model.safetensors or
  pytorch_model.bin) or one file (.safetensors, .pth/.pt/.bin); the state dict
  is unwrapped from 'model' / 'module' / 'state_dict' (official repositories).
  Files written by `torch.save` are read with `torch.load(weights_only=True)`
  only: a pickle can run any code while it is read, so nothing but tensors,
  plain containers and the `argparse.Namespace` the official training scripts
  store is accepted (https://pytorch.org/docs/stable/generated/torch.load.html).
- `CheckpointError`: every mistake a user can make with a checkpoint (a file
  that is not one, a truncated file, another model's weights, keys that do not
  fit); the message names the file, what was expected and what was found.
  `check_model` raises the "this is another model's checkpoint" ones.
- `RELEASED_HEADS` / `released_heads`: the head counts of the released models,
  which official and timm `.pth` files do not store.
- `hf_blocks_to_ours` / `ours_blocks_to_hf`: the per-layer names of transformers'
  ViT, ViTMAE and VideoMAE files (separate query/key/value) <-> ours (one fused
  `qkv`, the official and timm layout: rows [0:D] query, [D:2D] key, [2D:] value).
- `count_blocks`, `strip_prefix`, `set_num_classes`: small steps the converters share.
- `load_state(model, state, source)`: strict loading whose error names every
  missing, unexpected or mis-shaped key, with both shapes.
"""
import argparse
import json
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from .pos_embed import resize_pos_embed

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "model.pth", "checkpoint.pth")

# What `read_checkpoint` reads; each model's loader passes a more precise sentence.
FORMATS = (
    "a transformers directory (config.json + model.safetensors or pytorch_model.bin), or one file holding "
    "a state dict: .safetensors, or .pth / .pt / .bin written by torch.save"
)
# What ViT.from_pretrained reads.
VIT_FORMATS = (
    "an image ViT: a transformers ViT / ViTMAE directory (config.json + model.safetensors or pytorch_model.bin), "
    "or a timm / official MAE / our state dict in one .safetensors, .pth, .pt or .bin file"
)

# The only non-tensor object allowed inside a torch.save file: facebookresearch/mae
# and MCG-NJU/VideoMAE save their command-line options next to the weights
# (`utils.save_model`: {'model', 'optimizer', 'epoch', 'scaler', 'args'}).
SAFE_GLOBALS = [argparse.Namespace]


class CheckpointError(ValueError):
    """A checkpoint path that cannot be loaded into the model asked for: not a
    checkpoint, truncated, refused as unsafe, another model's weights, an
    unknown head count, or keys / shapes that do not fit. The message names the
    file; it is a mistake the user can fix, so callers may print the message
    without a traceback."""


def checkpoint_error(path, problem: str, formats: str = FORMATS) -> CheckpointError:
    """'<path>: <problem>. Expected <formats>.': the shape of every "this is not
    a checkpoint I can read" message."""
    return CheckpointError(f"{path}: {problem}. Expected {formats}.")


# -- head counts ---------------------------------------------------------------
# Official and timm `.pth` files store the weights only; the head count lived in
# the code that built the model. These are the released configurations, by
# token width: ViT-Ti/S (Touvron et al. 2021, DeiT, table 1), ViT-B/L/H
# (Dosovitskiy et al. 2021, table 1), ViT-g (Zhai et al. 2022, "Scaling Vision
# Transformers"; VideoMAE V2's giant encoder), timm
# `vision_transformer.py`; the MAE decoder (facebookresearch/mae
# `models_mae.py`: 512 wide, 16 heads, for every encoder size); the VideoMAE
# decoders (MCG-NJU/VideoMAE `modeling_pretrain.py`: S 192 / 3, B 384 / 6,
# L 512 / 8, H 640 / 8). Width // 64 is right for most of them but not for
# ViT-H (1280 = 16 heads of 80) or ViT-g (1408 = 16 of 88): a wrong guess loads
# without any error and computes something else, so unknown widths are refused.
RELEASED_HEADS = {
    "encoder": {192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16},
    "MAE decoder": {512: 16},
    "VideoMAE decoder": {192: 3, 384: 6, 512: 8, 640: 8},
}


def released_heads(width: int, part: str, source, keyword: str = "heads") -> int:
    """The head count of the released model whose `part` ('encoder', 'MAE
    decoder', 'VideoMAE decoder') is `width` wide; a CheckpointError asking for
    `keyword=N` when no released model has that width."""
    table = RELEASED_HEADS[part]
    if width in table:
        return table[width]
    known = ", ".join(f"{w} -> {h}" for w, h in table.items())
    example = f" (e.g. {keyword}={width // 64} for heads of 64)" if width % 64 == 0 else ""
    raise CheckpointError(
        f"{source}: the file does not store how many attention heads its {part} has, and its width {width} is "
        f"not one of the released models' (width -> heads: {known}). Pass {keyword}=N, with N dividing "
        f"{width}{example}; a transformers directory's config.json records it."
    )


# -- reading files -----------------------------------------------------------
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


def _unsafe_refusal(path: Path, err: Exception) -> CheckpointError:
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
    )


def _load_file(path: Path, formats: str = FORMATS) -> object:
    """The object stored in one file, read without running any code from it."""
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
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as err:  # safetensors raises its own SafetensorError
            raise checkpoint_error(
                path, f"not a readable safetensors file, truncated or corrupt ({err})", formats
            ) from None
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err):
            raise _unsafe_refusal(path, err) from None
        why = _first_line(err)
    except Exception as err:  # a truncated zip (RuntimeError), a cut pickle (EOFError), ...
        why = f"{type(err).__name__}: {_first_line(err)}"
    raise checkpoint_error(path, f"cannot be read by torch.load, truncated or corrupt ({why})", formats)


def _first_line(err: Exception) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else "no message"


def read_checkpoint(path, formats: str = FORMATS) -> tuple[dict[str, torch.Tensor], dict | None]:
    """(state_dict, config) from a directory or a file. `config` is the parsed
    config.json (HF directory), the 'config' entry of our own files, or None.
    `formats` is the caller's sentence for what it reads, used in the errors."""
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
    obj = _load_file(path, formats)
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


def describe(state: dict, config: dict | None = None) -> str:
    """What a checkpoint holds, in a few words, for "expected X, found Y" errors:
    image or video (2-D patch or 3-D tubelet embedding), decoder, head, and the
    architecture its config.json names."""
    embed = next((v for k, v in state.items()
                  if k.endswith(("patch_embed.proj.weight", "patch_embeddings.projection.weight"))), None)
    if embed is None:
        found = f"no patch embedding among its {len(state)} tensors (first keys: {sorted(state)[:4]})"
    elif embed.ndim == 5:
        found = f"a video model (3-D tubelet embedding of shape {tuple(embed.shape)})"
    else:
        found = f"an image model (2-D patch embedding of shape {tuple(embed.shape)})"
    if any(k.startswith(("decoder", "encoder_to_decoder.", "mask_token")) for k in state):
        found += " with a pretraining decoder"
    elif any(k.startswith(("head.", "classifier.")) for k in state):
        found += " with a classification head"
    names = (config or {}).get("architectures") or [(config or {}).get("model_type")]
    if names and names[0]:
        found += f" (config.json: {', '.join(map(str, names))})"
    return found


def strip_prefix(state: dict, prefix: str) -> dict:
    """Drop `prefix` from the keys that have it (e.g. 'module.' left by DDP)."""
    return {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in state.items()}


def count_blocks(state: dict, prefix: str) -> int:
    """How many transformer blocks the state holds under `prefix` ('blocks.' ->
    the distinct i of 'blocks.{i}.*')."""
    return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})


def check_model(state: dict, found: str, source, formats: str, *, model: str, embed: str, blocks: tuple[str, ...],
                other: str, video: bool = False, decoder: str | None = None, no_decoder: str = "") -> None:
    """Raise the CheckpointError for another model's weights unless `state`, in
    our names, holds what `model` ('an image ViT', 'a VideoMAE', ...) is made of:

    - a patch embedding at `embed`: 2-D (D, C, p, p), or with `video` a Conv3d
      tubelet embedding (D, C, pt, ph, pw); else the message sends the other
      kind of model to `other` (the loader(s) that read it);
    - with `decoder`, that key (a pretraining model's decoder); else the message
      ends with `no_decoder` (where such a file goes instead);
    - a first transformer block under each prefix in `blocks`.

    `found` is `describe()` of the file as it was read (before renaming)."""
    if video:
        ndim, wanted, other_kind = 5, "a video model (a Conv3d tubelet embedding (D, C, pt, ph, pw))", "image model"
    else:
        ndim, wanted, other_kind = 4, "a 2-D patch embedding (D, C, p, p)", "video model"
    weight = state.get(embed)
    if weight is None or weight.ndim != ndim:
        article = "an" if video else "a"
        hint = f"; load {article} {other_kind} with {other}" if weight is not None or other_kind in found else ""
        raise checkpoint_error(source, f"not {model} checkpoint: expected {wanted}, found {found}{hint}", formats)
    if decoder and decoder not in state:
        raise checkpoint_error(
            source, f"expected {model} with its decoder ({decoder}), found {found} and no decoder; {no_decoder}", formats
        )
    for prefix in blocks:
        if f"{prefix}0.mlp.fc1.weight" not in state:
            raise checkpoint_error(source, f"not {model} checkpoint: no transformer blocks ({prefix}0.*) in {found}", formats)


def set_num_classes(state: dict, fields: dict, num_classes: int | None) -> tuple[dict, dict]:
    """A `num_classes` other than the file's: its head is dropped (the model
    keeps its fresh one, `load_state(..., fresh=('head.',))`)."""
    if num_classes is None or num_classes == fields.get("num_classes"):
        return state, fields
    return {k: v for k, v in state.items() if not k.startswith("head.")}, {**fields, "num_classes": num_classes}


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


def hf_blocks_to_ours(state: dict, src: str, dst: str, source="checkpoint") -> dict:
    """Rename the layers under `src` (e.g. 'vit.encoder.layer.') to ours under `dst`
    (e.g. 'blocks.'), fusing query/key/value into `qkv`. Keys outside `src` pass
    through unchanged. Handles full q/k/v biases and VideoMAE's q_bias / v_bias
    (spelled `q_bias` in files, `query.bias` without a key bias in memory).
    `source` (the file) is named in the CheckpointError for a layer that does not fit."""
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
                raise CheckpointError(f"{source}: layer {src}{i} has no {a}{name}.weight; found {sorted(parts)}")
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
                raise CheckpointError(f"{source}: unknown key {src}{i}.{rest} in a transformers checkpoint")
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


# -- the ViT converter ------------------------------------------------------------
_HF_VIT_NAMES = {  # transformers ViT / ViTMAE encoder -> ours, outside the layers (table above)
    "vit.embeddings.cls_token": "cls_token",
    "vit.embeddings.position_embeddings": "pos_embed",
    "vit.embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "vit.embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "vit.layernorm.weight": "norm.weight",
    "vit.layernorm.bias": "norm.bias",
    "classifier.weight": "head.weight",
    "classifier.bias": "head.bias",
}


def hf_vit_to_ours(state: dict, source="checkpoint") -> dict:
    """transformers' ViT names (ViTForImageClassification, a bare ViTModel, the
    `vit.*` encoder of ViTMAE) -> ours; its pooler and any decoder are dropped.
    The MAE converter reuses it for its encoder."""
    state = {k: v for k, v in state.items() if not k.startswith(("decoder.", "pooler.", "vit.pooler."))}
    state = {(k if k.startswith(("vit.", "classifier.")) else "vit." + k): v for k, v in state.items()}
    state = hf_blocks_to_ours(state, "vit.encoder.layer.", "blocks.", source)
    return {_HF_VIT_NAMES.get(k, k): v for k, v in state.items()}


def _stored_heads(config: dict) -> int | None:
    """The head count a config stores: transformers' `num_attention_heads`, or ours."""
    return config.get("num_attention_heads") or (config.get("heads") if "dim" in config else None)


def _vit_fields(state: dict, config: dict, source, heads: int | None) -> dict:
    """ViTConfig fields from the shapes of `state` (our names), refined by the config."""
    dim, in_chans, patch, _ = state["patch_embed.proj.weight"].shape
    n_patches = (state["pos_embed"].shape[1] - 1) if "pos_embed" in state else None
    fields = dict(
        image_size=int(round(n_patches**0.5)) * patch if n_patches else 224,
        patch_size=patch,
        in_chans=in_chans,
        num_classes=state["head.weight"].shape[0] if "head.weight" in state else 0,
        dim=dim,
        depth=count_blocks(state, "blocks."),
        heads=heads or _stored_heads(config) or released_heads(dim, "encoder", source),
        mlp_ratio=state["blocks.0.mlp.fc1.weight"].shape[0] / dim,
        qkv_bias="blocks.0.attn.qkv.bias" in state,
        pool="mean" if "fc_norm.weight" in state and "norm.weight" not in state else "cls",
        pos_embed="learned" if "pos_embed" in state else "sincos",
    )
    fields.update({k: config[k] for k in ("image_size", "layer_norm_eps") if k in config})  # transformers' config.json
    if "dim" in config and "depth" in config:  # our own files store every field
        fields = {**fields, **config, "heads": fields["heads"]}
    return fields


def convert_vit(state: dict, config: dict | None = None, source="checkpoint", *, heads: int | None = None,
                num_classes: int | None = None, image_size: int | None = None, **overrides) -> tuple[dict, dict]:
    """(state dict in our names, ViTConfig fields) from any layout in the table
    above; pure: it reads no file and builds no model.

    The fields come from the shapes (width, depth, patch, MLP ratio, classes,
    image size from the position table), refined by `config` (transformers'
    config.json: image_size, layer_norm_eps; our files: every field). The head
    count: `heads` if given, else the config's, else the released model of that
    width (`released_heads`), else a CheckpointError. `num_classes` other than
    the file's drops its head; `image_size` other than the file's resizes the
    learned position table (bicubic, cls row kept). `overrides` set other fields
    (drop_path=0.1, ...); pool='mean' on a file without fc_norm (an MAE encoder,
    MAE's fine-tuning recipe) also drops the final norm, which a fresh fc_norm
    after the pooling replaces. A CheckpointError for anything that is not an
    image ViT, naming `source`."""
    config = config or {}
    found = describe(state, config)
    state = strip_prefix(strip_prefix(state, "module."), "model.")
    if any(k.startswith(("vit.", "embeddings.")) for k in state):  # transformers
        state = hf_vit_to_ours(state, source)
    elif any(k.startswith("encoder.") for k in state):  # our own MAE / pretraining files
        state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    # official MAE pretraining files carry the decoder at the top level
    state = {k: v for k, v in state.items() if not k.startswith(("decoder", "mask_token"))}
    check_model(state, found, source, VIT_FORMATS, model="an image ViT", embed="patch_embed.proj.weight",
                blocks=("blocks.",), other="videomae.VideoViT.from_pretrained")

    state, fields = set_num_classes(state, _vit_fields(state, config, source, heads), num_classes)
    if image_size is not None and image_size != fields["image_size"]:
        fields["image_size"] = image_size
        if "pos_embed" in state:
            side = image_size // fields["patch_size"]
            state["pos_embed"] = resize_pos_embed(state["pos_embed"], (side, side))
    fields.update(overrides)
    if fields["pool"] == "mean" and "fc_norm.weight" not in state:  # the fc_norm comes fresh: load_state(fresh=)
        state = {k: v for k, v in state.items() if not k.startswith("norm.")}
    return state, fields


# -- loading ---------------------------------------------------------------------
def load_state(model: nn.Module, state: dict, source: str = "checkpoint", fresh: tuple[str, ...] = ()) -> None:
    """Load `state` into `model` strictly; on any mismatch raise one error that
    lists each key with the shape expected and the shape found.

    `fresh`: prefixes of modules a file may lack (a new head, MAE's fc_norm): when
    `state` has no key under one, that module keeps the model's initialisation.
    Fixed tables (non-persistent buffers, e.g. the MAE's sin-cos position
    tables) are not expected in a file; where the state has one it is loaded as
    it is, so the model computes with exactly the file's numbers."""
    expected = model.state_dict()
    for prefix in fresh:
        if not any(k.startswith(prefix) for k in state):
            state = {**state, **{k: v for k, v in expected.items() if k.startswith(prefix)}}
    tables = {k: b for k, b in model.named_buffers() if k not in expected and k in state}
    problems = []
    for key, param in {**expected, **tables}.items():
        if key not in state:
            problems.append(f"  missing {key}: expected shape {tuple(param.shape)}")
        elif state[key].shape != param.shape:
            problems.append(f"  {key}: expected shape {tuple(param.shape)}, found {tuple(state[key].shape)}")
    problems += [f"  unexpected {k}: shape {tuple(v.shape)}" for k, v in state.items() if k not in expected and k not in tables]
    if problems:
        raise CheckpointError(f"{source} does not fit {type(model).__name__}:\n" + "\n".join(problems))
    model.load_state_dict({k: state[k] for k in expected}, strict=True)
    with torch.no_grad():
        for key, table in tables.items():
            table.copy_(state[key])
