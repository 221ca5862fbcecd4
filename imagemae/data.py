"""Photos that need no download, and random crops of them (the lesson's "dataset").

matplotlib ships a few sample images (`matplotlib.cbook.get_sample_data`); the
two real photos are used: Grace Hopper's portrait and a gift box. Pretraining
sees random crops of them (random scale and aspect ratio, random flip), the
augmentation MAE pretrains with (He et al. 2022, table 1e and appendix A.1:
random-size cropping with horizontal flips, nothing else: masking is the
augmentation; facebookresearch/mae `main_pretrain.py`, scale 0.2-1).

One more picture is held out: never cropped for pretraining, it shows what the
MAE does with an image it has not seen (`held_out_image`: a shaded-relief map
of terrain, rendered from the elevation data that also ships with matplotlib).

Photos are float tensors (3, H, W) in [0, 1]; the crops the model sees are
normalised with the ImageNet mean and std (`vit.imagenet`), like MAE's inputs;
`to_display` undoes it for figures.
"""
import math

import numpy as np
import torch
from torch.nn import functional as F

from vit import imagenet

SAMPLE_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png")


def load_photos(names=SAMPLE_PHOTOS) -> list[torch.Tensor]:
    """The sample photos that exist in this matplotlib, each (3, H, W) in [0, 1]."""
    from matplotlib import cbook
    from PIL import Image

    photos = []
    for name in names:
        try:
            with Image.open(cbook.get_sample_data(name)) as im:
                array = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0  # (H, W, 3)
        except (FileNotFoundError, OSError, ValueError):
            continue
        photos.append(torch.from_numpy(array).permute(2, 0, 1).contiguous())  # (H, W, 3) -> (3, H, W)
    if not photos:
        raise FileNotFoundError(f"none of matplotlib's sample photos {names} was found")
    return photos


def held_out_image() -> torch.Tensor | None:
    """matplotlib's sample elevation map (jacksboro_fault_dem.npz) drawn as a shaded
    relief, (3, 344, 403) in [0, 1]; None if this matplotlib does not ship it."""
    from matplotlib import cbook, colormaps
    from matplotlib.colors import LightSource

    try:
        elevation = np.asarray(cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"], dtype=np.float64)
    except (FileNotFoundError, OSError, KeyError, ValueError):
        return None
    rgba = LightSource(azdeg=315, altdeg=45).shade(elevation, cmap=colormaps["gist_earth"], blend_mode="overlay",
                                                   vert_exag=0.05, dx=10, dy=10)  # (H, W, 4) in [0, 1]
    return torch.from_numpy(rgba[..., :3].astype(np.float32)).permute(2, 0, 1).contiguous()  # -> (3, H, W)


def shrink(photo: torch.Tensor, short_side: int) -> torch.Tensor:
    """Resize (3, H, W) so its short side is at most `short_side` (cheaper crops)."""
    _, h, w = photo.shape
    if min(h, w) <= short_side:
        return photo
    k = short_side / min(h, w)
    return F.interpolate(photo[None], size=(round(h * k), round(w * k)), mode="bilinear", antialias=True)[0]


def normalize(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels (..., 3, H, W) -> ImageNet-normalised, what the MAE sees."""
    return imagenet.normalize(images, channel_dim=-3)


def to_display(images: torch.Tensor) -> torch.Tensor:
    """Normalised (..., 3, H, W) -> [0, 1] pixels for imshow."""
    return imagenet.unnormalize(images, channel_dim=-3).clamp(0, 1)


def center_crop(photo: torch.Tensor, size: int) -> torch.Tensor:
    """(3, H, W) -> normalised (3, size, size): the largest centred square, resized."""
    _, h, w = photo.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return normalize(_resize(photo[:, top:top + s, left:left + s], size))


def random_crops(photos, batch: int, size: int, generator: torch.Generator, scale=(0.2, 1.0)) -> torch.Tensor:
    """A batch (B, 3, size, size) of normalised random resized crops with random flips."""
    out = []
    for _ in range(batch):
        photo = photos[int(torch.randint(len(photos), (1,), generator=generator))]
        _, h, w = photo.shape
        area = h * w * float(torch.empty(1).uniform_(*scale, generator=generator))
        ratio = math.exp(float(torch.empty(1).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)))
        ch = min(h, round(math.sqrt(area / ratio)))
        cw = min(w, round(math.sqrt(area * ratio)))
        top = int(torch.randint(h - ch + 1, (1,), generator=generator))
        left = int(torch.randint(w - cw + 1, (1,), generator=generator))
        crop = _resize(photo[:, top:top + ch, left:left + cw], size)  # (3, ch, cw) -> (3, size, size)
        if torch.rand(1, generator=generator) < 0.5:
            crop = crop.flip(-1)
        out.append(crop)
    return normalize(torch.stack(out))  # (B, 3, size, size)


def _resize(image: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
