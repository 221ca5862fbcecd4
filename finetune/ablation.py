"""The course notes' incremental ablation (section IV.3.1), re-run and tabulated (`python -m finetune ablate`).

Runs the presets one after another into RUNS/<preset>/, each adding one idea
to the previous row (exp1 vanilla -> exp2 consistent aug -> exp3 Mixup -> exp4
two stages + TTA). A finished run (RUNS/<preset>/summary.json) is skipped and
a killed one is resumed, so the command can simply be started again after a
Kaggle session ends. Then RUNS/ablation.md gets the table, shaped like the
course notes' one, with their test accuracy beside ours, and RUNS/ablation.png
the same as a bar chart.

Reading the table: the gap between train and validation accuracy is the
over-fitting the course notes describe (Exp 1-2: 100% train); Mixup closes it by
making training HARDER (train acc drops to ~90%) while validation rises.

Ensemble rows: every run keeps its final validation probabilities
(RUN/val_probs.json), so averaging runs is measured on the same validation
clips without training anything: a row "ensemble (exp3 + exp4)" gets the
accuracy of the mean of those probabilities (made with each run's own views,
so it stands in both accuracy columns; compare it with the runs' TTA column).
By default one such row averages every finished row that has them (when there
are at least two); `--ensemble exp4,exp4-30ep` picks the runs (any folder of
RUNS; several groups give several rows), `--ensemble none` leaves the row out.
Choosing the members by their validation accuracy and then reading the
ensemble's validation accuracy flatters it a little.
"""
from pathlib import Path

from finetune import config as C
from finetune.backbones import with_recipe
from finetune.errors import RunError, UserError
from finetune.run_folder import RunFolder
from finetune.training.frame_vit import SIZES as FRAME_MODELS
from finetune.training.probs import accuracy, ensemble, read_probs
from finetune.training_run import run_training

TABLE, CHART = "ablation.md", "ablation.png"  # RUNS/: beside the run folders RUNS/<preset>/

# The course notes' ablation table: private-test accuracy of the same rows on the real data.
NOTES_TEST_ACC = {"vit-s-frames": 0.6922, "vit-b-frames": 0.7373, "exp1": 0.8176, "exp2": 0.8373, "exp3": 0.8431,
                  "exp4": 0.8490, "exp4-30ep": 0.8510, "exp4-8f": 0.8255}
WHAT = {"exp1": "VideoMAE-B K400, vanilla", "exp2": "+ consistent spatial aug", "exp3": "+ Mixup 0.8",
        "exp4": "+ 2-stage + TTA", "exp4-30ep": "exp4, 30 epochs", "exp4-8f": "exp4, 30 ep, 8 frames",
        "vit-s-frames": "ViT-S per frame (organizers)", "vit-b-frames": "ViT-B per frame",
        "official": "VideoMAE's own recipe (UCF101 script)"}


def _pct(x) -> str:
    return "" if x is None else f"{100 * x:.2f}%"


def table(rows: list[dict]) -> str:
    """Markdown table: experiment, train acc, val acc, TTA acc, time/epoch, peak memory, the course notes' test acc."""
    lines = ["| experiment | what it adds | train acc | val acc | TTA acc | time / epoch | peak memory | "
             "course notes' test acc |",
             "| :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        mem = f"{r['peak_mem_gb']:.2f} GB ({r.get('mem_kind', 'gpu')})" if r.get("peak_mem_gb") is not None else ""
        tta = "" if r.get("tta_acc") is None else _pct(r["tta_acc"]) + (
            f" ({r['tta']})" if r.get("tta") not in (None, "center") else " (1 view)")
        time = "" if r.get("time_per_epoch_s") is None else f"{r['time_per_epoch_s']:.1f} s"
        lines.append(f"| {r['name']} | {r.get('what', WHAT.get(r['name'], ''))} | {_pct(r.get('train_acc'))} | "
                     f"{_pct(r.get('val_acc'))} | {tta} | {time} | {mem} | "
                     f"{_pct(NOTES_TEST_ACC.get(r.get('preset') or r['name']))} |")
    return "\n".join(lines)


def bar_chart(rows: list[dict], path: Path, title: str = "ablation") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in rows]
    fig, ax = plt.subplots(figsize=(1.6 * len(rows) + 2, 3.6))
    width = 0.27
    for k, (key, label) in enumerate([("train_acc", "train"), ("val_acc", "val"), ("tta_acc", "val, TTA")]):
        ax.bar([i + (k - 1) * width for i in range(len(rows))], [100 * (r.get(key) or 0) for r in rows], width,
               label=label)
    ax.set_xticks(range(len(rows)), names)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return Path(path)


def write_table(runs: Path, rows: list[dict], title: str = "ablation") -> str:
    """RUNS/ablation.md (the table under a title) and RUNS/ablation.png (the bar chart); returns the table."""
    text = table(rows)
    (runs / TABLE).write_text(f"# {title}\n\n{text}\n")
    bar_chart(rows, runs / CHART, title)
    return text


def parse_groups(values) -> list[list[str]] | None:
    """`--ensemble` values -> groups of run names: None (not given: the default), [] ('none'), or the groups."""
    if values is None:
        return None
    if [v.lower() for v in values] == ["none"]:
        return []
    groups = [[n.strip() for n in v.split(",")] for v in values]
    check_groups(groups, values)
    return groups


def check_groups(groups: list[list[str]], given=None) -> None:
    """Each group: two or more different run names (`given`: the groups as the user wrote them)."""
    for g, v in zip(groups, given or [",".join(g) for g in groups]):
        if len(g) < 2 or not all(g) or len(set(g)) != len(g):
            raise RunError(f"--ensemble expects groups of two or more different run names joined by commas "
                           f"(e.g. exp4,exp4-30ep) or 'none', found {v!r}")


def ensemble_rows(runs: Path, rows: list[dict], groups: list[list[str]] | None) -> list[dict]:
    """One row per group of runs: the accuracy of the mean of their RUN/val_probs.json on the validation clips.

    groups None: one group of every row that has val_probs.json (if >= 2); a problem there is a note,
    not an error, since the runs' own rows are the table's point."""
    default = groups is None
    if default:
        groups = [[r["name"] for r in rows if RunFolder(runs / r["name"]).val_probs.is_file()]]
        groups = [g for g in groups if len(g) >= 2]
    out = []
    for names in groups:
        try:
            for n in names:
                if not RunFolder(runs / n).val_probs.is_file():
                    raise RunError(f"expected {RunFolder(runs / n).val_probs} (a finished run's validation "
                                   f"predictions) for the ensemble {'+'.join(names)}, found none; a run finished "
                                   f"before they were kept gets them from `python -m finetune train --data DATA "
                                   f"--out {runs / n} --resume` (nothing is retrained)")
            mean = ensemble([read_probs(RunFolder(runs / n).val_probs) for n in names])
        except UserError as err:
            if not default:
                raise
            print(f"note: no ensemble row: {err}", flush=True)
            continue
        acc = accuracy(mean["probs"], mean["labels"])  # from each run's final pass: its own views (TTA or not)
        out.append({"name": f"ensemble ({' + '.join(names)})", "val_acc": acc, "tta_acc": acc, "tta": "runs' views",
                    "what": "mean of the runs' final val probabilities", "members": names})
    return out


def ablate(data, weights, out, presets=tuple(C.ABLATION), overrides=(), device: str = "auto",
           vit_weights=None, ensembles: list[list[str]] | None = None) -> str:
    """Train every preset not finished yet into OUT/<preset>/ (video presets from `weights`, per-frame ones
    from `vit_weights`; a killed run is resumed), then tabulate them with the ensemble rows (`ensembles`:
    groups of run names; None = every finished row, [] = none) in OUT/ablation.md; returns the table."""
    if ensembles:
        check_groups(ensembles)  # a malformed group fails now, not after hours of training
    runs = Path(out)
    runs.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in presets:
        run = RunFolder(runs / name)
        if run.finished():
            print(f"== {name}: finished earlier, skipped ({run.summary})", flush=True)
        else:
            resume = run.started()
            print(f"== {name}: {'resuming' if resume else 'training'} -> {run.path}", flush=True)
            cfg = C.apply_overrides(C.get_preset(name), list(overrides))
            w = vit_weights if cfg.model in FRAME_MODELS else weights
            if not resume:  # the weights' backbone row between the preset and the overrides, as `train` does
                cfg = with_recipe(C.get_preset(name), list(overrides), w)
            run_training(cfg, data, run.path, w, resume=resume, preset=name, device=device,
                         resume_overrides=C.resume_overrides(list(overrides)))  # e.g. fewer num_workers
        rows.append({"name": name, **run.read_summary()})
    text = write_table(runs, rows + ensemble_rows(runs, rows, ensembles))
    print(text)
    print(f"wrote {runs / TABLE} and {runs / CHART}")
    return text
