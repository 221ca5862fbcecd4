"""`python -m videomae [--out DIR] [--seconds S]`: the VideoMAE lesson (see lesson.py)."""
import argparse

from .lesson import run

parser = argparse.ArgumentParser(prog="python -m videomae", description=__doc__)
parser.add_argument("--out", default="outputs/videomae", help="where the figures go")
parser.add_argument("--seconds", type=float, default=60.0, help="pretraining time budget (about a minute)")
parser.add_argument("--steps", type=int, default=5000, help="pretraining step cap")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()
run(args.out, args.seconds, args.steps, args.seed)
