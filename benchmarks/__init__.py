"""Speed and memory benchmarks, each one module run from the repository root.

    python -m benchmarks.loader_speed       clips/s of the training data pipeline, bytes shipped per clip
    python -m benchmarks.activation_memory  VideoMAE ViT-B training memory, counted on a CPU
    python -m benchmarks.imagemae_encoder   MAE's visible-only encoder against all 196 tokens (SimMIM-style)
    python -m benchmarks.videomae_vs_hf     our VideoMAE ViT-B against transformers' with the same weights
    python -m benchmarks.cpu_kernels        the kernel-level choices behind vit/blocks.py at ViT-B's shapes
    python -m benchmarks.gpu_check          one GPU: training and TTA clips/s, memory, MFU, syncs, ours vs theirs

`--help` on each gives its options; docs/benchmarks.md has the results, each
with the command that measured it. The repository root must be the current
directory: the package `benchmarks` is not installed with the others, and the
benchmarks that measure memory in a fresh subprocess start it there.
"""
