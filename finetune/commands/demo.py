"""`python -m finetune demo`: the whole competition pipeline on a laptop CPU, no download (course notes, IV).

Toy data, a tiny pretrained VideoMAE, the `exp1` and `exp4` recipes on a tiny
model, both rows' test accuracy, a TTA submission and the table: about 2 minutes
on a quiet 2-core CPU (docs/04_project71.md, "The demo"). The steps and every
size they shrink: finetune/demo_run.py; `python -m finetune.demo_run --sweep`
runs it over seeds and thread counts.
"""
from finetune.demo_run import demo


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="the whole pipeline on built-in toy data, CPU, no download, about 2 min",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="outputs/finetune_demo", help="output folder (default outputs/finetune_demo)")
    p.add_argument("--seed", type=int, default=0, help="seed for the data, the split and the training")
    p.set_defaults(func=_run)


def _run(args) -> int:
    demo(args.out, args.seed)
    return 0
