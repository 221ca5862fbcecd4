"""`python -m finetune export`: write a fine-tuned run as a transformers VideoMAEForVideoClassification folder (being written)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="write a fine-tuned run as a transformers VideoMAEForVideoClassification folder")
    p.set_defaults(func=lambda args: print("not written yet") or 1)
