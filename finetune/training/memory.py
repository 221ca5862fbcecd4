"""What a training step keeps in GPU memory, counted on a CPU: the bytes autograd saves for backward.

Training memory = weights + gradients + AdamW's two moments (4 + 4 + 8 bytes per
fp32 parameter: 1.4 GB for ViT-B) + the activations saved for backward, which
grow with the batch. Those can be counted without a GPU: every tensor autograd
saves passes through `torch.autograd.graph.saved_tensors_hooks`, with the same
shapes and dtypes (under autocast) as on a GPU. Counting at batch 1 and batch 2
separates the per-clip part from the per-step part (autocast's 16-bit copies of
the weights). With gradient checkpointing a block keeps only its input and
recomputes the rest during backward.

The count is of the tensors themselves; a GPU allocator adds fragmentation and
the kernels' temporary workspaces on top, so treat a peak estimate built from
it as a lower bound (the docs' table adds a margin and says so).
"""
from __future__ import annotations

import torch


def saved_bytes(model: torch.nn.Module, video: torch.Tensor, dtype: torch.dtype | None = None) -> int:
    """Bytes of the distinct tensors autograd saves in one forward of `model(video)`, parameters excluded."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        storage = t.untyped_storage()
        if storage.data_ptr() not in params and storage.device.type != "meta":
            seen[storage.data_ptr()] = storage.nbytes()  # a storage saved twice counts once
        return t

    model.train()
    with (torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t),
          torch.autocast(video.device.type, dtype=dtype, enabled=dtype is not None)):
        out = model(video)
    del out
    return sum(seen.values())


def per_clip_bytes(model: torch.nn.Module, clip_shape: tuple[int, ...],
                   dtype: torch.dtype | None = None, device=None) -> tuple[int, int]:
    """(bytes saved per clip, bytes saved once per step) from forwards at batch 1 and batch 2 (clips made on
    `device`, default the CPU: the model must be there too)."""
    one = saved_bytes(model, torch.randn(1, *clip_shape, device=device), dtype)
    two = saved_bytes(model, torch.randn(2, *clip_shape, device=device), dtype)
    return two - one, 2 * one - two
