"""The one pattern every converter follows: recognise the layout from the keys, rename, check, read the fields.

A converter turns a checkpoint's state dict and config into ours:
`convert_x(state, config, source, **options) -> (state in our names, config fields)`.
It is a pure function (it reads no file and builds no model), in three steps,
as timm's `vision_transformer.py` `checkpoint_filter_fn` does:

1. `to_our_names(state, config, source, LAYOUTS, KIND)`: drop the wrappers
   DDP, trainers and torch.compile add ('module.', 'model.', '_orig_mod.'), find the first `Layout`
   whose key prefixes the state has, hand the state to that layout's small
   renaming function, then check that the result is the kind of model asked
   for (`ModelKind.check`: an image ViT, an MAE with its decoder, a VideoMAE).
2. The config fields from the shapes of the renamed state, completed by the
   file's config: transformers' config.json, or ours whole (`our_fields`).
   Head counts come from `weights.heads.resolve_heads`.
3. The caller's options (another class count: `set_num_classes`; other fields).

A new layout is one `Layout(name, prefixes, function)` line, one small
renaming function built from `rename` (and `hf_blocks_to_ours` for
transformers' layers), and one test.
"""
from collections.abc import Callable
from dataclasses import dataclass, fields

from .errors import CheckpointError, checkpoint_error

# Our own files carry our config dataclass whole, under this key of their config
# (config.json written by `save_pretrained`), or as the 'config' entry of a torch.save dict.
OURS = "videomae_from_scratch"


@dataclass(frozen=True)
class Layout:
    """One way checkpoints name their tensors, recognised by the prefixes of its keys."""

    name: str  # shown in errors: "transformers ViT / ViTMAE", "timm / official MAE", ...
    prefixes: tuple[str, ...]  # a state with a key starting with one of these is in this layout
    to_ours: Callable[[dict], dict]  # pure: the layout's names -> ours

    def matches(self, state: dict) -> bool:
        return any(k.startswith(self.prefixes) for k in state)


@dataclass(frozen=True)
class ModelKind:
    """What one of our models is made of, in our names: what its checkpoints must hold."""

    name: str  # 'an image ViT', 'an image MAE', 'a VideoMAE'
    formats: str  # what its from_pretrained reads: the last sentence of every error
    embed: str  # the key of its patch embedding
    blocks: tuple[str, ...]  # the prefixes of its transformer blocks ('blocks.', 'decoder_blocks.')
    video: bool = False  # a Conv3d tubelet embedding (D, C, pt, ph, pw), not a 2-D one (D, C, p, p)
    other: str = ""  # the loader(s) of the other kind (image <-> video), named in the error
    decoder: str | None = None  # a key only a pretraining model with its decoder has
    no_decoder: str = ""  # where a file without the decoder goes instead

    @property
    def wanted(self) -> str:
        return "a video model (a Conv3d tubelet embedding (D, C, pt, ph, pw))" if self.video else \
            "a 2-D patch embedding (D, C, p, p)"

    def not_this(self, found: str, source, embed_found: bool = False) -> CheckpointError:
        """'not <kind> checkpoint: expected <wanted>, found <found>; load an image model with <other>'."""
        other_kind = "image model" if self.video else "video model"
        article = "an" if self.video else "a"
        hint = f"; load {article} {other_kind} with {self.other}" if embed_found or other_kind in found else ""
        return checkpoint_error(source, f"not {self.name} checkpoint: expected {self.wanted}, found {found}{hint}",
                                self.formats)

    def check(self, state: dict, found: str, source) -> None:
        """Raise the CheckpointError for another model's weights unless `state` (our
        names) holds this kind's patch embedding, its decoder (if it needs one) and
        its first transformer block. `found` is `describe()` of the file as read."""
        weight = state.get(self.embed)
        if weight is None or weight.ndim != (5 if self.video else 4):
            raise self.not_this(found, source, embed_found=weight is not None)
        if self.decoder and self.decoder not in state:
            raise checkpoint_error(source, f"expected {self.name} with its decoder ({self.decoder}), found {found} "
                                   f"and no decoder; {self.no_decoder}", self.formats)
        for prefix in self.blocks:
            if f"{prefix}0.mlp.fc1.weight" not in state:
                raise checkpoint_error(source, f"not {self.name} checkpoint: no transformer blocks ({prefix}0.*) in "
                                       f"{found}", self.formats)


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


def rename(state: dict, names: dict[str, str | None]) -> dict:
    """The one renaming helper: each key takes the FIRST prefix of `names` it starts
    with, replaced by that prefix's value; None drops the key; keys that match no
    prefix pass unchanged. A full key is a prefix of itself, so {'classifier.': 'head.',
    'vit.embeddings.cls_token': 'cls_token', 'decoder': None} renames, maps and drops."""
    out = {}
    for key, value in state.items():
        old = next((p for p in names if key.startswith(p)), None)
        if old is None:
            out[key] = value
        elif names[old] is not None:
            out[names[old] + key[len(old):]] = value
    return out


def strip_prefix(state: dict, prefix: str) -> dict:
    """Drop `prefix` from the keys that have it (e.g. 'module.' left by DDP)."""
    return rename(state, {prefix: ""})


def count_blocks(state: dict, prefix: str) -> int:
    """How many transformer blocks the state holds under `prefix` ('blocks.' ->
    the distinct i of 'blocks.{i}.*')."""
    return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})


def _prefixes(state: dict) -> list[str]:
    """The distinct first name of the keys ('backbone' of 'backbone.blocks.0...'), most keys first."""
    counts: dict[str, int] = {}
    for key in state:
        counts[key.split(".")[0]] = counts.get(key.split(".")[0], 0) + 1
    return sorted(counts, key=lambda p: -counts[p])


def to_our_names(state: dict, config: dict | None, source, layouts: tuple[Layout, ...], kind: ModelKind) -> dict:
    """Step 1 of every converter: the state in our names, checked to be `kind`'s.

    A state in none of `layouts` is a CheckpointError that names its key prefixes
    and the layouts read (and, for another model, what it is and where it goes)."""
    found = describe(state, config)
    for wrapper in ("module.", "model.", "_orig_mod."):  # DDP, trainers, hub wrappers, torch.compile
        state = strip_prefix(state, wrapper)
    layout = next((lay for lay in layouts if lay.matches(state)), None)
    if layout is None:
        other_kind = "image model" if kind.video else "video model"
        if other_kind in found:  # another model's weights: say what they are and where they go
            raise kind.not_this(found, source)
        keys = ", ".join(f"`{p}.`" for p in _prefixes(state)[:4])
        read = "; ".join(f"{lay.name} ({', '.join(p + '*' for p in lay.prefixes)})" for lay in layouts)
        raise checkpoint_error(source, f"its keys are in a layout not read here: they start with {keys} (found "
                               f"{found}); {kind.name} is read from these layouts: {read}", kind.formats)
    try:
        state = layout.to_ours(state)
    except CheckpointError as err:  # a renaming function's error does not know the file
        raise CheckpointError(f"{source}: {err}") from None
    kind.check(state, found, source)
    return state


def our_fields(config: dict | None, config_class) -> dict | None:
    """The one test for "is this one of our own files?": the fields of `config_class`
    that our files store whole (under `OURS` in config.json, or a bare asdict(config)
    as the 'config' of a torch.save dict, recognised by our field names 'dim' and
    'depth', which transformers' configs call hidden_size and num_hidden_layers);
    None for anyone else's file."""
    config = config or {}
    stored = config.get(OURS) if isinstance(config.get(OURS), dict) else config
    if "dim" not in stored or "depth" not in stored:
        return None
    names = {f.name for f in fields(config_class)}
    return {k: v for k, v in stored.items() if k in names}


def set_num_classes(state: dict, fields: dict, num_classes: int | None) -> tuple[dict, dict]:
    """A `num_classes` other than the file's: its head is dropped (the model
    keeps its fresh one, `load_state(..., fresh=('head.',))`)."""
    if num_classes is None or num_classes == fields.get("num_classes"):
        return state, fields
    return rename(state, {"head.": None}), {**fields, "num_classes": num_classes}

