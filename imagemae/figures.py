"""Figures of the lesson: what the encoder sees, and what the decoder paints back.

Every image is rebuilt from patches with `vit.patches.unpatchify`, the exact
inverse of the `patchify` that made the loss target, so what is drawn is what
the loss compares. The reconstruction figure has the four panels of the official
demo (facebookresearch/mae `demo/mae_visualize.ipynb`: original, masked,
reconstruction, reconstruction + visible); He et al. 2022, figure 2, shows the
first three.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from vit.figures import save_figure
from vit.patches import patchify, unpatchify

from .data import to_display


def grey_out(images: torch.Tensor, mask: torch.Tensor, patch: int, fill: torch.Tensor | None = None) -> torch.Tensor:
    """Replace the masked patches of normalised images (B, 3, H, W) by `fill`
    patches (B, N, p*p*3) (default: 0 after normalisation, the ImageNet mean colour, a grey)."""
    h, w = images.shape[-2:]
    patches = patchify(images, patch)  # (B, N, p*p*3)
    fill = torch.zeros_like(patches) if fill is None else fill
    patches = torch.where(mask[..., None], fill, patches)  # (B, N, p*p*3)
    return unpatchify(patches, patch, (h // patch, w // patch))  # -> (B, 3, H, W)


def masking_figure(image: torch.Tensor, mask: torch.Tensor, patch: int, path) -> None:
    """One image (3, H, W): original | masked | only what the encoder receives."""
    n, visible = mask.numel(), int((~mask).sum())
    panels = [image[None], grey_out(image[None], mask[None], patch)]
    titles = ["original", f"masked: {n - visible} of {n} patches", f"encoder input: {visible} patches"]
    keep = patchify(image[None], patch)[0][~mask]  # (N_vis, p*p*3)
    side = int(visible**0.5 + 0.999)
    packed = torch.zeros(side * side, keep.shape[1])
    packed[:visible] = keep
    panels.append(unpatchify(packed[None], patch, (side, side)))  # the visible patches, packed together
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.7))
    for ax, img, title in zip(axes, panels, titles):
        ax.imshow(to_display(img[0]).permute(1, 2, 0).numpy())
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.suptitle(f"random masking: {n - visible} of {n} patches ({(n - visible) / n:.0%}) hidden, "
                 f"the encoder gets the other {visible}", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, palette=True)


def reconstruction_figure(images, pred, mask, patch: int, path, title: str, rows: list[str],
                          norm_pix_loss: bool = False) -> None:
    """Rows (labelled by `rows`) of original | masked | reconstruction | reconstruction + visible.

    images (B, 3, H, W) normalised, pred (B, N, p*p*3), mask (B, N) bool. With
    norm_pix_loss the prediction is per-patch normalised; it is shown with the
    true patch's mean and std put back (what MCG-NJU/VideoMAE `run_videomae_vis.py`
    does for its per-channel target): the brightness is the truth's, the texture the prediction's."""
    b, _, h, w = images.shape
    grid = (h // patch, w // patch)
    pred = pred.detach().float()
    if norm_pix_loss:
        target = patchify(images, patch)
        pred = pred * (target.var(dim=-1, keepdim=True) + 1e-6) ** 0.5 + target.mean(dim=-1, keepdim=True)
    recon = unpatchify(pred, patch, grid)  # (B, N, p*p*3) -> (B, 3, H, W)
    pasted = grey_out(images, mask, patch, fill=pred)  # visible patches are the real ones
    columns = [images, grey_out(images, mask, patch), recon, pasted]
    n, hidden = mask.shape[1], int(mask[0].sum())
    names = ["original", f"masked ({hidden}/{n} = {hidden / n:.0%})", "reconstruction", "reconstruction + visible"]
    fig, axes = plt.subplots(b, 4, figsize=(9.6, 2.5 * b + 0.5), squeeze=False)
    for row in range(b):
        for col, (column, name) in enumerate(zip(columns, names)):
            ax = axes[row, col]
            ax.imshow(to_display(column[row]).permute(1, 2, 0).numpy())
            ax.set_xticks([]), ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize=10)
        axes[row, 0].set_ylabel(rows[row], fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, palette=True)
