"""VideoMAE checkpoints in every layout people hold -> ours, and ours -> transformers'.

Layouts read (`weights.read_checkpoint` opens the file or directory):

  common (official pretraining, our VideoMAE)   transformers VideoMAEForPreTraining / ...ForVideoClassification
  encoder.patch_embed.proj.*                    videomae.embeddings.patch_embeddings.projection.*
  encoder.blocks.{i}.*                          videomae.encoder.layer.{i}.* (query/key/value split)
  encoder.norm.*                                videomae.layernorm.* (use_mean_pooling=False)
  fc_norm.*, head.*                             fc_norm.*, classifier.*
  encoder_to_decoder.weight, mask_token         (same)
  decoder.blocks.{i}.*                          decoder.decoder_layers.{i}.*
  decoder.norm.*, decoder.head.*                (same)

The official fine-tuned files, and our VideoViT, drop the `encoder.` prefix
(`patch_embed.proj.*`, `blocks.{i}.*`, `fc_norm.*`, `head.*`) and hold no decoder.
VideoMAE V2 (OpenGVLab/VideoMAEv2 `models/modeling_finetune.py`) keeps V1's
names for every size, ViT-S to ViT-g (patch 14, MLP 6144): its `.pth` files and
its hub folders (`model.` + these names, the architecture in config.json's
`model_config`) are the official fine-tuned layout. MMAction2 ports
(`mmaction/models/backbones/vit_mae.py`, `heads/timesformer_head.py`) rename a few:

  official fine-tuned           MMAction2 (under 'state_dict')
  patch_embed.proj.*            backbone.patch_embed.projection.*
  blocks.{i}.mlp.fc1.*          backbone.blocks.{i}.mlp.layers.0.0.*
  blocks.{i}.mlp.fc2.*          backbone.blocks.{i}.mlp.layers.1.*
  blocks.{i}.(the rest)         backbone.blocks.{i}.(the same)
  fc_norm.*, head.*             backbone.fc_norm.*, cls_head.fc_cls.*
  (not stored)                  backbone.pos_embed (the same fixed sinusoid table, rebuilt here)

transformers' attention bias is `q_bias` / `v_bias` in files and `query.bias` /
`value.bias` (no key bias) in a torch.save of a transformers 5 model; a bare
`VideoMAEModel` has no `videomae.` prefix. Official `.pth` files (MCG-NJU/VideoMAE)
hold the state dict under 'module' or 'model'.

Every layout is first brought to the common one (one small function per
layout in `LAYOUTS`, in the pattern of `weights/layouts.py`); the classifier
then keeps the encoder (official fine-tuned names, `_classifier_names`), the
pretraining model everything but the classifier. `convert_videomae` does both.
`save_hf` writes the other way: a directory transformers loads (`hf_config`).

The official files store no head count: it comes from config.json where there
is one, else from the released models' widths (`weights.RELEASED_HEADS`:
encoders ViT-S/B/L/H/g, decoders S/B/L/H), else the caller passes `heads=` /
`decoder_heads=`.
"""
import json
from dataclasses import asdict, replace
from pathlib import Path

from weights.heads import resolve_heads
from weights.hf_layers import hf_blocks_to_ours, ours_blocks_to_hf
from weights.layouts import OURS, Layout, ModelKind, count_blocks, our_fields, rename, set_num_classes, to_our_names

from .config import VideoMAEConfig

VIDEOMAE = ModelKind(
    name="a VideoMAE",
    formats="a VideoMAE video model: a transformers VideoMAE directory (config.json + model.safetensors or "
            "pytorch_model.bin), an official MCG-NJU/VideoMAE or OpenGVLab/VideoMAEv2 .pth (fine-tuned or "
            "pretraining) or V2 hub folder, an MMAction2 VideoMAE checkpoint, or one of our files "
            "(.safetensors / .pth)",
    embed="encoder.patch_embed.proj.weight",
    blocks=("encoder.blocks.",),
    video=True,
    other="vit.ViT.from_pretrained or imagemae.MAE.from_pretrained",
    decoder="encoder_to_decoder.weight",  # VideoMAE.from_pretrained; VideoViT's kind needs no decoder (below)
    no_decoder="a classifier? Load it with videomae.VideoViT.from_pretrained",
)
VIDEO_CLASSIFIER = replace(VIDEOMAE, decoder=None)  # VideoViT reads the same files; a decoder is dropped

_DECODER = ("decoder.", "encoder_to_decoder.", "mask_token")
_HF_NAMES = {  # transformers' file name prefix -> ours (common layout), outside the layers
    "videomae.embeddings.patch_embeddings.projection.": "encoder.patch_embed.proj.",
    "videomae.layernorm.": "encoder.norm.",
    "classifier.": "head.",
}


def from_transformers(state: dict) -> dict:
    """transformers' VideoMAE names (and a bare VideoMAEModel's, without `videomae.`) -> the common layout."""
    state = rename(state, {p: "videomae." + p for p in ("embeddings.", "encoder.layer.", "layernorm.")})
    state = hf_blocks_to_ours(state, "videomae.encoder.layer.", "encoder.blocks.")
    state = hf_blocks_to_ours(state, "decoder.decoder_layers.", "decoder.blocks.")
    return rename(state, _HF_NAMES)


def from_official_finetuned(state: dict) -> dict:
    """The official fine-tuned names (V1 and V2, = our VideoViT's) -> the common layout: the encoder gets `encoder.`."""
    return rename(state, {p: "encoder." + p for p in ("patch_embed.", "blocks.", "norm.")})


def from_mmaction2(state: dict) -> dict:
    """MMAction2's VideoMAE port (the table above) -> the common layout."""
    state = rename(state, {"backbone.pos_embed": None,  # the fixed table, computed by the same formula
                           "backbone.patch_embed.projection.": "encoder.patch_embed.proj.",
                           "backbone.blocks.": "encoder.blocks.", "backbone.norm.": "encoder.norm.",
                           "backbone.fc_norm.": "fc_norm.", "cls_head.fc_cls.": "head."})
    # mmcv's FFN: layers = Sequential(Sequential(fc1, GELU, Dropout), fc2, Dropout)
    return {k.replace(".mlp.layers.0.0.", ".mlp.fc1.").replace(".mlp.layers.1.", ".mlp.fc2."): v
            for k, v in state.items()}


LAYOUTS = (  # first match wins: transformers' `encoder.layer.*` before the common `encoder.*`
    Layout("transformers VideoMAE", ("videomae.", "embeddings.", "encoder.layer."), from_transformers),
    Layout("official pretraining / ours", ("encoder.",), lambda state: state),
    Layout("official fine-tuned, V1 and V2", ("patch_embed.", "blocks."), from_official_finetuned),
    Layout("MMAction2", ("backbone.", "cls_head."), from_mmaction2),
)


def _classifier_names(state: dict) -> tuple[dict, str]:
    """Common layout -> (VideoViT's names (official fine-tuned), its pooling), the decoder dropped.

    fc_norm: a mean-pooling classifier. A head without fc_norm: a classifier of the
    first token after the encoder's norm (official `--use_cls`, transformers'
    use_mean_pooling=False), kept as it is. Neither: a pretraining encoder, whose
    final norm goes (mean pooling + a fresh fc_norm: the official fine-tuning recipe)."""
    state = rename(state, dict.fromkeys(_DECODER))
    pool = "first" if "fc_norm.weight" not in state and "head.weight" in state else "mean"
    if pool == "mean":
        state = rename(state, {"encoder.norm.": None})
    return rename(state, {"encoder.": ""}), pool


def _v2_hub_config(config: dict) -> dict:
    """OpenGVLab's VideoMAE V2 hub folders keep the official model's arguments under
    config.json's `model_config` (img_size, num_heads, ...): the same facts in
    transformers' names, which the rest of this module reads."""
    args = config.get("model_config")
    if not isinstance(args, dict):
        return config
    names = {"num_heads": "num_attention_heads", "img_size": "image_size", "num_frames": "num_frames"}
    return {**{ours: args[theirs] for theirs, ours in names.items() if args.get(theirs)},
            "architectures": config.get("architectures")}


def _config(state: dict, config: dict, source, heads: int | None, decoder_heads: int | None,
            decoder: bool) -> VideoMAEConfig:
    """The config from the weights' shapes, completed by config.json where present
    (the frame count, image size and head counts are not in the weights); our
    own files store it whole. The caller's `heads` / `decoder_heads` win.
    `decoder=False` (a classifier) leaves the decoder fields alone."""
    ours = our_fields(config, VideoMAEConfig)
    cfg = VideoMAEConfig(**ours) if ours else _config_from_shapes(state, config, source, heads, decoder_heads, decoder)
    given = {"heads": heads, "decoder_heads": decoder_heads}
    return replace(cfg, **{k: v for k, v in given.items() if v})


def _config_from_shapes(state, config, source, heads, decoder_heads, decoder) -> VideoMAEConfig:
    dim, chans, pt, patch, _ = state["encoder.patch_embed.proj.weight"].shape
    cfg = VideoMAEConfig(
        patch_size=patch, tubelet_size=pt, in_chans=chans, dim=dim,
        heads=resolve_heads(dim, "encoder", source, given=heads, stored=config.get("num_attention_heads")),
        depth=count_blocks(state, "encoder.blocks."),
        mlp_ratio=state["encoder.blocks.0.mlp.fc1.weight"].shape[0] / dim,
    )
    if "head.weight" in state:
        cfg = replace(cfg, num_classes=state["head.weight"].shape[0])
    if decoder and "encoder_to_decoder.weight" in state:
        d = state["encoder_to_decoder.weight"].shape[0]
        d_heads = resolve_heads(d, "VideoMAE decoder", source, given=decoder_heads,
                                stored=config.get("decoder_num_attention_heads"), keyword="decoder_heads")
        cfg = replace(cfg, decoder_dim=d, decoder_heads=d_heads, decoder_depth=count_blocks(state, "decoder.blocks."))
    if config:  # transformers' config.json; its layer_norm_eps (1e-12) is a conversion artefact:
        # the weights were trained with 1e-6, which we keep (logits differ by ~1e-5)
        cfg = replace(
            cfg,
            image_size=config.get("image_size", cfg.image_size),
            num_frames=config.get("num_frames", cfg.num_frames),
            decoder_dim=config.get("decoder_hidden_size", cfg.decoder_dim),
            decoder_depth=config.get("decoder_num_hidden_layers", cfg.decoder_depth),
            decoder_heads=config.get("decoder_num_attention_heads", cfg.decoder_heads),
            norm_target=config.get("norm_pix_loss", cfg.norm_target),
        )
    return cfg


def convert_videomae(state: dict, config: dict | None = None, source="checkpoint", *, classifier: bool = False,
                     heads: int | None = None, decoder_heads: int | None = None, num_classes: int | None = None,
                     num_frames: int | None = None, **overrides) -> tuple[dict, dict]:
    """(state dict in our names, VideoMAEConfig fields) from any layout in the
    table above; pure: it reads no file and builds no model.

    `classifier=True`: VideoViT's names (the decoder dropped; a pretraining
    encoder without fc_norm loses its final norm: the model's fresh fc_norm and
    head replace it; a classifier without fc_norm pools its first token); else
    VideoMAE's (a file without the decoder is refused).
    The fields come from the shapes, completed by config.json (frames, image
    size, head counts); our files store them whole. Head counts: `heads` /
    `decoder_heads` if given, else the config's, else the released models'
    (`weights.resolve_heads`). `num_classes` other than the file's drops its
    head; `num_frames` and `overrides` set those fields. A CheckpointError,
    naming `source`, for anything that is not a VideoMAE."""
    config = _v2_hub_config(config or {})
    state = to_our_names(state, config, source, LAYOUTS, VIDEO_CLASSIFIER if classifier else VIDEOMAE)
    cfg = _config(state, config, source, heads, decoder_heads, decoder=not classifier)
    if classifier:
        state, pool = _classifier_names(state)
        cfg = replace(cfg, pool=pool)
    else:
        state = rename(state, {"fc_norm.": None, "head.": None})
    state, fields = set_num_classes(state, asdict(cfg), num_classes)
    return state, {**fields, **({"num_frames": num_frames} if num_frames else {}), **overrides}


def hf_config(model, labels: list[str] | None = None) -> dict:
    """transformers' `VideoMAEConfig` fields for our config (plus ours, kept whole);
    `labels` are a classifier's class names in index order (`id2label`), LABEL_i if None."""
    cfg = model.cfg
    classifier = not hasattr(model, "decoder")
    out = {
        "model_type": "videomae",
        "architectures": ["VideoMAEForVideoClassification" if classifier else "VideoMAEForPreTraining"],
        "image_size": cfg.image_size, "patch_size": cfg.patch_size, "num_channels": cfg.in_chans,
        "num_frames": cfg.num_frames, "tubelet_size": cfg.tubelet_size,
        "hidden_size": cfg.dim, "num_hidden_layers": cfg.depth, "num_attention_heads": cfg.heads,
        "intermediate_size": round(cfg.dim * cfg.mlp_ratio), "hidden_act": "gelu",
        "layer_norm_eps": cfg.layer_norm_eps, "qkv_bias": True,
        "use_mean_pooling": classifier and cfg.pool == "mean",  # False: encoder norm, then the first token
        "decoder_hidden_size": cfg.decoder_dim, "decoder_num_hidden_layers": cfg.decoder_depth,
        "decoder_num_attention_heads": cfg.decoder_heads,
        "decoder_intermediate_size": round(cfg.decoder_dim * cfg.mlp_ratio),
        "norm_pix_loss": cfg.norm_target,
        OURS: asdict(cfg),
    }
    if classifier:
        labels = list(labels) if labels is not None else [f"LABEL_{i}" for i in range(cfg.num_classes)]
        if len(labels) != cfg.num_classes or len(set(labels)) != len(labels):
            raise ValueError(f"expected {cfg.num_classes} distinct class names for the head, found {len(labels)} "
                             f"({len(set(labels))} distinct)")
        out["id2label"] = {str(i): name for i, name in enumerate(labels)}
        out["label2id"] = {name: i for i, name in enumerate(labels)}
    return out


def save_hf(model, out_dir, labels: list[str] | None = None) -> None:
    """config.json + model.safetensors with transformers' file names (`labels`: see `hf_config`)."""
    from safetensors.torch import save_file

    state = model.state_dict()
    if not hasattr(model, "decoder"):  # VideoViT: official fine-tuned names -> common layout
        state = from_official_finetuned(state)
    state = ours_blocks_to_hf(state, "encoder.blocks.", "videomae.encoder.layer.")
    state = ours_blocks_to_hf(state, "decoder.blocks.", "decoder.decoder_layers.")
    state = rename(state, {new: old for old, new in _HF_NAMES.items()})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(out / "model.safetensors"),
              metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(model, labels), indent=2))
