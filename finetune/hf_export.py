"""A fine-tuned run as a transformers model folder: the work behind `python -m finetune export`.

`export(run, out)` writes what `transformers.VideoMAEForVideoClassification.from_pretrained(out)`
loads (its files are listed in `python -m finetune export --help`): the
VideoViT under transformers' names with the run's class names as labels, an
image processor that repeats the run's evaluation transform (short side
resized, centre crop, the weights' mean/std), and a model card. Only a VideoMAE
run (`VideoViT`) has a transformers counterpart; a per-frame ViT run, or one
whose position table is sampled from more frames than it sees, is refused
with the reason, rather than exported to a model that predicts differently.
"""
from __future__ import annotations

import json
from pathlib import Path

from finetune import config as C
from finetune.errors import RunError
from finetune.run_folder import RunFolder


def export(run, out) -> dict:
    """Write RUN's model into OUT as a transformers folder; returns what was written."""
    from finetune.training.ema import model_for_prediction
    from finetune.training.loaders import mean_std
    from videomae import VideoViT

    folder, out = RunFolder(run), Path(out)
    run = folder.path
    if out.exists() and any(out.iterdir()):
        raise RunError(f"{out} exists and is not empty: expected a new folder for the exported model")
    ckpt = folder.load_checkpoint()  # a RunError naming the file if RUN is not a finished or running train folder
    cfg, classes = C.from_dict(ckpt["config"]), list(ckpt["classes"])
    model, weights_used = model_for_prediction(ckpt)  # the EMA's weights when they validated better
    if not isinstance(model, VideoViT):
        raise RunError(f"{run} holds a per-frame ViT ({cfg.model}); export writes transformers' "
                       "VideoMAEForVideoClassification, which only a VideoMAE run (model=videovit_base / tiny) fits")
    table = model.cfg.pos_table_frames
    if table and table != model.cfg.num_frames:
        raise RunError(f"{run} samples its position table from {table} frames for {model.cfg.num_frames}-frame "
                       "clips; transformers' VideoMAE builds the table for num_frames only, so the exported model "
                       "would not give this run's predictions. Train with pos_table_frames unset to export.")
    model.save_pretrained(out, labels=classes)
    mean, std = mean_std(cfg)
    processor = {
        "image_processor_type": "VideoMAEImageProcessor",
        "do_resize": True, "size": {"shortest_edge": cfg.resize},        # short side of every frame -> cfg.resize
        "do_center_crop": True, "crop_size": {"height": cfg.image_size, "width": cfg.image_size},
        "do_rescale": True, "rescale_factor": 1 / 255,                    # uint8 -> [0, 1]
        "do_normalize": True, "image_mean": list(mean), "image_std": list(std),
        "resample": 2,                                                    # bilinear, as the training pipeline
    }
    (out / "preprocessor_config.json").write_text(json.dumps(processor, indent=2))
    summary = folder.read_summary() if folder.finished() else {}
    (out / "README.md").write_text(model_card(run, cfg, classes, summary))
    return {"out": str(out), "classes": len(classes), "num_frames": model.cfg.num_frames,
            "image_size": model.cfg.image_size, "val_acc": summary.get("val_acc"), "weights_used": weights_used}


def model_card(run: Path, cfg, classes: list[str], summary: dict) -> str:
    acc = summary.get("tta_acc") or summary.get("val_acc")
    score = f"{100 * acc:.2f}% on its validation split ({cfg.tta} views)" if acc is not None else "not evaluated yet"
    return f"""# VideoMAE action classifier ({len(classes)} classes)

Fine-tuned with `python -m finetune train` (preset `{summary.get('preset', '?')}`, run `{run.name}`), from
VideoMAE (Tong et al. 2022). Validation accuracy: {score}.

Input: {cfg.num_frames} frames sampled uniformly over the clip, short side resized to {cfg.resize}, centre crop
{cfg.image_size}x{cfg.image_size}, normalised with the mean/std in `preprocessor_config.json`.

```python
import torch
from transformers import VideoMAEForVideoClassification
model = VideoMAEForVideoClassification.from_pretrained("<this folder>").eval()
video = torch.rand(1, {cfg.num_frames}, 3, {cfg.image_size}, {cfg.image_size})  # (B, T, C, H, W), normalised
label = model.config.id2label[int(model(pixel_values=video).logits.argmax(-1))]
```

Classes, in head order: {", ".join(classes)}.
"""
