"""`python -m finetune demo`: the whole competition pipeline on a laptop CPU, no download (course notes, IV).

Toy data, a tiny pretrained VideoMAE, the `exp1` and `exp4` recipes on a tiny
model, a TTA submission and the table, in under 10 minutes on a 2-core CPU.
The steps and every size they shrink: finetune/demo_run.py.
"""
from finetune.demo_run import demo


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("demo", help="the whole pipeline on built-in toy data, CPU, no download, < 10 min",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="outputs/finetune_demo", help="output folder (default outputs/finetune_demo)")
    p.add_argument("--seed", type=int, default=0, help="seed for the data, the split and the training")
    p.set_defaults(func=_run)


def _run(args) -> int:
    demo(args.out, args.seed)
    return 0
