"""MAE checkpoint names: transformers' ViTMAE files and the official `.pth` -> ours.

Three layouts hold the same numbers (He et al. 2022 released the official ones):

  ours                          official facebookresearch/mae    transformers ViTMAEForPreTraining
  encoder.cls_token             cls_token                        vit.embeddings.cls_token
  encoder.pos_embed (fixed)     pos_embed                        vit.embeddings.position_embeddings
  encoder.patch_embed.proj.*    patch_embed.proj.*               vit.embeddings.patch_embeddings.projection.*
  encoder.blocks.{i}.*          blocks.{i}.*                     vit.encoder.layer.{i}.* (query/key/value split)
  encoder.norm.*                norm.*                           vit.layernorm.*
  decoder_embed.*               decoder_embed.*                  decoder.decoder_embed.*
  mask_token                    mask_token                       decoder.mask_token
  decoder_pos_embed (fixed)     decoder_pos_embed                decoder.decoder_pos_embed
  decoder_blocks.{i}.*          decoder_blocks.{i}.*             decoder.decoder_layers.{i}.*
  decoder_norm.*, decoder_pred.*  (same)                         decoder.decoder_norm.*, decoder.decoder_pred.*

transformers 5 writes the decoder layers as `decoder.decoder_encoder.layer.{i}`
and names them `decoder.decoder_layers.{i}.attention.q_proj` in memory; all three
spellings are read. The per-layer translation is vit.checkpoint's.

The official files store no head count: it comes from the file's config.json
where there is one, else from the released models' widths
(`vit.checkpoint.RELEASED_HEADS`: encoders ViT-B/L/H, decoder 512 x 16 heads),
else the caller must pass `heads=` / `decoder_heads=`.
"""
from vit.checkpoint import checkpoint_error, describe, hf_blocks_to_ours, released_heads, strip_prefix

# What MAE.from_pretrained reads, for its error messages.
MAE_FORMATS = (
    "an image MAE with its decoder: a transformers ViTMAEForPreTraining directory (config.json + "
    "model.safetensors or pytorch_model.bin), an official facebookresearch/mae .pth that keeps the decoder "
    "(e.g. mae_visualize_vit_base.pth), or one of our files (.safetensors / .pth)"
)

_HF_NAMES = {
    "vit.embeddings.cls_token": "encoder.cls_token",
    "vit.embeddings.position_embeddings": "encoder.pos_embed",
    "vit.embeddings.patch_embeddings.projection.weight": "encoder.patch_embed.proj.weight",
    "vit.embeddings.patch_embeddings.projection.bias": "encoder.patch_embed.proj.bias",
    "vit.layernorm.weight": "encoder.norm.weight",
    "vit.layernorm.bias": "encoder.norm.bias",
    "decoder.mask_token": "mask_token",
    "decoder.decoder_pos_embed": "decoder_pos_embed",
}
_HF_DECODER_MODULES = ("decoder_embed", "decoder_norm", "decoder_pred")


def _hf_to_ours(state: dict, source) -> dict:
    state = {k: v for k, v in state.items() if not k.startswith("vit.pooler.")}
    state = hf_blocks_to_ours(state, "vit.encoder.layer.", "encoder.blocks.", source)  # also maps vit.layers.{i} (in memory)
    dec = "decoder.decoder_layers."
    if any(k.startswith(dec) and ".q_proj." in k for k in state):  # transformers 5, in memory: let vit's aliases map it
        state = {("decoder.layers." + k[len(dec):] if k.startswith(dec) else k): v for k, v in state.items()}
        state = hf_blocks_to_ours(state, "decoder.encoder.layer.", "decoder_blocks.", source)
    else:  # hub files (decoder_layers) and transformers 5 files (decoder_encoder.layer)
        for src in (dec, "decoder.decoder_encoder.layer."):
            state = hf_blocks_to_ours(state, src, "decoder_blocks.", source)
    out = {}
    for key, value in state.items():
        if key in _HF_NAMES:
            key = _HF_NAMES[key]
        elif key.startswith("decoder.") and key.split(".")[1] in _HF_DECODER_MODULES:
            key = key[len("decoder."):]
        out[key] = value
    return out


def _official_to_ours(state: dict) -> dict:
    """Everything that is not decoder is the encoder's: prefix it with `encoder.`."""
    return {(k if k.startswith(("decoder", "mask_token")) else "encoder." + k): v for k, v in state.items()}


def to_ours(state: dict, config: dict | None, source: str = "checkpoint",
            heads: int | None = None, decoder_heads: int | None = None) -> tuple[dict, dict]:
    """(state in our names, MAEConfig fields) from any supported layout; the
    fields come from the shapes, refined by the file's config where it has one.
    Head counts: `heads` / `decoder_heads` if given, else the config's, else the
    released models' (`released_heads`), else a CheckpointError asking for them."""
    found = describe(state, config)
    state = strip_prefix(state, "module.")
    if any(k.startswith("vit.") for k in state):
        state = _hf_to_ours(state, source)
    elif "patch_embed.proj.weight" in state:
        state = _official_to_ours(state)
    embed = state.get("encoder.patch_embed.proj.weight")
    if embed is None or embed.ndim != 4:
        hint = "; load a video model with videomae.VideoMAE.from_pretrained" if "video model" in found else ""
        raise checkpoint_error(
            source, f"not an image MAE checkpoint: expected a 2-D patch embedding, found {found}{hint}", MAE_FORMATS
        )
    if "decoder_embed.weight" not in state:
        raise checkpoint_error(
            source, f"expected an MAE with its decoder (decoder_embed.weight), found {found} and no MAE decoder; "
            "load it for fine-tuning with vit.ViT.from_pretrained", MAE_FORMATS,
        )
    for blocks in ("encoder.blocks.", "decoder_blocks."):
        if blocks + "0.mlp.fc1.weight" not in state:
            raise checkpoint_error(source, f"not an MAE checkpoint: no {blocks}0.* block in {found}", MAE_FORMATS)

    dim, in_chans, patch, _ = state["encoder.patch_embed.proj.weight"].shape
    decoder_dim = state["decoder_embed.weight"].shape[0]
    fields = dict(
        patch_size=patch, in_chans=in_chans, dim=dim, decoder_dim=decoder_dim,
        depth=_count(state, "encoder.blocks."), decoder_depth=_count(state, "decoder_blocks."),
        mlp_ratio=state["encoder.blocks.0.mlp.fc1.weight"].shape[0] / dim,
        decoder_mlp_ratio=state["decoder_blocks.0.mlp.fc1.weight"].shape[0] / decoder_dim,
    )
    if "encoder.pos_embed" in state:
        fields["image_size"] = int(round((state["encoder.pos_embed"].shape[1] - 1) ** 0.5)) * patch
    if config and config.get("model_type") == "vit_mae":
        fields.update(
            image_size=config.get("image_size", fields.get("image_size", 224)),
            heads=config.get("num_attention_heads"),
            decoder_heads=config.get("decoder_num_attention_heads"),
            layer_norm_eps=config.get("layer_norm_eps", 1e-12),
            mask_ratio=config.get("mask_ratio", 0.75),
            norm_pix_loss=config.get("norm_pix_loss", False),
        )
    elif config and "decoder_dim" in config:  # our own files store the MAEConfig fields
        fields.update(config)
    fields["heads"] = heads or fields.get("heads") or released_heads(dim, "encoder", source)
    fields["decoder_heads"] = (decoder_heads or fields.get("decoder_heads")
                               or released_heads(decoder_dim, "MAE decoder", source, keyword="decoder_heads"))
    return state, fields


def _count(state: dict, prefix: str) -> int:
    return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})

