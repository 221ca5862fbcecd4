"""Loading a converted state dict into a model: strictly, with every mismatch named."""
import torch
from torch import nn

from .errors import CheckpointError


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
    problems += [f"  unexpected {k}: shape {tuple(v.shape)}" for k, v in state.items()
                 if k not in expected and k not in tables]
    if problems:
        raise CheckpointError(f"{source} does not fit {type(model).__name__}:\n" + "\n".join(problems))
    model.load_state_dict({k: state[k] for k in expected}, strict=True)
    with torch.no_grad():
        for key, table in tables.items():
            table.copy_(state[key])
