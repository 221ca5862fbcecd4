"""`python -m finetune train`: one fine-tuning run, from a data folder and weights to RUN/ (course notes, IV.3).

    RUN/config.json      the full config (also printed at the start)
    RUN/classes.json     class names = the training folders, in index order
    RUN/split.json       the grouped train/validation split
    RUN/checkpoint.pt    the latest good state (every `save_every` steps and every epoch)
    RUN/best.pt          with --set keep_best=true: the best epoch's weights (`predict --checkpoint best`)
    RUN/metrics.jsonl    one line per epoch; RUN/curves.png the same as a plot
    RUN/summary.json     written when the run is finished (ablate skips such runs)
    RUN/val_probs.json   the final validation pass's probabilities per clip (`ensemble`, `ablate`)
    RUN/report.md        per-class accuracy, confusion matrix, worst clips (`python -m finetune report`)
    RUN/bad_frames.txt   frames that could not be decoded (replaced by a neighbour) and clips left out

The same command under `torchrun --nproc_per_node N` trains on N GPUs (DDP).
`--resume` continues a killed run from RUN/checkpoint.pt: same epoch, same step
inside the epoch, same optimizer moments, loss scale and random state; on
another number of GPUs too (a 2-GPU Kaggle run finished on one GPU), with the
same effective batch and lr schedule (`--set num_workers=... batch_size=... prefetch=...`
still apply: what a killed data-loading worker asks to lower). The run itself: finetune/training_run.py.
"""
from finetune import config as C
from finetune.commands.arguments import add_run_arguments
from finetune.training_run import train

SHORTCUTS = {"epochs": int, "batch_size": int, "accum_steps": int, "num_frames": int, "num_workers": int, "lr": float}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="fine-tune on DATA with a preset (exp1..exp4, ...) into RUN",
                              description=__doc__.split("\n\n")[0])
    add_run_arguments(p, weights_help="VideoMAE / ViT weights: HF folder, .pth, .safetensors, or an HF hub id",
                      out_help="run folder to write (or to continue with --resume)", set_help="override config fields")
    p.add_argument("--preset", default="exp4", choices=list(C.PRESETS),
                   help="the course notes' experiment (default exp4)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    for name, kind in SHORTCUTS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, help=f"shortcut for --set {name}=...")
    p.set_defaults(func=_run)


def _run(args) -> int:
    shortcuts = {name: getattr(args, name) for name in SHORTCUTS if getattr(args, name) is not None}
    train(args.data, args.out, args.weights, args.preset, args.set, resume=args.resume, device=args.device,
          **shortcuts)
    return 0
