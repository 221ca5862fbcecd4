"""Pictures for the lesson: masks drawn on a clip, reconstructions next to the truth.

Everything here works on one clip (C, T, H, W) in [0, 1] and reuses
`tubelets.patchify` / `unpatchify`, so what is drawn is exactly what the model saw.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from vit.figures import save_figure

from .tubelets import patchify, unpatchify


def grey_out(clip: torch.Tensor, mask: torch.Tensor, tubelet, grid) -> torch.Tensor:
    """(C, T, H, W), mask (N,) -> the clip with every masked tubelet painted grey."""
    tokens = patchify(clip[None], tubelet)[0].clone()  # (N, K*C)
    tokens[mask] = 0.5
    return unpatchify(tokens[None], tubelet, grid, clip.shape[0])[0]  # -> (C, T, H, W)


def paint_prediction(clip: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tubelet, grid,
                     normalised: bool = True) -> torch.Tensor:
    """Visible tubelets from the clip, masked ones from `pred` (N_mask, K*C).

    With `normalised` (a model trained with norm_target=True) the prediction is
    per-patch, per-channel normalised pixels; to show it we borrow each patch's
    true mean and std per channel (as MCG-NJU/VideoMAE `run_videomae_vis.py`
    does), so the picture shows the predicted texture and edges, not the colour.
    Otherwise `pred` is already pixels in [0, 1]."""
    c = clip.shape[0]
    tokens = patchify(clip[None], tubelet)[0].clone()  # (N, K*C)
    pred = pred.detach().float()
    if normalised:
        per_channel = tokens[mask].unflatten(-1, (-1, c))  # (N_mask, K, C)
        mu, sd = per_channel.mean(1, keepdim=True), per_channel.std(1, keepdim=True)  # (N_mask, 1, C)
        pred = (pred.unflatten(-1, (-1, c)) * (sd + 1e-6) + mu).flatten(-2)  # -> (N_mask, K*C) in [0, 1] units
    tokens[mask] = pred.clamp(0, 1)
    return unpatchify(tokens[None], tubelet, grid, c)[0]


def _strip(clip: torch.Tensor, frames, gap: int) -> torch.Tensor:
    """(C, T, H, W) -> (H, len(frames) * (W + gap) - gap, C): the chosen frames side by side, white between."""
    c, _, h, w = clip.shape
    strip = torch.ones(h, len(frames) * (w + gap) - gap, c)
    for i, t in enumerate(frames):
        strip[:, i * (w + gap): i * (w + gap) + w] = clip[:, t].permute(1, 2, 0).clamp(0, 1)  # (C, H, W) -> (H, W, C)
    return strip


def plot_rows(rows: list[tuple[str, torch.Tensor]], path, title: str, frames=None, xlabel: str = "frame") -> None:
    """One row per (label, clip (C, T, H, W)), the shown `frames` side by side (one image per
    row: a few axes draw much faster than one per frame), x ticks naming each frame t."""
    frames = frames if frames is not None else list(range(rows[0][1].shape[1]))
    w, gap = rows[0][1].shape[-1], max(2, rows[0][1].shape[-1] // 24)
    fig, axes = plt.subplots(len(rows), 1, figsize=(1.3 * len(frames) + 0.6, 1.45 * len(rows) + 0.7), squeeze=False)
    for r, (ax, (label, clip)) in enumerate(zip(axes[:, 0], rows)):
        ax.imshow(_strip(clip, frames, gap).numpy())
        ax.set_xticks([i * (w + gap) + w / 2 for i in range(len(frames))], [f"t={t}" for t in frames], fontsize=7)
        ax.tick_params(labelbottom=r in (0, len(rows) - 1), labeltop=False)  # frame names on the first and last rows
        ax.set_yticks([])
        ax.set_ylabel(label, fontsize=8)
    axes[-1, 0].set_xlabel(xlabel, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path, palette=True)
