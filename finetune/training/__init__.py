"""Training: the network, its optimiser and schedule, the loop, several GPUs, and what a run saves.

models + frame_vit (which network, from which weights), optim (AdamW, layer decay),
schedule (warmup, cosine, the second stage), mixup, engine (one epoch, evaluation,
precision), loaders (datasets and DataLoaders of a run), distributed (DDP, the
step sampler), checkpoint (atomic, safe-to-load saves), runlog (metrics, curves),
memory (bytes saved for backward).
"""
