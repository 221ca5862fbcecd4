"""`python -m finetune ablate`: the course notes' incremental ablation (IV.3.1), re-run and tabulated.

Runs the presets one after another into RUNS/<preset>/, each adding one idea
to the previous row (exp1 vanilla -> exp2 consistent aug -> exp3 Mixup -> exp4
two stages + TTA). A finished run (RUNS/<preset>/summary.json) is skipped and
a killed one is resumed, so the command can simply be started again after a
Kaggle session ends. Then RUNS/ablation.md gets the table, with the course
notes' test accuracy beside ours, and RUNS/ablation.png the same as a bar
chart; an ensemble row averages the finished runs' validation predictions
(`--ensemble`). How to read the table: finetune/ablation.py.
"""
from finetune import config as C
from finetune.ablation import ablate, parse_groups
from finetune.commands.arguments import add_run_arguments


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("ablate", help="run the course notes' Exp 1-4 one after another and tabulate them",
                              description=__doc__.split("\n\n")[0])
    add_run_arguments(p, weights_help="VideoMAE weights for every run (HF folder, .pth, or an HF hub id)",
                      out_help="folder for RUNS/<preset>/, ablation.md and ablation.png",
                      set_help="overrides applied to every preset")
    p.add_argument("--vit-weights", help="ImageNet ViT weights for vit-*-frames presets (timm .pth/.safetensors, HF)")
    p.add_argument("--presets", nargs="+", default=list(C.ABLATION), choices=list(C.PRESETS),
                   help=f"presets in order (default: {' '.join(C.ABLATION)})")
    p.add_argument("--ensemble", nargs="+", metavar="A,B",
                   help="rows for ensembles of these runs' validation predictions (run names joined by commas; "
                        "default: one row averaging every finished run; 'none': no ensemble row)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    groups = parse_groups(args.ensemble)  # a malformed group fails now, not after hours of training
    ablate(args.data, args.weights, args.out, args.presets, args.set, args.device, args.vit_weights, groups)
    return 0
