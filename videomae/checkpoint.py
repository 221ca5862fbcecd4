"""VideoMAE checkpoints in every format people hold, and saving ours as transformers'.

Formats read (`vit.checkpoint.read_checkpoint` opens the file or directory):
- HF hub / `save_pretrained` directories: `videomae.embeddings...`,
  `videomae.encoder.layer.{i}...` (q/k/v split; `q_bias` in files, `query.bias`
  in a torch.save of a transformers 5 model), `videomae.layernorm`, `fc_norm`,
  `classifier`, `encoder_to_decoder`, `mask_token`, `decoder.decoder_layers.{i}`.
- official `.pth` (MCG-NJU/VideoMAE), under 'module' or 'model': fine-tuned
  `patch_embed / blocks / fc_norm / head`, pretraining `encoder.* / decoder.*`.
- ours: the official names (VideoViT) or the pretraining names (VideoMAE).

Everything is first brought to one layout, the official pretraining names plus
`fc_norm` / `head`; each model then takes the part it needs.

The official files store no head count: it comes from config.json where there
is one, else from the released models' widths (`vit.checkpoint.RELEASED_HEADS`:
encoders ViT-S/B/L/H/g, decoders S/B/L/H), else the caller passes `heads=` /
`decoder_heads=`.
"""
import json
from dataclasses import asdict, fields, replace
from pathlib import Path

from vit.checkpoint import (
    CheckpointError, checkpoint_error, describe, hf_blocks_to_ours, load_state, ours_blocks_to_hf, read_checkpoint,
    released_heads, strip_prefix,
)

from .config import VideoMAEConfig

OURS = "videomae_from_scratch"  # our full config, stored inside config.json next to HF's fields
# What VideoViT / VideoMAE.from_pretrained read, for their error messages.
VIDEO_FORMATS = (
    "a VideoMAE video model: a transformers VideoMAE directory (config.json + model.safetensors or "
    "pytorch_model.bin), an official MCG-NJU/VideoMAE .pth (fine-tuned or pretraining), or one of our files "
    "(.safetensors / .pth)"
)
_DECODER = ("decoder.", "encoder_to_decoder.", "mask_token")
_HF_NAMES = {  # HF file name prefix -> ours (pretraining layout)
    "videomae.embeddings.patch_embeddings.projection.": "encoder.patch_embed.proj.",
    "videomae.layernorm.": "encoder.norm.",
    "classifier.": "head.",
}


def _rename(state: dict, names: dict) -> dict:
    out = {}
    for key, value in state.items():
        for old, new in names.items():
            if key.startswith(old):
                key = new + key[len(old):]
                break
        out[key] = value
    return out


def to_common(state: dict, config: dict | None = None, source="checkpoint") -> dict:
    """Any supported naming -> the official pretraining layout (+ fc_norm, head)."""
    found = describe(state, config)
    state = strip_prefix(state, "module.")
    if any(k.startswith(("embeddings.", "encoder.layer.")) for k in state):  # a bare VideoMAEModel
        state = {("videomae." + k if not k.startswith(("classifier.", "fc_norm.")) else k): v for k, v in state.items()}
    if any(k.startswith("videomae.") for k in state):  # transformers
        state = hf_blocks_to_ours(state, "videomae.encoder.layer.", "encoder.blocks.", source)
        state = hf_blocks_to_ours(state, "decoder.decoder_layers.", "decoder.blocks.", source)
        state = _rename(state, _HF_NAMES)
    elif not any(k.startswith("encoder.") for k in state):  # official fine-tuned layout
        state = _rename(state, {p: "encoder." + p for p in ("patch_embed.", "blocks.", "norm.")})
    embed = state.get("encoder.patch_embed.proj.weight")
    if embed is None or embed.ndim != 5:
        hint = "; load an image model with vit.ViT.from_pretrained or imagemae.MAE.from_pretrained" if (
            embed is not None or "image model" in found) else ""
        raise checkpoint_error(
            source, f"not a VideoMAE checkpoint: expected a video model (a Conv3d tubelet embedding "
            f"(D, C, pt, ph, pw)), found {found}{hint}", VIDEO_FORMATS,
        )
    if "encoder.blocks.0.mlp.fc1.weight" not in state:
        raise checkpoint_error(source, f"not a VideoMAE checkpoint: no transformer blocks in {found}", VIDEO_FORMATS)
    return state


def _count(state: dict, prefix: str) -> int:
    return len({k[len(prefix):].split(".")[0] for k in state if k.startswith(prefix)})


def infer_config(state: dict, config: dict | None, source="checkpoint", heads: int | None = None,
                 decoder_heads: int | None = None, decoder: bool = True) -> VideoMAEConfig:
    """The config from the weights' shapes, completed by config.json where present
    (the frame count, image size and head counts are not in the weights).

    Head counts: `heads` / `decoder_heads` if given, else the config's, else the
    released models' of that width (`released_heads`), else a CheckpointError.
    `decoder=False` (a classifier) leaves the decoder fields alone."""
    if config and isinstance(config.get(OURS), dict):
        cfg = VideoMAEConfig(**config[OURS])
    elif config and "dim" in config and "depth" in config:  # {'model': ..., 'config': asdict(cfg)}
        cfg = VideoMAEConfig(**{k: v for k, v in config.items() if k in {f.name for f in fields(VideoMAEConfig)}})
    else:
        cfg = _config_from_shapes(state, config, source, heads, decoder_heads, decoder)
    given = {"heads": heads, "decoder_heads": decoder_heads}
    return replace(cfg, **{k: v for k, v in given.items() if v})  # the caller's word wins


def _config_from_shapes(state, config, source, heads, decoder_heads, decoder) -> VideoMAEConfig:
    dim, chans, pt, patch, _ = state["encoder.patch_embed.proj.weight"].shape
    config = config or {}
    cfg = VideoMAEConfig(
        patch_size=patch, tubelet_size=pt, in_chans=chans, dim=dim,
        heads=heads or config.get("num_attention_heads") or released_heads(dim, "encoder", source),
        depth=_count(state, "encoder.blocks."),
        mlp_ratio=state["encoder.blocks.0.mlp.fc1.weight"].shape[0] / dim,
    )
    if "head.weight" in state:
        cfg = replace(cfg, num_classes=state["head.weight"].shape[0])
    if decoder and "encoder_to_decoder.weight" in state:
        d = state["encoder_to_decoder.weight"].shape[0]
        d_heads = (decoder_heads or config.get("decoder_num_attention_heads")
                   or released_heads(d, "VideoMAE decoder", source, keyword="decoder_heads"))
        cfg = replace(cfg, decoder_dim=d, decoder_heads=d_heads, decoder_depth=_count(state, "decoder.blocks."))
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


def load_videovit(cls, path, num_classes=None, num_frames=None, heads=None, **overrides):
    state, config = read_checkpoint(path, VIDEO_FORMATS)
    state = to_common(state, config, source=path)
    cfg = infer_config(state, config, source=path, heads=heads, decoder=False)
    state = {k: v for k, v in state.items() if not k.startswith(_DECODER)}  # a classifier has no decoder
    if "fc_norm.weight" not in state and "head.weight" in state:
        raise CheckpointError(f"{path}: a classifier without fc_norm (it classifies from the first token, "
                              "use_mean_pooling=False); VideoViT mean-pools as the official models do")
    if "fc_norm.weight" not in state:  # a pretraining encoder: mean pooling + fresh fc_norm (official recipe)
        state = {k: v for k, v in state.items() if not k.startswith("encoder.norm.")}
    state = {k.removeprefix("encoder."): v for k, v in state.items()}
    if num_classes is not None and num_classes != cfg.num_classes:
        state = {k: v for k, v in state.items() if not k.startswith("head.")}
        cfg = replace(cfg, num_classes=num_classes)
    cfg = replace(cfg, **({"num_frames": num_frames} if num_frames else {}), **overrides)
    model = cls(cfg)
    fresh = model.state_dict()  # fc_norm (1, 0) and head (x 0.001) as initialised
    for key in ("fc_norm.weight", "fc_norm.bias", "head.weight", "head.bias"):
        if key in fresh and key not in state:
            state[key] = fresh[key]
    load_state(model, state, source=str(path))
    return model


def load_videomae(cls, path, heads=None, decoder_heads=None, **overrides):
    state, config = read_checkpoint(path, VIDEO_FORMATS)
    state = to_common(state, config, source=path)
    if "encoder_to_decoder.weight" not in state:
        raise checkpoint_error(
            path, f"expected a VideoMAE pretraining model with its decoder (encoder_to_decoder.weight), found "
            f"{describe(state, config)} and no decoder: a classifier? Use VideoViT.from_pretrained", VIDEO_FORMATS,
        )
    cfg = replace(infer_config(state, config, source=path, heads=heads, decoder_heads=decoder_heads), **overrides)
    state = {k: v for k, v in state.items() if not k.startswith(("fc_norm.", "head."))}
    model = cls(cfg)
    load_state(model, state, source=str(path))
    return model


def hf_config(model) -> dict:
    """transformers' `VideoMAEConfig` fields for our config (plus ours, kept whole)."""
    cfg = model.cfg
    classifier = not hasattr(model, "decoder")
    out = {
        "model_type": "videomae",
        "architectures": ["VideoMAEForVideoClassification" if classifier else "VideoMAEForPreTraining"],
        "image_size": cfg.image_size, "patch_size": cfg.patch_size, "num_channels": cfg.in_chans,
        "num_frames": cfg.num_frames, "tubelet_size": cfg.tubelet_size,
        "hidden_size": cfg.dim, "num_hidden_layers": cfg.depth, "num_attention_heads": cfg.heads,
        "intermediate_size": int(cfg.dim * cfg.mlp_ratio), "hidden_act": "gelu",
        "layer_norm_eps": cfg.layer_norm_eps, "qkv_bias": True,
        "use_mean_pooling": classifier,  # HF: True = mean + fc_norm; False = encoder norm (pretraining)
        "decoder_hidden_size": cfg.decoder_dim, "decoder_num_hidden_layers": cfg.decoder_depth,
        "decoder_num_attention_heads": cfg.decoder_heads, "decoder_intermediate_size": int(cfg.decoder_dim * cfg.mlp_ratio),
        "norm_pix_loss": cfg.norm_target,
        OURS: asdict(cfg),
    }
    if classifier:
        out["id2label"] = {str(i): f"LABEL_{i}" for i in range(cfg.num_classes)}
        out["label2id"] = {f"LABEL_{i}": i for i in range(cfg.num_classes)}
    return out


def save_hf(model, out_dir) -> None:
    """config.json + model.safetensors with transformers' file names."""
    from safetensors.torch import save_file

    state = model.state_dict()
    if not hasattr(model, "decoder"):  # VideoViT: official fine-tuned names -> common layout
        state = {("encoder." + k if k.startswith(("patch_embed.", "blocks.")) else k): v for k, v in state.items()}
    state = ours_blocks_to_hf(state, "encoder.blocks.", "videomae.encoder.layer.")
    state = ours_blocks_to_hf(state, "decoder.blocks.", "decoder.decoder_layers.")
    state = _rename(state, {new: old for old, new in _HF_NAMES.items()})
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(hf_config(model), indent=2))
