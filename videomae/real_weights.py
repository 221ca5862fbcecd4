"""The optional last section of notebooks/03_videomae.ipynb: the real Kinetics-400
VideoMAE-B classifier (the competition's starting point) names the top 5 actions of
two clips made here.

The weights are the folder of `MCG-NJU/videomae-base-finetuned-kinetics` (config.json
with its 400 `id2label` names + model.safetensors), which docs/04 and docs/kaggle.md
fine-tune; any file `VideoViT.from_pretrained` reads works (an official `.pth` has no
names: classes are then shown by index). Its path comes from the notebook's parameter
cell, which reads VIDEOMAE_WEIGHTS; without one, `section` prints one line saying what
to put where.

Neither clip is a Kinetics action, and that is the point of looking: the model must
still spread its probability over its 400 classes, so its top 5 say what the clip
resembles to it, not what happens in it.

- "zoom": matplotlib's photo of Grace Hopper, the camera zooming in slowly (a still
  photo: nobody moves);
- "move_right": one clip of the lesson's synthetic actions (`videomae.synthetic`): a
  shape sliding right over a textured background.

Both are made at the model's own frames and size (16 x 224 x 224 for the K400 file)
and normalised with ImageNet's statistics, as the model was trained (Tong et al. 2022,
section 4.1; transformers' VideoMAEImageProcessor does the same).
"""
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import cbook
from PIL import Image

from vit import imagenet
from vit.figures import save_figure
from vit.real_weights import missing, skip_line
from weights import CheckpointError

from . import synthetic
from .classifier import VideoViT

ENV = "VIDEOMAE_WEIGHTS"
WANTED = ("the folder of MCG-NJU/videomae-base-finetuned-kinetics (config.json + model.safetensors: "
          "`huggingface-cli download MCG-NJU/videomae-base-finetuned-kinetics --local-dir videomae-k400`)")
FIGURE = "real_kinetics_top5.png"


def class_names(path, count: int) -> list[str]:
    """The `count` class names of the file at `path`: its config.json's id2label (a
    transformers folder), else 'class i'."""
    config = Path(path) / "config.json"
    labels = json.loads(config.read_text()).get("id2label", {}) if config.is_file() else {}
    return [labels.get(str(i), f"class {i}") for i in range(count)]


def zoom_clip(frames: int, size: int, zoom: float = 1.6) -> torch.Tensor:
    """matplotlib's grace_hopper.jpg as a clip (3, frames, size, size) in [0, 1]: centred
    square crops shrinking to 1/zoom of the short side, i.e. the camera zooming in."""
    photo = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    w, h = photo.size
    out = []
    for t in range(frames):
        side = min(w, h) / (1 + (zoom - 1) * t / max(1, frames - 1))
        box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
        out.append(np.asarray(photo.resize((size, size), Image.BICUBIC, box=box)))  # (size, size, 3)
    return torch.from_numpy(np.stack(out)).permute(3, 0, 1, 2).float() / 255  # (T, H, W, 3) -> (3, T, H, W)


def demo_clips(frames: int, size: int, seed: int = 0) -> dict[str, tuple[str, torch.Tensor]]:
    """{name: (what the clip shows, clip (3, T, H, W) in [0, 1])}, the two clips above."""
    rng = np.random.default_rng(seed)
    moving = synthetic.make_clip(synthetic.ACTIONS.index("move_right"), frames, size, size, rng)  # (T, H, W, 3)
    return {
        "zoom": ("a still photo (Grace Hopper), the camera zooming in: nobody moves", zoom_clip(frames, size)),
        "move_right": ("a synthetic shape sliding right over a textured background",
                       torch.from_numpy(moving).permute(3, 0, 1, 2).float() / 255),
    }


def top_k(model: VideoViT, clip: torch.Tensor, names: list[str], k: int = 5) -> list[tuple[str, float]]:
    """The model's k most probable classes for one clip (3, T, H, W) in [0, 1]."""
    with torch.no_grad():
        probs = model(imagenet.normalize(clip[None])).softmax(-1)[0]  # (1, 3, T, H, W) -> (classes,)
    values, indices = probs.topk(min(k, len(probs)))
    return [(names[i], v) for i, v in zip(indices.tolist(), values.tolist())]


def draw(results: dict, path: Path, title: str) -> None:
    """One row per clip: 8 of its frames side by side, and its top 5 as bars."""
    fig, axes = plt.subplots(len(results), 2, figsize=(12, 2.3 * len(results) + 0.6), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 1.4]})
    for (ax_frames, ax_bars), (name, (what, clip, top)) in zip(axes, results.items()):
        shown = clip[:, np.linspace(0, clip.shape[1] - 1, 8).round().astype(int)]  # (3, 8, H, W)
        strip = torch.cat(list(shown.unbind(1)), dim=-1)  # 8 x (3, H, W) -> (3, H, 8W): the frames side by side
        ax_frames.imshow(strip.permute(1, 2, 0).clamp(0, 1).numpy())
        ax_frames.set_title(f"{name}: {what}", fontsize=9)
        ax_frames.axis("off")
        ax_bars.barh(range(len(top)), [100 * p for _, p in top], color="#4878a8")
        ax_bars.set_yticks(range(len(top)), [label for label, _ in top], fontsize=8)
        ax_bars.invert_yaxis()
        ax_bars.set_xlim(0, 100)
        ax_bars.set_xlabel("probability (%)", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def section(path, out) -> Path | None:
    """The notebook's section: the skip line when `path` is None or "", else the top 5
    of each clip printed and drawn to out/FIGURE, whose path it returns (None after one
    line for a file it cannot use)."""
    if not path:
        print(skip_line(WANTED, ENV))
        return None
    if missing(path, ENV):
        return None
    path = Path(path).expanduser()
    try:
        model = VideoViT.from_pretrained(path).eval()
    except (CheckpointError, OSError) as err:
        print(f"error: {ENV}: {(str(err).strip() or type(err).__name__).splitlines()[0]}")
        return None
    cfg = model.cfg
    names = class_names(path, cfg.num_classes)
    print(f"{path.name}: a VideoViT with D = {cfg.dim}, {cfg.depth} blocks, {cfg.num_classes} classes, "
          f"clips of {cfg.num_frames} frames at {cfg.image_size}x{cfg.image_size}")
    results = {}
    for name, (what, clip) in demo_clips(cfg.num_frames, cfg.image_size).items():
        top = top_k(model, clip, names)
        results[name] = (what, clip, top)
        print(f"{name} ({what}): " + ", ".join(f"{label} {p:.1%}" for label, p in top))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    draw(results, out / FIGURE, f"top 5 of {cfg.num_classes} classes ({path.name}); neither clip is one of them")
    return out / FIGURE
