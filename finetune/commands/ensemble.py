"""`python -m finetune ensemble`: average the saved probabilities of several runs into one submission.

    python -m finetune predict --run runs/exp4 --data DATA --out exp4.csv --probs        # exp4.probs.json
    python -m finetune predict --run runs/exp4-30ep --data DATA --out 30ep.csv --probs   # 30ep.probs.json
    python -m finetune ensemble --probs exp4.probs.json 30ep.probs.json --weights 0.6 0.4 --out submission.csv

Each run's per-class probabilities (already averaged over its TTA views) are
averaged again, weighted, and each clip gets the class of highest mean
probability (finetune/training/probs.py says why probabilities, not votes).
Files are matched by id and class name, so another order is fine; other ids,
other classes, a wrong number of weights or a negative weight is one error.
Runs' validation predictions (RUN/val_probs.json) can be ensembled the same
way: they hold the true labels, so the accuracy of each run and of the
ensemble is printed (`ablate` adds that row to its table).
"""
from pathlib import Path

from finetune.prediction import ensemble


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("ensemble", help="average the saved probabilities of several runs into one submission",
                              description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--probs", nargs="+", required=True, metavar="FILE",
                   help="two or more files written by `predict --probs` (or runs' val_probs.json)")
    p.add_argument("--weights", nargs="+", type=float, metavar="W",
                   help="one non-negative weight per file (default: equal); normalised to sum 1")
    p.add_argument("--out", default="submission.csv", help="output CSV (default submission.csv)")
    p.add_argument("--save-probs", action="store_true", help="also save the averaged probabilities as OUT.probs.json")
    p.set_defaults(func=_run)


def _run(args) -> int:
    r = ensemble(args.probs, args.out, args.weights, args.save_probs)
    weights = ", ".join(f"{w:.3g}" for w in r["weights"])
    print(f"wrote {r['rows']} rows to {r['submission']} (mean of {len(args.probs)} files, weights {weights})"
          + (f"; averaged probabilities in {r['probs']}" if "probs" in r else ""))
    if "accuracy" in r:
        members = ", ".join(f"{Path(p)}: {a:.4f}" for p, a in zip(args.probs, r["member_acc"]))
        print(f"accuracy on the true labels: ensemble {r['accuracy']:.4f}; {members}")
    return 0
