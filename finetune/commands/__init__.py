"""One module per `python -m finetune` command; each defines `add_parser(subparsers)`."""
