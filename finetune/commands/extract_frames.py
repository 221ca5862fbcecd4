"""`python -m finetune extract-frames`: decode .avi/.mp4/.webm videos into the competition's frame layout (being written)."""


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("extract-frames", help="decode .avi/.mp4/.webm videos into the competition's frame layout")
    p.set_defaults(func=lambda args: print("not written yet") or 1)
