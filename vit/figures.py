"""Figures of the ViT lesson: the patch grid, where the [class] token looks, what the
position table learned, and the training loss (docs/01_vit.md shows each one).

Attention maps are drawn as their own panels with a colour bar, next to the image,
never blended into it: a blend multiplies the image's brightness into the colour,
so a dark patch with high attention looks like a bright patch with low attention.
The position figure has the layout of Dosovitskiy et al. 2021, Fig. 7 (centre).
"""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from einops import rearrange
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter
from torch.nn import functional as F


def save_figure(fig, path, dpi: int = 80, palette: bool = False) -> None:
    """Save and close `fig`, the one way every lesson writes a figure. `palette`: a
    256-colour PNG (the MAE lessons' untrained-decoder noise makes full-colour files
    of several hundred KB; a palette keeps the docs' figures small)."""
    if not palette:
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        return
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    plt.close(fig)
    Image.open(buffer).convert("RGB").quantize(colors=256).save(path, optimize=True)


def patch_grid(photo: torch.Tensor, patch: int, path) -> None:
    """The photo (3, S, S) in [0, 1] with its patch grid, and the patches pulled apart."""
    size = photo.shape[-1]
    grid = size // patch
    tiles = rearrange(photo, "c (h ph) (w pw) -> h w ph pw c", ph=patch, pw=patch)  # (14, 14, 16, 16, 3)
    gapped = F.pad(tiles, (0, 0, 0, 3, 0, 3), value=1.0)  # a white gap right of and below every patch
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.2), layout="constrained")
    axes[0].imshow(photo.permute(1, 2, 0).numpy())
    for k in range(1, grid):
        axes[0].axhline(k * patch - 0.5, color="w", lw=0.6), axes[0].axvline(k * patch - 0.5, color="w", lw=0.6)
    axes[0].set_title(f"{size}x{size} image, {grid}x{grid} = {grid * grid} patches of {patch}x{patch}")
    axes[0].set_xlabel("x (pixels)"), axes[0].set_ylabel("y (pixels)")
    axes[1].imshow(rearrange(gapped, "h w ph pw c -> (h ph) (w pw) c").numpy())
    step = patch + 3
    ticks = [0, grid // 2, grid - 1]
    centres = [t * step + patch / 2 for t in ticks]
    axes[1].set_xticks(centres, ticks), axes[1].set_yticks(centres, ticks)
    axes[1].set_xlabel("patch column"), axes[1].set_ylabel("patch row")
    axes[1].set_title("the same patches as tokens, numbered row by row")
    save_figure(fig, path)


def cls_attention_rows(images, maps, odd_cells, titles, path, where: str) -> None:
    """Rows of: the image | the [class] token's attention per head | mean over heads.

    images (B, 3, S, S) in [0, 1]; maps (B, heads, gh, gw); odd_cells (B,) flat index of
    the odd square, outlined in every attention panel; titles: one per row; where: which
    blocks the maps come from, for the title. One colour scale per row (0 to the row's
    largest weight), so the heads of a row compare directly."""
    b, heads, _, gw = maps.shape
    fig, axes = plt.subplots(b, heads + 2, figsize=(1.9 * (heads + 2) + 0.6, 2.0 * b + 0.6), squeeze=False,
                             layout="constrained")
    for row in range(b):
        ax = axes[row, 0]
        ax.imshow(images[row].permute(1, 2, 0).numpy())
        s = images.shape[-1]
        ax.axhline(s / 2 - 0.5, color="w", ls="--", lw=0.8), ax.axvline(s / 2 - 0.5, color="w", ls="--", lw=0.8)
        ax.set_title(titles[row], fontsize=8), ax.set_xticks([]), ax.set_yticks([])
        panels = list(maps[row]) + [maps[row].mean(0)]
        top = float(torch.stack(panels).max())
        r, c = divmod(int(odd_cells[row]), gw)
        for col, panel in enumerate(panels, start=1):
            ax = axes[row, col]
            im = ax.imshow(panel.numpy(), cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec="red", lw=1.5))
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(f"head {col}" if col <= heads else "mean of the heads", fontsize=9)
        fig.colorbar(im, ax=list(axes[row, 1:]), fraction=0.02, pad=0.01, label="weight")
    axes[-1, 1].set_xlabel("patch column"), axes[-1, 1].set_ylabel("patch row")
    fig.suptitle(f"[class] token's attention to each patch, {where}\n"
                 "red box: the odd square; dashed lines: the quarters", fontsize=10)
    save_figure(fig, path)


def cls_attention_photo(image, maps, path, block: str, title: str) -> None:
    """One photo (3, S, S) in [0, 1] beside its [class] token attention per head and the
    mean, maps (heads, gh, gw); each panel has its own colour bar (heads differ a lot)."""
    heads = maps.shape[0]
    panels = [("image", None), *((f"head {h + 1}", maps[h]) for h in range(heads)), ("mean of the heads", maps.mean(0))]
    cols = (len(panels) + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(2.9 * cols, 5.6), squeeze=False, layout="constrained")
    for ax, (name, panel) in zip(axes.flat, panels):
        if panel is None:
            ax.imshow(image.permute(1, 2, 0).numpy())
        else:
            fig.colorbar(ax.imshow(panel.numpy(), cmap="viridis", vmin=0, interpolation="nearest"),
                         ax=ax, fraction=0.046, pad=0.03)
        ax.set_title(name, fontsize=9), ax.set_xticks([]), ax.set_yticks([])
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{title}: [class] token's attention to the patches ({block}, own scale per panel)",
                 fontsize=10)
    save_figure(fig, path)


def position_similarity(tables: dict[str, torch.Tensor], grid: int, path) -> None:
    """Tile (i, j) of each panel: the cosine similarity of patch (i, j)'s position
    embedding with every patch's (ViT paper Fig. 7, centre). tables: title -> (1, [1+]N, D).
    Each panel has its own colour scale, from its lowest similarity to 1: a 2-D sin-cos
    table's similarities all lie near 1 (its slow channels barely change over 6 patches),
    and on a shared -1..1 scale its structure would vanish."""
    gap = 1
    fig, axes = plt.subplots(1, len(tables), figsize=(4.4 * len(tables) + 0.8, 4.8), squeeze=False,
                             layout="constrained")
    for ax, (title, table) in zip(axes[0], tables.items()):
        t = F.normalize(table[0, -grid * grid:].float(), dim=-1)  # (N, D), patch rows only (no cls)
        sim = rearrange(t @ t.T, "(i j) (h w) -> i j h w", i=grid, h=grid)  # (i, j): patch (i, j) vs every (h, w)
        low = float(sim.min())
        sim = F.pad(sim, (0, gap, 0, gap), value=float("nan"))  # a blank gap between the tiles
        im = ax.imshow(rearrange(sim, "i j h w -> (i h) (j w)").numpy(), cmap="viridis", vmin=low, vmax=1)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label="cosine similarity")
        centres = [k * (grid + gap) + (grid - 1) / 2 for k in range(grid)]
        ax.set_xticks(centres, range(grid), fontsize=7), ax.set_yticks(centres, range(grid), fontsize=7)
        ax.tick_params(length=0)
        ax.set_xlabel("column j of patch (i, j)"), ax.set_ylabel("row i of patch (i, j)")
        ax.set_title(title, fontsize=10)
    fig.suptitle(f"position embeddings: tile (i, j) = similarity of patch (i, j) to each of the {grid}x{grid} patches "
                 "(own colour scale per panel)", fontsize=10)
    save_figure(fig, path)


def loss_curve(losses: list[float], path, title: str, ylabel: str, marks: dict[str, float] | None = None,
               smooth: int = 20, palette: bool = False) -> None:
    """Training loss per step on a log axis (the early fall and the late, small gains
    both show), the one loss figure of every lesson. With `smooth` or more steps, a
    running mean of the last `smooth` steps is drawn over the noisy per-step loss;
    marks: label -> a loss level drawn as a dotted line (e.g. chance)."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    steps = range(1, len(losses) + 1)
    smoothed = smooth and len(losses) >= smooth
    ax.plot(steps, losses, lw=0.8 if smoothed else 1, alpha=0.5 if smoothed else 1, label="loss of each step's batch")
    if smoothed:
        mean = [sum(losses[i - smooth:i]) / smooth for i in range(smooth, len(losses) + 1)]
        ax.plot(range(smooth, len(losses) + 1), mean, lw=1.6, label=f"mean of the last {smooth} steps")
    for k, (label, level) in enumerate((marks or {}).items()):
        ax.axhline(level, color=f"C{k + 2}", ls=":", lw=1.2, label=f"{label} ({level:.2f})")
    ax.legend(fontsize=8)
    log_loss_axis(ax, losses + list((marks or {}).values()))  # log scale, starting at a labelled value
    ax.set_xlabel("training step"), ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10), ax.grid(alpha=0.3, which="both")
    save_figure(fig, path, palette=palette)


def log_loss_axis(ax, losses: list[float]) -> None:
    """A log y axis for a loss curve (the early fall and the late, small gains both show) that
    starts at a labelled value and labels its ticks as plain numbers (0.02, not 2x10^-2).
    Shared by the three lessons' loss figures."""
    ax.set_yscale("log")
    ax.set_ylim(bottom=round_down_125(min(losses)))
    ax.yaxis.set_major_formatter(FuncFormatter(plain_log_label))
    ax.yaxis.set_minor_formatter(FuncFormatter(plain_log_label))


def round_down_125(value: float) -> float:
    """The largest of 1, 2, 5 x 10^k at or below `value` > 0: where a log axis can start, labelled."""
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (5, 2, 1) if m * power <= value)


def plain_log_label(value: float, _pos=None) -> str:
    """Log-axis tick labels as plain numbers, only at 1, 2, 3, 5 x 10^k."""
    mantissa = round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0
    return f"{value:g}" if mantissa in (1, 2, 3, 5) else ""
