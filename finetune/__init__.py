"""finetune: the Project 7.1 competition pipeline (HMDB51 frames, 51 classes; the seed's section IV).

Data layer: `layout` (reading the folders), `sampling` (16 frames from 5-20),
`decode` + `transforms` + `randaug` (consistent clip augmentation, TTA views),
`dataset` (VideoClipDataset), `mixup`, `split` (grouped validation split),
`toydata` and `checkdata` (command-line tools). Run `python -m finetune --help`.

Only the light, torch-free layout helpers are imported here; import the rest
from their modules (e.g. `from finetune.dataset import VideoClipDataset`).
"""
from finetune.layout import CLASSES_HMDB51, Clip, find_data_root, list_frames, list_test_clips, list_train_clips
from finetune.sampling import sample_indices

__all__ = ["CLASSES_HMDB51", "Clip", "find_data_root", "list_frames", "list_test_clips", "list_train_clips",
           "sample_indices"]
