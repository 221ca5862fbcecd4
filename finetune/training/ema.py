"""An exponential moving average (EMA) of the weights, kept beside the trained ones.

After every optimizer step, every weight of the average moves a little towards the
trained one:

    ema = decay * ema + (1 - decay) * weights

so the average remembers about the last 1 / (1 - decay) steps (Polyak & Juditsky
1992; timm's `ModelEma`, which MCG-NJU/VideoMAE `run_class_finetuning.py` offers
as `--model_ema`, off by default). The noise of single steps cancels in the
average, which often validates a little better than the last weights, late in a
cosine schedule less so. `train` evaluates both at every validation, and the
run's predictions (`predict`, `export`, RUN/val_probs.json) use the one that
scored better at the latest validation (`chosen_state`), so an EMA that does not
help costs nothing but its memory (one more copy of the weights, on the GPU).

Exact under `--resume` and DDP: the update is a fixed sequence of float ops on
the weights, which every process holds identically after each step, and the
average is saved in every checkpoint.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from finetune.errors import RunError

RAW, EMA = "raw", "ema"  # the values of the summary's and the checkpoint's "weights_used"


class WeightEMA:
    """`model`'s moving average: a copy of the network whose weights `update` moves towards `model`'s."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"expected an EMA decay in (0, 1), found {decay}")
        self.decay = decay
        self.source = model
        self.model = copy.deepcopy(model).eval().requires_grad_(False)  # starts at the starting weights
        pairs = list(zip(self.model.state_dict().values(), model.state_dict().values()))  # share the storage
        self._floats = [(e, w) for e, w in pairs if e.is_floating_point()]
        self._others = [(e, w) for e, w in pairs if not e.is_floating_point()]  # counters: copied, not averaged

    @torch.no_grad()
    def update(self) -> None:
        """One step: ema += (1 - decay) * (weights - ema), for every float tensor of the state dict."""
        if self._floats:
            ema, weights = zip(*self._floats)
            torch._foreach_lerp_(list(ema), list(weights), 1.0 - self.decay)  # one fused kernel per dtype/device
        for e, w in self._others:
            e.copy_(w)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)  # copies into the same tensors: the pairs stay valid


def chosen_state(ckpt: dict) -> tuple[dict, str]:
    """(state dict, "ema" | "raw"): the weights a run's predictions use, as its latest validation chose."""
    used = ckpt.get("weights_used", RAW)
    if used == RAW:
        return ckpt["model"], RAW
    if used != EMA or "ema" not in ckpt:
        raise RunError(f"the checkpoint says weights_used={used!r}: expected 'raw', or 'ema' with the averaged "
                       f"weights under 'ema' (found {'no ' if 'ema' not in ckpt else ''}'ema' entry)")
    return ckpt["ema"], EMA


def model_for_prediction(ckpt: dict) -> tuple[nn.Module, str]:
    """(network, "ema" | "raw"): the run's network with the weights `chosen_state` picks."""
    from finetune.training.models import model_from_checkpoint

    state, used = chosen_state(ckpt)
    return model_from_checkpoint({**ckpt, "model": state}), used
