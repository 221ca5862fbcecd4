"""The optional last section of notebooks/02_imagemae.ipynb: the official MAE ViT-B
reconstructs a real photo with 75% of its patches hidden.

The file is facebookresearch/mae's `mae_visualize_vit_base.pth`, the ViT-B with its
decoder that the official demo (`demo/mae_visualize.ipynb`) loads, trained with plain
pixels as targets so its reconstructions can be shown as they are
(https://dl.fbaipublicfiles.com/mae/visualize/mae_visualize_vit_base.pth); any file
`MAE.from_pretrained` reads works too (a transformers ViTMAEForPreTraining folder).
The encoder-only `mae_pretrain_vit_base.pth` has no decoder to paint with: one line says
so. Its path comes from the notebook's parameter cell, which reads MAE_WEIGHTS; without
one, `section` prints one line saying what file to put where.

The photos are the lesson's (matplotlib's samples, `imagemae.data.load_photos`), cut
and normalised as the lesson cuts them (`center_crop`), and the figure is the lesson's
(`imagemae.figures.reconstruction_figure`, the four panels of the official demo). He et
al. 2022, figure 2 and section 3.
"""
from pathlib import Path

import torch

from vit.real_weights import missing, skip_line
from weights import CheckpointError

from .data import SAMPLE_PHOTOS, center_crop, load_photos
from .figures import reconstruction_figure
from .model import MAE

ENV = "MAE_WEIGHTS"
WANTED = ("the official MAE ViT-B with its decoder, mae_visualize_vit_base.pth "
          "(https://dl.fbaipublicfiles.com/mae/visualize/mae_visualize_vit_base.pth)")
FIGURE = "real_reconstruction.png"


def load_mae(path) -> MAE | None:
    """`MAE.from_pretrained(path)` in eval mode, or None after one `error:` line (a file
    without a decoder, another model's weights, a damaged file: the user's to fix)."""
    try:
        return MAE.from_pretrained(path).eval()
    except (CheckpointError, OSError) as err:
        first = (str(err).strip() or type(err).__name__).splitlines()[0]
        print(f"error: {ENV}: {first}")
        return None


def reconstruct_photos(mae: MAE, out: Path, ratio: float = 0.75, seed: int = 0) -> dict:
    """Hide `ratio` of each sample photo's patches (one seeded draw), let `mae` paint them
    back, draw original | masked | reconstruction | reconstruction + visible to
    out/FIGURE and print each photo's loss; returns {"losses", "masked", "patches"}."""
    size, patch = mae.cfg.image_size, mae.cfg.patch_size
    images = torch.stack([center_crop(photo, size) for photo in load_photos()])  # (B, 3, S, S), normalised
    noise = torch.rand(len(images), mae.cfg.num_patches, generator=torch.Generator().manual_seed(seed))  # (B, N)
    with torch.no_grad():
        parts = [mae(images[i:i + 1], mask_ratio=ratio, noise=noise[i:i + 1]) for i in range(len(images))]
    losses = [loss.item() for loss, _, _ in parts]
    pred, mask = torch.cat([p[1] for p in parts]), torch.cat([p[2] for p in parts])  # (B, N, p*p*3), (B, N)
    masked, n = int(mask[0].sum()), mask.shape[1]
    print(f"{len(images)} photos at {size}x{size}: {masked} of {n} patches hidden ({masked / n:.0%}), "
          f"the encoder sees the other {n - masked}")
    names = SAMPLE_PHOTOS if len(images) == len(SAMPLE_PHOTOS) else [f"photo {i + 1}" for i in range(len(images))]
    for name, loss in zip(names, losses):
        print(f"  {name}: MSE on the hidden patches {loss:.3f}"
              f"{' (per-patch normalised pixels)' if mae.cfg.norm_pix_loss else ''}")
    out.mkdir(parents=True, exist_ok=True)
    reconstruction_figure(images, pred, mask, patch, out / FIGURE,
                          f"{ratio:.0%} hidden, painted back by the real MAE (D = {mae.cfg.dim}, "
                          f"{mae.cfg.depth} blocks)", list(names),
                          norm_pix_loss=mae.cfg.norm_pix_loss)
    return {"losses": losses, "masked": masked, "patches": n}


def section(path, out) -> Path | None:
    """The notebook's section: the skip line when `path` is None or "", else the
    reconstruction figure's path (None after one line for a file it cannot use)."""
    if not path:
        print(skip_line(WANTED, ENV))
        return None
    if missing(path, ENV):
        return None
    mae = load_mae(Path(path).expanduser())
    if mae is None:
        return None
    reconstruct_photos(mae, Path(out))
    return Path(out) / FIGURE
