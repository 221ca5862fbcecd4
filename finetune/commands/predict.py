"""`python -m finetune predict`: a trained run -> the competition's submission.csv (course notes IV.3, Exp 4 TTA).

    id,class
    0,climb_stairs
    1,...

The work is `finetune.prediction.predict` (TTA, the class check, the prior for
unreadable clips); this module reads the arguments and prints what was written.
"""
from finetune import config as C
from finetune.commands.arguments import add_device_argument
from finetune.prediction import predict


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="write submission.csv (id,class) from a trained run, with TTA",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--run", required=True, help="the run folder written by `finetune train`")
    p.add_argument("--data", required=True, help="the data folder (holds test/, and data_train/ to check classes)")
    p.add_argument("--out", default="submission.csv", help="output CSV (default submission.csv)")
    p.add_argument("--tta", choices=list(C.VIEWS), help="views per clip (default: the run's config)")
    p.add_argument("--clips", type=int, default=1, metavar="K",
                   help="temporal clips per test clip, each with the --tta views, softmax averaged (default 1); "
                        "only clips longer than num_frames get different ones (finetune/data/sampling.py)")
    p.add_argument("--checkpoint", choices=("last", "best"), default="last",
                   help="last (RUN/checkpoint.pt, default) or best (RUN/best.pt, runs trained with keep_best)")
    p.add_argument("--probs", action="store_true", help="also save the averaged probabilities as OUT.probs.json")
    p.add_argument("--batch-size", type=int, help="clips per batch (default: from the run)")
    p.add_argument("--num-workers", type=int, help="data loading processes (default: from the run)")
    add_device_argument(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    r = predict(args.run, args.data, args.out, args.tta, args.probs, args.batch_size, args.num_workers, args.device,
                clips=args.clips, checkpoint=args.checkpoint)
    clips = f" x {r['clips']} temporal clips" if r["clips"] > 1 else ""
    print(f"wrote {r['rows']} rows ({r['tta']}, {r['views']} view(s){clips} per clip) to {r['submission']}")
    if "accuracy" in r:
        print(f"accuracy on the local test labels: {r['accuracy']:.4f} (chance {r['chance']:.4f}, "
              f"{r['accuracy'] / r['chance']:.1f}x chance)")
    return 0
