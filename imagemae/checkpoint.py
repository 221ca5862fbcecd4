"""MAE checkpoints in the layouts people hold -> ours: pure functions, no files.

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
converted state, and `weights.load_state` copies them in as they are, so the
model computes exactly what the file's model computed.

The official files store no head count: it comes from the file's config.json
where there is one, else from the released models' widths
(`weights.RELEASED_HEADS`: encoders ViT-B/L/H, decoder 512 x 16 heads), else
the caller must pass `heads=` / `decoder_heads=`.
"""
from vit.checkpoint import hf_vit_to_ours
from weights.heads import resolve_heads
from weights.hf_layers import hf_blocks_to_ours
from weights.layouts import Layout, ModelKind, count_blocks, our_fields, rename, strip_prefix, to_our_names

from .config import MAEConfig

IMAGE_MAE = ModelKind(
    name="an image MAE",
    formats="an image MAE with its decoder: a transformers ViTMAEForPreTraining directory (config.json + "
            "model.safetensors or pytorch_model.bin), an official facebookresearch/mae .pth that keeps the decoder "
            "(e.g. mae_visualize_vit_base.pth), or one of our files (.safetensors / .pth)",
    embed="encoder.patch_embed.proj.weight",
    blocks=("encoder.blocks.", "decoder_blocks."),
    other="videomae.VideoMAE.from_pretrained",
    decoder="decoder_embed.weight",
    no_decoder="load it for fine-tuning with vit.ViT.from_pretrained",
)


def from_transformers(state: dict) -> dict:
    """transformers' ViTMAEForPreTraining names -> ours (the table's last column)."""
    encoder = rename(hf_vit_to_ours(state), {"": "encoder."})  # also vit.layers.{i} (transformers 5, in memory)
    decoder = rename(state, {"decoder.": "decoder.", "": None})
    if any(".q_proj." in k for k in decoder):  # transformers 5, in memory: the ViT aliases read `layers.{i}`
        decoder = rename(decoder, {"decoder.decoder_layers.": "decoder.layers."})
        decoder = hf_blocks_to_ours(decoder, "decoder.encoder.layer.", "decoder_blocks.")
    else:  # hub files (decoder_layers) and transformers 5 files (decoder_encoder.layer)
        for src in ("decoder.decoder_layers.", "decoder.decoder_encoder.layer."):
            decoder = hf_blocks_to_ours(decoder, src, "decoder_blocks.")
    # decoder.decoder_embed.* -> decoder_embed.*, decoder.mask_token -> mask_token, ...
    return {**encoder, **strip_prefix(decoder, "decoder.")}


def from_official(state: dict) -> dict:
    """facebookresearch/mae: everything that is not the decoder is the encoder's, without `encoder.`."""
    return rename(state, {"decoder": "decoder", "mask_token": "mask_token", "": "encoder."})


LAYOUTS = (
    Layout("transformers ViTMAE", ("vit.",), from_transformers),
    Layout("ours", ("encoder.",), lambda state: state),
    Layout("official facebookresearch/mae", ("patch_embed.", "cls_token", "blocks."), from_official),
)


def _mae_fields(state: dict, config: dict, source, heads: int | None, decoder_heads: int | None) -> dict:
    """MAEConfig fields from the shapes of `state` (our names), completed by the config."""
    dim, in_chans, patch, _ = state["encoder.patch_embed.proj.weight"].shape
    decoder_dim = state["decoder_embed.weight"].shape[0]
    fields = dict(
        patch_size=patch, in_chans=in_chans, dim=dim, decoder_dim=decoder_dim,
        depth=count_blocks(state, "encoder.blocks."), decoder_depth=count_blocks(state, "decoder_blocks."),
        mlp_ratio=state["encoder.blocks.0.mlp.fc1.weight"].shape[0] / dim,
        decoder_mlp_ratio=state["decoder_blocks.0.mlp.fc1.weight"].shape[0] / decoder_dim,
    )
    if "encoder.pos_embed" in state:
        fields["image_size"] = round((state["encoder.pos_embed"].shape[1] - 1) ** 0.5) * patch
    ours = our_fields(config, MAEConfig)
    if config.get("model_type") == "vit_mae":  # transformers' config.json
        fields.update(
            image_size=config.get("image_size", fields.get("image_size", 224)),
            heads=config.get("num_attention_heads"),
            decoder_heads=config.get("decoder_num_attention_heads"),
            layer_norm_eps=config.get("layer_norm_eps", 1e-12),
            mask_ratio=config.get("mask_ratio", 0.75),
            norm_pix_loss=config.get("norm_pix_loss", False),
        )
    elif ours:  # our own files store every field
        fields.update(ours)
    fields["heads"] = resolve_heads(dim, "encoder", source, given=heads, stored=fields.get("heads"))
    fields["decoder_heads"] = resolve_heads(decoder_dim, "MAE decoder", source, given=decoder_heads,
                                            stored=fields.get("decoder_heads"), keyword="decoder_heads")
    return fields


def convert_mae(state: dict, config: dict | None = None, source="checkpoint", *, heads: int | None = None,
                decoder_heads: int | None = None, **overrides) -> tuple[dict, dict]:
    """(state dict in our names, MAEConfig fields) from any layout in the table
    above; pure: it reads no file and builds no model.

    The fields come from the shapes, refined by the file's config where it has
    one (transformers' config.json: image size, head counts, eps, mask_ratio,
    norm_pix_loss; our files: every field). Head counts: `heads` /
    `decoder_heads` if given, else the config's, else the released models'
    (`weights.resolve_heads`). `overrides` set other fields (mask_ratio=0.9,
    ...). The file's fixed position tables stay in the state (see above). A
    CheckpointError, naming `source`, for anything that is not an image MAE
    with its decoder (an encoder-only file belongs to `vit.ViT.from_pretrained`)."""
    config = config or {}
    state = to_our_names(state, config, source, LAYOUTS, IMAGE_MAE)
    return state, {**_mae_fields(state, config, source, heads, decoder_heads), **overrides}
