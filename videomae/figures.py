"""Pictures for the lesson: masks drawn on a clip, reconstructions next to the truth.

Everything here works on one clip (C, T, H, W) in [0, 1] and reuses
`tubelets.patchify` / `unpatchify`, so what is drawn is exactly what the model saw.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from .tubelets import patchify, unpatchify  # noqa: E402


def grey_out(clip: torch.Tensor, mask: torch.Tensor, tubelet, grid) -> torch.Tensor:
    """(C, T, H, W), mask (N,) -> the clip with every masked tubelet painted grey."""
    tokens = patchify(clip[None], tubelet)[0].clone()  # (N, K*C)
    tokens[mask] = 0.5
    return unpatchify(tokens[None], tubelet, grid, clip.shape[0])[0]  # -> (C, T, H, W)


def paint_prediction(clip: torch.Tensor, mask: torch.Tensor, pred: torch.Tensor, tubelet, grid, normalised: bool = True) -> torch.Tensor:
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


def _frames_row(axes, clip: torch.Tensor, frames, label: str) -> None:
    for ax, t in zip(axes, frames):
        ax.imshow(clip[:, t].permute(1, 2, 0).clamp(0, 1).numpy())
        ax.set_xticks([]), ax.set_yticks([])
    axes[0].set_ylabel(label, fontsize=8)


def plot_rows(rows: list[tuple[str, torch.Tensor]], path, title: str, frames=None) -> None:
    """One row per (label, clip (C, T, H, W)); one column per shown frame."""
    frames = frames if frames is not None else list(range(rows[0][1].shape[1]))
    fig, axes = plt.subplots(len(rows), len(frames), figsize=(1.3 * len(frames), 1.4 * len(rows)), squeeze=False)
    for r, (label, clip) in enumerate(rows):
        _frames_row(axes[r], clip, frames, label)
    for ax, t in zip(axes[0], frames):
        ax.set_title(f"t={t}", fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def plot_loss(losses: list[float], path) -> None:
    fig, ax = plt.subplots(figsize=(4, 2.6))
    ax.plot(losses, lw=0.8)
    ax.set_xlabel("step"), ax.set_ylabel("MSE on masked tubelets")
    ax.set_title("tiny VideoMAE pretraining, 90% tube masking", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
