"""`python -m finetune export --run RUN --out DIR`: a fine-tuned run as a transformers model folder.

The folder is what `transformers.VideoMAEForVideoClassification.from_pretrained(DIR)`
loads, so a classmate, a Hugging Face Space or any transformers pipeline can use
the model without this package:

    DIR/config.json               VideoMAEConfig, with the run's class names in id2label / label2id
    DIR/model.safetensors         the weights under transformers' names (videomae.checkpoint.save_hf)
    DIR/preprocessor_config.json  VideoMAEImageProcessor: the run's frame size, resize and mean/std
    DIR/README.md                 a model card: classes, validation accuracy, how to call it

Only the video classifier (`VideoViT`, the VideoMAE rows exp1-exp4) has a
transformers counterpart; a per-frame ViT run (vit-s-frames, vit-b-frames) is
refused. transformers takes clips as (B, T, C, H, W); this package uses
(B, C, T, H, W): permute at the boundary.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from finetune import config as C
from finetune.errors import RunError

DESCRIPTION = __doc__.split("\n\n")[0]


def export(run, out) -> dict:
    """Write RUN's model into OUT as a transformers folder; returns what was written."""
    from videomae import VideoViT
    from finetune.training.checkpoint import load_checkpoint
    from finetune.training.loaders import mean_std
    from finetune.training.models import model_from_checkpoint

    run, out = Path(run), Path(out)
    if out.exists() and any(out.iterdir()):
        raise RunError(f"{out} exists and is not empty: expected a new folder for the exported model")
    ckpt = load_checkpoint(run)  # a RunError naming the file if RUN is not a finished or running train folder
    cfg, classes = C.from_dict(ckpt["config"]), list(ckpt["classes"])
    model = model_from_checkpoint(ckpt)
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
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").is_file() else {}
    (out / "README.md").write_text(model_card(run, cfg, classes, summary))
    return {"out": str(out), "classes": len(classes), "num_frames": model.cfg.num_frames,
            "image_size": model.cfg.image_size, "val_acc": summary.get("val_acc")}


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


def _add_arguments(p) -> None:
    p.add_argument("--run", required=True, type=Path, help="a run folder written by `python -m finetune train`")
    p.add_argument("--out", required=True, type=Path, help="the new folder to write (must not hold files)")


def _run(args) -> int:
    r = export(args.run, args.out)
    acc = f", validation accuracy {100 * r['val_acc']:.2f}%" if r["val_acc"] is not None else ""
    print(f"wrote {r['out']}: VideoMAEForVideoClassification, {r['classes']} classes, {r['num_frames']} frames of "
          f"{r['image_size']}x{r['image_size']}{acc}")
    print(f"load it with: VideoMAEForVideoClassification.from_pretrained({r['out']!r})")
    return 0


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a fine-tuned run as a transformers VideoMAEForVideoClassification "
                              "folder", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(func=_run)


if __name__ == "__main__":
    from finetune.cli import main

    sys.exit(main(["export", *sys.argv[1:]]))
