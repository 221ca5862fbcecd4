"""AdamW with layer-wise lr decay and no weight decay on norms, biases and tokens.

Layer-wise lr decay (BEiT, Bao et al. 2022, sec. 2.6; used by the MAE and
VideoMAE fine-tuning scripts): the pretrained bottom of the network already
holds good general features (edges, motion), the top must change most for the
new classes. So every parameter gets a layer id

    patch embedding (+ position / cls tokens)   id 0
    block i                                     id i + 1
    everything after the blocks (norm, head)    id depth + 1

and its lr is `lr x decay^(depth + 1 - id)`: with decay 0.75 and 12 blocks the
patch embedding learns at 0.75^13 = 2.4% of the head's rate.

Weight decay pulls weights towards 0; on a LayerNorm gain, a bias or a
position/cls token that only shifts or rescales, which hurts and regularises
nothing, so those (every 1-D parameter, plus the tokens) get weight decay 0.
"""
import re

import torch
from torch import nn

_EMBEDDING = ("patch_embed", "pos_embed", "cls_token", "mask_token")


def _base(name: str) -> str:
    """The parameter's name inside the ViT: the per-frame model keeps its ViT under `backbone.`.

    The optimizer is built on the plain model, before DDP or torch.compile wrap it, so
    no `module.` / `_orig_mod.` prefix ever reaches here."""
    return name.removeprefix("backbone.")


def layer_id(name: str, depth: int) -> int:
    """0 for the embedding, i + 1 for `blocks.i.*`, depth + 1 for the rest."""
    name = _base(name)
    if name.startswith(_EMBEDDING):
        return 0
    match = re.match(r"blocks\.(\d+)\.", name)
    if match:
        return int(match.group(1)) + 1
    return depth + 1


def wants_weight_decay(name: str, param: torch.Tensor) -> bool:
    """False for norms, biases and every 1-D parameter, and for position/cls tokens."""
    base = _base(name)
    return param.ndim > 1 and not base.startswith(("pos_embed", "cls_token", "mask_token"))


def model_depth(model: nn.Module) -> int:
    """Number of transformer blocks (VideoViT and FrameViT both expose `blocks`)."""
    if not isinstance(getattr(model, "blocks", None), nn.ModuleList):
        raise ValueError(f"{type(model).__name__}: expected a `blocks` ModuleList, found none")
    return len(model.blocks)


def param_groups(model: nn.Module, weight_decay: float, layer_decay: float, head_lr_mult: float = 1.0) -> list[dict]:
    """Optimizer groups, one per (layer id, decay or not), each with its `lr_scale`."""
    depth = model_depth(model)
    groups: dict[tuple[int, bool, bool], dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lid, decay = layer_id(name, depth), wants_weight_decay(name, param)
        is_head = _base(name).startswith("head.")
        key = (lid, decay, is_head)
        if key not in groups:
            scale = layer_decay ** (depth + 1 - lid) * (head_lr_mult if is_head else 1.0)
            groups[key] = {
                "params": [], "names": [], "layer_id": lid, "lr_scale": scale,
                "weight_decay": weight_decay if decay else 0.0,
            }
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    return [groups[k] for k in sorted(groups)]


def build_optimizer(model: nn.Module, cfg, lr: float) -> torch.optim.AdamW:
    """AdamW over `param_groups`; each group's lr is `lr x lr_scale` (the schedule rescales it every step)."""
    groups = param_groups(model, cfg.weight_decay, cfg.layer_decay, cfg.head_lr_mult)
    for group in groups:
        group["lr"] = lr * group["lr_scale"]
    return torch.optim.AdamW(groups, lr=lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
