"""MAE checkpoints: transformers' ViTMAE files and the official `.pth` -> ours.

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

The encoder's transformers names are the ViT's (`vit.checkpoint.hf_vit_to_ours`).
transformers 5 writes the decoder layers as `decoder.decoder_encoder.layer.{i}`
and names them `decoder.decoder_layers.{i}.attention.q_proj` in memory; all three
spellings are read.

The two fixed sin-cos tables (`encoder.pos_embed`, `decoder_pos_embed`) are
buffers in our model, not parameters; a file that stores them keeps them in the
converted state, and `vit.checkpoint.load_state` copies them in as they are, so
the model computes exactly what the file's model computed.

The official files store no head count: it comes from the file's config.json
where there is one, else from the released models' widths
(`vit.checkpoint.RELEASED_HEADS`: encoders ViT-B/L/H, decoder 512 x 16 heads),
else the caller must pass `heads=` / `decoder_heads=`.
"""
from vit.checkpoint import (
    check_model, count_blocks, describe, hf_blocks_to_ours, hf_vit_to_ours, released_heads, strip_prefix,
)

# What MAE.from_pretrained reads, for its error messages.
MAE_FORMATS = (
    "an image MAE with its decoder: a transformers ViTMAEForPreTraining directory (config.json + "
    "model.safetensors or pytorch_model.bin), an official facebookresearch/mae .pth that keeps the decoder "
    "(e.g. mae_visualize_vit_base.pth), or one of our files (.safetensors / .pth)"
)


def _from_transformers(state: dict, source) -> dict:
    """transformers' ViTMAEForPreTraining names -> ours (the table's last column)."""
    encoder = {"encoder." + k: v for k, v in hf_vit_to_ours(state, source).items()}  # also vit.layers.{i} (in memory)
    decoder = {k: v for k, v in state.items() if k.startswith("decoder.")}
    layers = "decoder.decoder_layers."
    if any(k.startswith(layers) and ".q_proj." in k for k in decoder):  # transformers 5, in memory: vit's aliases map it
        decoder = {("decoder.layers." + k[len(layers):] if k.startswith(layers) else k): v for k, v in decoder.items()}
        decoder = hf_blocks_to_ours(decoder, "decoder.encoder.layer.", "decoder_blocks.", source)
    else:  # hub files (decoder_layers) and transformers 5 files (decoder_encoder.layer)
        for src in (layers, "decoder.decoder_encoder.layer."):
            decoder = hf_blocks_to_ours(decoder, src, "decoder_blocks.", source)
    # decoder.decoder_embed.* -> decoder_embed.*, decoder.mask_token -> mask_token, ...
    return {**encoder, **strip_prefix(decoder, "decoder.")}


def _from_official(state: dict) -> dict:
    """Everything that is not decoder is the encoder's: prefix it with `encoder.`."""
    return {(k if k.startswith(("decoder", "mask_token")) else "encoder." + k): v for k, v in state.items()}


def _mae_fields(state: dict, config: dict, source, heads: int | None, decoder_heads: int | None) -> dict:
    """MAEConfig fields from the shapes of `state` (our names), refined by the config."""
    dim, in_chans, patch, _ = state["encoder.patch_embed.proj.weight"].shape
    decoder_dim = state["decoder_embed.weight"].shape[0]
    fields = dict(
        patch_size=patch, in_chans=in_chans, dim=dim, decoder_dim=decoder_dim,
        depth=count_blocks(state, "encoder.blocks."), decoder_depth=count_blocks(state, "decoder_blocks."),
        mlp_ratio=state["encoder.blocks.0.mlp.fc1.weight"].shape[0] / dim,
        decoder_mlp_ratio=state["decoder_blocks.0.mlp.fc1.weight"].shape[0] / decoder_dim,
    )
    if "encoder.pos_embed" in state:
        fields["image_size"] = int(round((state["encoder.pos_embed"].shape[1] - 1) ** 0.5)) * patch
    if config.get("model_type") == "vit_mae":
        fields.update(
            image_size=config.get("image_size", fields.get("image_size", 224)),
            heads=config.get("num_attention_heads"),
            decoder_heads=config.get("decoder_num_attention_heads"),
            layer_norm_eps=config.get("layer_norm_eps", 1e-12),
            mask_ratio=config.get("mask_ratio", 0.75),
            norm_pix_loss=config.get("norm_pix_loss", False),
        )
    elif "decoder_dim" in config:  # our own files store the MAEConfig fields
        fields.update(config)
    fields["heads"] = heads or fields.get("heads") or released_heads(dim, "encoder", source)
    fields["decoder_heads"] = (decoder_heads or fields.get("decoder_heads")
                               or released_heads(decoder_dim, "MAE decoder", source, keyword="decoder_heads"))
    return fields


def convert_mae(state: dict, config: dict | None = None, source="checkpoint", *, heads: int | None = None,
                decoder_heads: int | None = None, **overrides) -> tuple[dict, dict]:
    """(state dict in our names, MAEConfig fields) from any layout in the table
    above; pure: it reads no file and builds no model.

    The fields come from the shapes, refined by the file's config where it has
    one (transformers' config.json: image size, head counts, eps, mask_ratio,
    norm_pix_loss; our files: every field). Head counts: `heads` /
    `decoder_heads` if given, else the config's, else the released models'
    (`released_heads`), else a CheckpointError asking for them. `overrides` set
    other fields (mask_ratio=0.9, ...). The file's fixed position tables stay in
    the state (see above). A CheckpointError, naming `source`, for anything
    that is not an image MAE with its decoder (an encoder-only file belongs to
    `vit.ViT.from_pretrained`)."""
    config = config or {}
    found = describe(state, config)
    state = strip_prefix(state, "module.")
    if any(k.startswith("vit.") for k in state):
        state = _from_transformers(state, source)
    elif "patch_embed.proj.weight" in state:
        state = _from_official(state)
    check_model(state, found, source, MAE_FORMATS, model="an image MAE", embed="encoder.patch_embed.proj.weight",
                blocks=("encoder.blocks.", "decoder_blocks."), other="videomae.VideoMAE.from_pretrained",
                decoder="decoder_embed.weight", no_decoder="load it for fine-tuning with vit.ViT.from_pretrained")
    return state, {**_mae_fields(state, config, source, heads, decoder_heads), **overrides}
