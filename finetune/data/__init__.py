"""The data layer: competition folders -> sampled, consistently augmented uint8 clips.

layout (the folder contract, frame naming), sampling (16 indices from 5-20 frames),
decode (Pillow, bad frames replaced), transforms + randaug (one crop/flip/colour
decision per clip; TTA regions), dataset (VideoClipDataset), split (grouped
validation split), batch (what the GPU does to a batch: normalise, cut TTA views),
video (reading .avi/.mp4 clips), check (`check_data`: every problem of a dataset,
up front), extract (`extract_frames`: videos -> the competition's frame folders).
Imports nothing of finetune above it (errors and progress only).
"""
