"""Image ViT checkpoints in the layouts people hold -> ours: pure functions, no files.

The same numbers under three spellings (read by `ViT.from_pretrained`):

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
under `encoder.`. Each layout is one small renaming function below; the
pattern they plug into (recognise, rename, check, read the fields) is
`weights/layouts.py`'s.
"""
from weights.heads import resolve_heads
from weights.hf_layers import hf_blocks_to_ours
from weights.layouts import Layout, ModelKind, count_blocks, our_fields, rename, set_num_classes, to_our_names

from .config import ViTConfig
from .pos_embed import resize_pos_embed

IMAGE_VIT = ModelKind(
    name="an image ViT",
    formats="an image ViT: a transformers ViT / ViTMAE directory (config.json + model.safetensors or "
            "pytorch_model.bin), or a timm / official MAE / our state dict in one .safetensors, .pth, .pt or .bin file",
    embed="patch_embed.proj.weight",
    blocks=("blocks.",),
    other="videomae.VideoViT.from_pretrained",
)

_HF_VIT_NAMES = {  # transformers' ViT / ViTMAE encoder -> ours, outside the layers (the table above)
    "vit.embeddings.cls_token": "cls_token",
    "vit.embeddings.position_embeddings": "pos_embed",
    "vit.embeddings.patch_embeddings.projection.": "patch_embed.proj.",
    "vit.layernorm.": "norm.",
    "classifier.": "head.",
}


def hf_vit_to_ours(state: dict) -> dict:
    """transformers' names (ViTForImageClassification, a bare ViTModel, the `vit.*`
    encoder of ViTMAE) -> ours; its pooler and any decoder are dropped. The MAE
    converter reuses it for its encoder."""
    state = rename(state, {"decoder.": None, "pooler.": None, "vit.pooler.": None,  # not part of a ViT
                           "vit.": "vit.", "classifier.": "classifier.", "": "vit."})  # a bare ViTModel gets `vit.`
    return rename(hf_blocks_to_ours(state, "vit.encoder.layer.", "blocks."), _HF_VIT_NAMES)


def from_our_mae(state: dict) -> dict:
    """Our MAE's files: the encoder is everything under `encoder.`; the decoder is dropped."""
    return rename(state, {"encoder.": "", "": None})


def from_timm(state: dict) -> dict:
    """timm and official MAE files use our names; an MAE pretraining file's decoder is dropped."""
    return rename(state, {"decoder": None, "mask_token": None})


LAYOUTS = (  # first match wins: a bare ViTModel's `encoder.layer.*` is transformers', not our MAE's
    Layout("transformers ViT / ViTMAE", ("vit.", "embeddings."), hf_vit_to_ours),
    Layout("our MAE", ("encoder.",), from_our_mae),
    Layout("timm / official MAE / ours", ("patch_embed.", "cls_token", "blocks."), from_timm),
)


def _vit_fields(state: dict, config: dict, source, heads: int | None) -> dict:
    """ViTConfig fields from the shapes of `state` (our names), completed by the config."""
    ours = our_fields(config, ViTConfig)
    dim, in_chans, patch, _ = state["patch_embed.proj.weight"].shape
    n_patches = (state["pos_embed"].shape[1] - 1) if "pos_embed" in state else None
    fields = dict(
        image_size=round(n_patches**0.5) * patch if n_patches else 224,
        patch_size=patch,
        in_chans=in_chans,
        num_classes=state["head.weight"].shape[0] if "head.weight" in state else 0,
        dim=dim,
        depth=count_blocks(state, "blocks."),
        heads=resolve_heads(dim, "encoder", source, given=heads,
                            stored=config.get("num_attention_heads") or (ours or {}).get("heads")),
        mlp_ratio=state["blocks.0.mlp.fc1.weight"].shape[0] / dim,
        qkv_bias="blocks.0.attn.qkv.bias" in state,
        pool="mean" if "fc_norm.weight" in state and "norm.weight" not in state else "cls",
        pos_embed="learned" if "pos_embed" in state else "sincos",
    )
    fields.update({k: config[k] for k in ("image_size", "layer_norm_eps") if k in config})  # transformers' config.json
    if ours:  # our own files store every field
        fields = {**fields, **ours, "heads": fields["heads"]}
    return fields


def convert_vit(state: dict, config: dict | None = None, source="checkpoint", *, heads: int | None = None,
                num_classes: int | None = None, image_size: int | None = None, **overrides) -> tuple[dict, dict]:
    """(state dict in our names, ViTConfig fields) from any layout in the table
    above; pure: it reads no file and builds no model.

    The fields come from the shapes (width, depth, patch, MLP ratio, classes,
    image size from the position table), refined by `config` (transformers'
    config.json: image_size, layer_norm_eps; our files: every field). The head
    count: `heads` if given, else the config's, else the released model of that
    width (`weights.resolve_heads`). `num_classes` other than the file's drops
    its head; `image_size` other than the file's resizes the learned position
    table (bicubic, cls row kept). `overrides` set other fields (drop_path=0.1,
    ...); pool='mean' on a file without fc_norm (an MAE encoder, MAE's
    fine-tuning recipe) also drops the final norm, which a fresh fc_norm after
    the pooling replaces. A CheckpointError for anything that is not an image
    ViT, naming `source`."""
    config = config or {}
    state = to_our_names(state, config, source, LAYOUTS, IMAGE_VIT)
    state, fields = set_num_classes(state, _vit_fields(state, config, source, heads), num_classes)
    if image_size is not None and image_size != fields["image_size"]:
        fields["image_size"] = image_size
        if "pos_embed" in state:
            side = image_size // fields["patch_size"]
            state["pos_embed"] = resize_pos_embed(state["pos_embed"], (side, side))
    fields.update(overrides)
    if fields["pool"] == "mean" and "fc_norm.weight" not in state:  # the fc_norm comes fresh: load_state(fresh=)
        state = rename(state, {"norm.": None})
    return state, fields
