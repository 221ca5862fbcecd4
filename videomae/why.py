"""Why VideoMAE works, measured on toy clips on a CPU (docs/05_why_videomae.md).

Small, seeded, fixed-step experiments on the synthetic action clips of
`videomae.synthetic` (a class is a motion; a clip played backwards is another class):

1. time matters        per-frame image ViT vs video ViT, both from scratch, same clips and steps
2. pretraining matters video ViT from scratch vs after VideoMAE pretraining, with few labels
3. tube vs random      which masking makes the better pretraining (Tong et al. 2022, Table 1)
4. 75% vs 90%          which masking ratio (Tong et al. 2022, section 3.3)

Run: `python -m videomae.why [--full] [--out outputs/why_videomae] [--seed 0] [--experiments 1,2,3,4] [--quick]`.
By default it runs experiment DEFAULT_TEXT; --full runs all four (the measured times of
both are at the end of --help). Prints one table row per experiment and writes why_videomae.png to
--out, then checks docs/05's claims on this run (`videomae.why_claims`): one run of a
tiny model is one draw, and the page quotes what held over seeds and thread counts.
The pieces (data, models, training) are in `videomae/why_runs.py`.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from vit.steps import figures_folder, lesson_parser, print_claims, print_time, save_results, torch_threads

from .synthetic import ACTIONS
from .why_claims import CLAIMS, DEFAULT_EXPERIMENTS, row_numbers
from .why_runs import Row, Setup, make_data, run_row

ONE_THREAD = "tiny models run faster on one thread, and one thread makes every number repeatable"

# (experiment, classifier, labelled set, masking, ratio): the table's rows, top to bottom
EXPERIMENTS = [
    ("1 time", "frames", "many", None, 0.0),
    ("1 time", "video", "many", None, 0.0),
    ("2 pretraining", "video", "few", None, 0.0),
    ("2 pretraining", "video", "few", "tube", 0.9),
    ("3 masking", "video", "few", "random", 0.9),
    ("4 ratio", "video", "few", "tube", 0.75),
]

QUICK = {"unlabelled": 40, "labels": 2, "labels_many": 3, "test": 4, "pretrain_steps": 4, "finetune_steps": 4,
         "batch": 4}

EXPERIMENT_NUMBERS = ("1", "2", "3", "4")
__doc__ = __doc__.replace("DEFAULT_TEXT", " and ".join(DEFAULT_EXPERIMENTS))


def _experiment_list(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    wrong = [c for c in chosen if c not in EXPERIMENT_NUMBERS]
    if wrong or not chosen:
        raise argparse.ArgumentTypeError(f"expected experiment numbers among 1,2,3,4 separated by commas, got {text!r}")
    return chosen


HEADER = (f"{'experiment':<14}{'model':<15}{'pretraining':<12}{'masking':<11}{'labels':>7}{'steps':>11}"
          f"{'pretrain loss':>15}{'acc at 1/4':>11}{'test acc':>10}{'seconds':>9}")


def format_row(experiment: str, row: Row) -> str:
    loss = f"{row.pretrain_loss:.4f}" if row.pretrain_loss is not None else "-"
    early = f"{row.early_accuracy:.1%}" if row.early_accuracy is not None else "-"
    return (f"{experiment:<14}{row.model:<15}{row.pretraining:<12}{row.masking:<11}{row.labels:>7}{row.steps:>11}"
            f"{loss:>15}{early:>11}{row.accuracy:>10.1%}{row.seconds:>9.1f}")


def pretraining_gain(rows: list[tuple[str, Row]]) -> str | None:
    """Experiment 2's answer in one line: tube-90% pretrained minus from scratch, same few labels."""
    few = {(r.pretraining, r.masking): r for e, r in rows if e.startswith("2 ")}
    scratch, pretrained = few.get(("none", "-")), few.get(("VideoMAE", "tube 90%"))
    if not (scratch and pretrained):
        return None
    diff = 100 * (pretrained.accuracy - scratch.accuracy)
    return (f"pretraining with {scratch.labels} labels/class: {pretrained.accuracy:.1%} vs {scratch.accuracy:.1%} "
            f"from scratch ({diff:+.1f} points)")


def plot(rows: list[tuple[str, Row]], chance: float, path, title: str) -> None:
    """Bar chart of test accuracy (chance line, values on bars) and the pretraining loss curves."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
    names = [f"{r.model}\n" + (f"VideoMAE\n{r.masking}" if r.pretraining != "none" else "from scratch\n")
             + f"\n{r.labels} labels/class" for _, r in rows]
    colours = ["#999999" if r.model.startswith("per-frame") else "#4878a8" if r.pretraining == "none" else "#e08040"
               for _, r in rows]
    bars = ax.bar(range(len(rows)), [100 * r.accuracy for _, r in rows], color=colours)
    for bar, (_, r) in zip(bars, rows):
        ax.text(bar.get_x() + bar.get_width() / 2, bar.get_height() + 1, f"{r.accuracy:.0%}", ha="center", fontsize=9)
    ax.axhline(100 * chance, color="red", linestyle="--", label=f"chance ({chance:.0%})")
    ax.set_xticks(range(len(rows)), names, fontsize=7)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 105)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("held-out accuracy after the same fine-tuning steps", fontsize=9)
    for _, r in rows:
        if r.pretrain_curve:
            ax2.plot(r.pretrain_curve, label=f"{r.masking}", linewidth=0.8)
    ax2.set_yscale("log")
    ax2.set_xlabel("pretraining step")
    ax2.set_ylabel("reconstruction MSE (hidden tubelets)")
    ax2.set_title("VideoMAE pretraining loss", fontsize=9)
    if ax2.lines:
        ax2.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None) -> int:
    """Parse the arguments (`argv`, default sys.argv), run the chosen experiments, return the exit status."""
    parser = lesson_parser("why_videomae", __doc__)
    parser.prog = "python -m videomae.why"  # the folder name why_videomae is only the default --out
    defaults = Setup()
    parser.add_argument("--pretrain-steps", type=int, default=defaults.pretrain_steps,
                        help="VideoMAE pretraining steps per pretrained row (default: %(default)s)")
    parser.add_argument("--finetune-steps", type=int, default=defaults.finetune_steps,
                        help="supervised steps per row (default: %(default)s)")
    parser.add_argument("--labels", type=int, default=defaults.labels,
                        help="labelled clips per class in the few-label rows (default: %(default)s)")
    parser.add_argument("--experiments", type=_experiment_list, default=None,
                        help="which experiments to run, comma-separated, e.g. 2 for the pretraining comparison "
                             f"alone (default: {','.join(DEFAULT_EXPERIMENTS)}; --full: 1,2,3,4)")
    parser.add_argument("--full", action="store_true",
                        help="all four experiments (its time is below)")
    parser.add_argument("--threads", type=int, default=1, help=f"torch CPU threads; 1 by default: {ONE_THREAD}")
    parser.add_argument("--quick", action="store_true", help="a few steps on a few clips: checks that it runs (tests)")
    args = parser.parse_args(argv)
    chosen = args.experiments or (EXPERIMENT_NUMBERS if args.full else DEFAULT_EXPERIMENTS)
    setup = replace(defaults, pretrain_steps=args.pretrain_steps, finetune_steps=args.finetune_steps,
                    labels=args.labels)
    if args.quick:
        setup = replace(setup, **QUICK)
    out = figures_folder(args)
    start = time.perf_counter()
    classes = ", ".join(ACTIONS[c] for c in setup.classes)
    print(f"classes ({len(setup.classes)}): {classes}")
    print(f"clips {setup.frames}x{setup.size}x{setup.size}, tubelets 2x{setup.patch}x{setup.patch}; models "
          f"D={setup.dim} x {setup.depth} blocks; {setup.unlabelled} unlabelled clips, {setup.labels} or "
          f"{setup.labels_many} labelled per class, {setup.test} per class held out; seed {args.seed}; "
          f"experiments {','.join(chosen)}")
    data = make_data(setup, args.seed)
    print(HEADER)
    rows = []
    with torch_threads(args.threads):
        for experiment, kind, labels, masking, ratio in EXPERIMENTS:
            if experiment.split()[0] not in chosen:
                continue
            row = run_row(setup, data, kind, labels, args.seed, masking, ratio)
            rows.append((experiment, row))
            print(format_row(experiment, row), flush=True)
    gain = pretraining_gain(rows)
    if gain:
        print(gain)
    if out:
        path = out / "why_videomae.png"
        plot(rows, 1 / len(setup.classes), path, f"Why VideoMAE, on toy motion clips (seed {args.seed})")
        print(f"figure: {path}")
    numbers = row_numbers(rows, setup == defaults)
    verdicts = print_claims("docs/05", CLAIMS, numbers)
    save_results(args.results, "why", args, numbers, verdicts)
    print_time("the whole run:", time.perf_counter() - start)
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
