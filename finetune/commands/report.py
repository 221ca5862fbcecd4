"""`python -m finetune report`: per-class accuracy, confusion matrix and worst clips of a finished run (being written)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="per-class accuracy, confusion matrix and worst clips of a finished run")
    p.set_defaults(func=lambda args: print("not written yet") or 1)
