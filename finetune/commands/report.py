"""`python -m finetune report`: where a finished run goes wrong, from its saved validation predictions.

    RUN/report.md        accuracy, per-class accuracy (worst first), the most confused pairs, the worst clips
    RUN/confusion.png    the confusion matrix, rows normalised, classes worst first (counts: RUN/confusion.csv)
    RUN/worst_clips.png  a few frames of each worst-classified validation clip, "true: X / predicted: Y (p)"

`train` writes all of it at the end of a run from RUN/val_probs.json; this
command rebuilds it (e.g. with more clips on the sheet, or the frames from
another copy of the data: `--data`). A run finished before val_probs.json
existed gets it from `train --data DATA --out RUN --resume`, which only
evaluates a finished run again. The analysis: finetune/training/report.py.
"""
from finetune.prediction import report


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("report", help="per-class accuracy, confusion matrix and worst clips of a finished run",
                              description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--run", required=True, help="the run folder written by `finetune train` (holds val_probs.json)")
    p.add_argument("--data", help="the data folder to read the worst clips' frames from (default: the run's own)")
    p.add_argument("--worst", type=int, default=8, help="clips on the contact sheet (default 8)")
    p.add_argument("--frames", type=int, default=4, help="frames per clip on the contact sheet (default 4)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    written = report(args.run, args.data, args.worst, args.frames)
    if "note" in written:  # a refit on every clip (val_fraction=0): not an error, there is just nothing to show
        print(f"nothing to report: {written['note']}")
        return 0
    figures = [str(written[k]) for k in ("confusion", "worst") if k in written]
    print(f"wrote {written['report']}, {written['csv']}" + "".join(f", {f}" for f in figures))
    return 0
