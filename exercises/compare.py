"""The grader's tools: compare a student's output with the real code's, and name the usual mistake.

`differs(mine, ref, what, against, mistakes)` is the heart of every check: it
returns None when `mine` equals `ref`, else a sentence with the max difference,
and, when one of the `mistakes` (outputs of the real code with one slip made on
purpose) equals `mine` exactly, the hint attached to it.
"""
from contextlib import contextmanager

import torch
from torch.nn import functional as F

ATOL = 1e-5  # float32 on tiny inputs: a correct answer is within ~1e-6 of the real code


class Mistake(Exception):
    """A check that failed in a way that makes the later checks meaningless."""



def rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def gen(seed):
    return torch.Generator().manual_seed(seed)


def max_diff(mine, ref, what: str) -> float:
    """Max abs difference; a wrong type or shape is a Mistake (a number would say nothing)."""
    if not isinstance(mine, torch.Tensor):
        raise Mistake(f"{what}: expected a tensor of shape {tuple(ref.shape)}, found {type(mine).__name__}")
    if mine.shape != ref.shape:
        raise Mistake(f"{what}: expected shape {tuple(ref.shape)}, found {tuple(mine.shape)}")
    return (mine.detach().float() - ref.detach().float()).abs().max().item()


def same(a, b) -> bool:
    return (isinstance(a, torch.Tensor) and a.shape == b.shape
            and torch.allclose(a.detach().float(), b.float(), atol=ATOL))


def differs(mine, ref, what: str, against: str, mistakes: dict) -> str | None:
    """None when `mine` equals `ref`; else a message, naming the usual mistake that reproduces `mine`."""
    d = max_diff(mine, ref, what)
    if d <= ATOL:
        return None
    hint = next((h for h, wrong in mistakes.items() if same(mine, wrong)), None)
    return f"{what}: differs from {against} by {d:.3g} (max abs)" + (f"; {hint}" if hint else "")


def copy_weights(real: torch.nn.Module, mine: torch.nn.Module, what: str) -> None:
    mine_keys, real_keys = set(mine.state_dict()), set(real.state_dict())
    if mine_keys != real_keys:
        raise Mistake(f"{what} has parameters {sorted(mine_keys)}, expected {sorted(real_keys)} "
                      "(keep the layers the stub gives, with their names)")
    mine.load_state_dict(real.state_dict())


def jitter(module: torch.nn.Module) -> torch.nn.Module:
    """Move every weight off its init (LayerNorm 1/0, zero biases) so a forgotten norm or bias shows."""
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.add_(0.3 * rand(*p.shape, seed=100 + i))
    return module


def gradients_reach(module: torch.nn.Module, out: torch.Tensor, x: torch.Tensor, what: str):
    out.sum().backward()
    if x.grad is None or not x.grad.abs().sum() > 0:
        yield f"{what}: no gradient reaches the input (a detach, no_grad or .data on the way?)"
    for name, p in module.named_parameters():
        if p.grad is None:
            yield f"{what}: no gradient reaches parameter {name} (is it used in forward?)"


@contextmanager
def no_fused_attention():
    """Make F.scaled_dot_product_attention refuse: the attention exercise is to write it out."""
    fused = F.scaled_dot_product_attention

    def refuse(*args, **kwargs):
        raise Mistake("you called F.scaled_dot_product_attention; write softmax(QK^T/sqrt(d))V by hand")

    F.scaled_dot_product_attention = refuse
    try:
        yield
    finally:
        F.scaled_dot_product_attention = fused
