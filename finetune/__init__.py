"""finetune: the Project 7.1 competition pipeline (HMDB51 frames, 51 classes), as a library and `python -m finetune`.

The Python API is the command line's own functions, with the same defaults and
the same errors (a `finetune.errors.UserError` kind, or `weights.CheckpointError`
for weights that do not load), for a notebook or a script:

    from finetune import make_toy_data, train, predict

    data = make_toy_data("toy")                                  # a small dataset in the competition layout
    summary = train(data, "runs/exp4", weights="videomae-k400", preset="exp4", epochs=30)
    summary = train(data, "runs/exp4", resume=True)              # continue a killed run
    result = predict("runs/exp4", data, "submission.csv")        # TTA as the run was configured

    train(data, out, weights=None, preset="exp4", overrides=(), *, resume=False, device="auto", **fields)
        `overrides`: `--set` pairs ("lr=1e-4"); `fields`: shortcuts for them (epochs=30)
    predict(run, data, out="submission.csv", tta=None, probs=False, batch_size=None, num_workers=None,
            device="auto", clips=1, checkpoint="last")
    ensemble(probs, out="submission.csv", weights=None, save_probs=False)
    report(run, data=None, worst=8, frames=4)
    ablate(data, weights, out, presets=("exp1", "exp2", "exp3", "exp4"), overrides=(), device="auto",
           vit_weights=None, ensembles=None)
    export(run, out)
    demo(out="outputs/finetune_demo", seed=0)
    check_data(path, min_clips=5, progress=True) -> Report     (`.problems`, `.errors`)
    extract_frames(videos, out, ext="jpg", quality=95, fps=None, show_progress=True)
    make_toy_data(out, classes=10, clips_per_class=8, test_clips=20, seed=0, ..., videos=None)
    pretrain_toy(data, out, epochs=8, ...)

`import finetune` stays light (no torch): these names are imported on first use
(PEP 562 `__getattr__` below). The layout helpers are imported at once.

    finetune/
      config.py        TrainConfig, the course notes' Exp 1-4 presets, `--set` overrides
      errors.py        the mistakes a user can fix (data, config, run folder)
      run_folder.py    every file a run folder holds, named once; its readers and writers
      progress.py      a bar in a terminal, a line per 10% in a log
      data/            from folders of JPEGs or videos to uint8 clips; check.py (check_data), extract.py
                       (extract_frames) (imports nothing of finetune above it)
      training/        models, optimiser, schedule, Mixup, the epoch loop, DDP, checkpoint state, metrics, report
      training_run.py  train: one run, as setup (run_setup.py) / loop / finish
      prediction.py    predict, ensemble, report: what a finished run is used for
      ablation.py      ablate: the course notes' table, re-run
      toy.py           make_toy_data, pretrain_toy: the pipeline without a download
      demo_run.py      demo: all of it on a laptop CPU
      hf_export.py     export: a run as a transformers folder
      cli.py           `python -m finetune COMMAND`; a user's mistake ends in one `error:` line
      commands/        one module per command: parse the arguments, call the function above, print
"""
import importlib

from finetune.data.layout import CLASSES_HMDB51, Clip, find_data_root, list_frames, list_test_clips, list_train_clips
from finetune.data.sampling import sample_indices

API = {  # name -> the module that defines it; a module is never named like a function (it would shadow it)
    "train": "finetune.training_run",
    "predict": "finetune.prediction", "ensemble": "finetune.prediction", "report": "finetune.prediction",
    "ablate": "finetune.ablation",
    "demo": "finetune.demo_run",
    "export": "finetune.hf_export",
    "check_data": "finetune.data.check",
    "extract_frames": "finetune.data.extract",
    "make_toy_data": "finetune.toy", "pretrain_toy": "finetune.toy",
}

__all__ = ["CLASSES_HMDB51", "Clip", "find_data_root", "list_frames", "list_test_clips", "list_train_clips",
           "sample_indices", *API]


def __getattr__(name: str):
    """`finetune.train` and `from finetune import train`: the function, its module imported on first use."""
    if name not in API:
        raise AttributeError(f"module 'finetune' has no attribute {name!r}")
    value = getattr(importlib.import_module(API[name]), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(API))
