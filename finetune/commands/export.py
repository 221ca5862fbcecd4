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
import sys
from pathlib import Path

from finetune.hf_export import export


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
