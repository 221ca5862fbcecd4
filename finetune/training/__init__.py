"""Training: the network, its optimiser and schedule, the loop, several GPUs, and what a run saves.

models + frame_vit (which network, from which weights), optim (AdamW, layer decay),
schedule (warmup, cosine, the second stage), mixup, engine (one epoch, evaluation,
precision), loaders (datasets and DataLoaders of a run), distributed (DDP, the
step sampler), checkpoint (the random state a resumable checkpoint holds; the file
itself is written by finetune/run_folder.py), runlog (metrics, curves), probs +
val_probs + report (saved probabilities, the final validation pass, the error
analysis), memory (bytes saved for backward). The run that puts them together:
finetune/training_run.py.
"""
