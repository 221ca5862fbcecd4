"""The data layer: competition folders -> sampled, consistently augmented uint8 clips.

layout (the folder contract, frame naming), sampling (16 indices from 5-20 frames),
decode (Pillow, bad frames replaced), transforms + randaug + erasing (one crop/flip,
RandAugment and erasing decision per clip; TTA regions), dataset (VideoClipDataset,
repeated augmentation), split (grouped validation split), batch (what the GPU does to a
batch: normalise, cut TTA views; the copies of repeated augmentation side by side),
video (reading .avi/.mp4 clips), check (`check_data`: every problem of a dataset,
up front), extract (`extract_frames`: videos -> the competition's frame folders).
Imports nothing of finetune above it (errors and progress only).
"""
