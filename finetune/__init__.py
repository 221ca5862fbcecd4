"""finetune: the Project 7.1 competition pipeline (HMDB51 frames, 51 classes), `python -m finetune --help`.

    finetune/
      config.py     TrainConfig, the seed's Exp 1-4 presets, `--set` overrides
      cli.py        `python -m finetune COMMAND`; a user's mistake ends in one `error:` line
      errors.py     the mistakes a user can fix (data, config, run folder)
      progress.py   a bar in a terminal, a line per 10% in a log
      data/         from folders of JPEGs to uint8 clips (imports nothing else of finetune but errors)
      training/     models, optimiser, schedule, Mixup, the training loop, DDP, checkpoints
      commands/     one module per command: train, predict, ablate, demo, check_data, make_toy_data

Only the light, torch-free layout helpers are imported here; import the rest
from their modules (e.g. `from finetune.data.dataset import VideoClipDataset`).
"""
from finetune.data.layout import CLASSES_HMDB51, Clip, find_data_root, list_frames, list_test_clips, list_train_clips
from finetune.data.sampling import sample_indices

__all__ = ["CLASSES_HMDB51", "Clip", "find_data_root", "list_frames", "list_test_clips", "list_train_clips",
           "sample_indices"]
