"""Every public VideoMAE-family backbone, recognised from its weights file, with its official fine-tuning values.

`--weights` decides the architecture (`VideoViT.from_pretrained` reads it from
the file). What a bigger backbone changes in the recipe is a handful of
numbers the official scripts set per model size: layer-wise lr decay, drop
path, head dropout and the base lr, plus the micro-batch that fits a GPU. With
`backbone=auto` (the default) `train` peeks at the file's shapes (its header,
not its gigabytes) and applies the row of the table below between the preset
and your `--set` values, so `--set` still wins and `--set backbone=vit-l`
chooses a row by hand; `backbone=none` keeps the preset's values.

    name       weights (K400 top-1)                              layer  drop  head  base  batch x   official
                                                                 decay  path  drop  lr    accum     epochs
    vit-s      VideoMAE V1 ViT-S/16 (79.0)                       0.75   0.1   0.0   5e-4  16 x 2    150
    vit-s-v2   VideoMAE V2 ViT-S/16 distilled from ViT-g (83.7)  0.75   0.1   0.0   7e-4  16 x 2    (90)
    vit-b      VideoMAE V1 ViT-B/16 (81.5)                       0.75   0.1   0.0   5e-4   8 x 4    75
    vit-b-v2   VideoMAE V2 ViT-B/16 distilled from ViT-g (86.6)  0.75   0.1   0.0   7e-4   8 x 4    90
    vit-l      VideoMAE V1 ViT-L/16 (85.2)                       0.75   0.1   0.0   2e-3   4 x 8    35
    vit-h      VideoMAE V1 ViT-H/16 (86.6)                       0.75   0.2   0.5   1e-3   4 x 8 *  50
    vit-g      VideoMAE V2 ViT-g/14, K710 -> HMDB51 (88.1 HMDB)  0.9    0.35  0.5   5e-4   2 x 16 * 15

    * with gradient checkpointing. The base lr is per 256 clips (lr = blr x 32 / 256 here).

Sources, each a script of the official repositories (line numbers at the
snapshots read: MCG-NJU/VideoMAE 14ef8d8, OpenGVLab/VideoMAEv2 29eab1e):
V1 `scripts/kinetics/videomae_vit_{small,base,large,huge}_patch16_224_tubemasking_ratio_0.9_epoch_1600/finetune.sh`
(`--lr` line 31, `--epochs` line 34; huge: layer decay 0.75, epochs 50, drop path
0.2 and fc dropout 0.5 on lines 34-39, and `--use_checkpoint`; the others keep
`run_class_finetuning.py`'s defaults, drop path 0.1 and layer decay 0.75); V2
`scripts/finetune/vit_b_k400_ft.sh` (`--lr 7e-4` line 45, layer decay line 48, 90
epochs line 51) for the distilled ViT-S and ViT-B (there is no ViT-S script: the
ViT-B one serves), and `scripts/finetune/vit_g_k710_it_hmdb51_ft.sh` (lines 49-56:
lr 5e-4, layer decay 0.9, 15 epochs, drop path 0.35, head dropout 0.5): the only
official recipe for HMDB51 itself. The epochs column is the official run's (on
Kinetics, except ViT-g's): the presets keep the course notes' budget (20-30
epochs), which this table does not change.

Micro-batches keep 32 clips per optimizer step (the presets' batch) and fit a
16 GB T4 in 16-bit up to ViT-H (ViT-H with gradient checkpointing); ViT-g needs
at least 24 GB (its weights, gradients and AdamW moments alone are 16 GB).
`python -m benchmarks.activation_memory --backbones s,b,l,h,g` counts it;
docs/04_project71.md has the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from finetune import config as C
from finetune.errors import ConfigError


@dataclass(frozen=True)
class Backbone:
    name: str  # the value of `--set backbone=...`
    title: str  # what the weights are, for logs and summaries
    width: int  # the shapes that recognise it in a weights file: token width, blocks, patch side
    depth: int
    patch: int
    heads: int  # the rest of the architecture (official files do not store the head count: weights/heads.py)
    mlp: int  # MLP hidden width: 4 x width, but 6144 (48/11 x 1408) for ViT-g
    layer_decay: float
    drop_path: float
    head_dropout: float
    blr: float  # base lr per 256 clips
    batch_size: int  # clips per GPU per micro-batch ...
    accum_steps: int  # ... x accumulation = 32 clips per optimizer step
    grad_checkpointing: bool
    official_epochs: int

    def overrides(self) -> list[str]:
        """The row as `--set` pairs, applied between the preset and the user's own."""
        return [f"layer_decay={self.layer_decay}", f"drop_path={self.drop_path}",
                f"head_dropout={self.head_dropout}", f"blr={self.blr}", f"batch_size={self.batch_size}",
                f"accum_steps={self.accum_steps}", f"grad_checkpointing={self.grad_checkpointing}"]


BACKBONES = {b.name: b for b in (
    Backbone("vit-s", "VideoMAE V1 ViT-S/16", 384, 12, 16, 6, 1536, 0.75, 0.1, 0.0, 5e-4, 16, 2, False, 150),
    Backbone("vit-s-v2", "VideoMAE V2 ViT-S/16, distilled", 384, 12, 16, 6, 1536, 0.75, 0.1, 0.0, 7e-4, 16, 2, False,
             90),
    Backbone("vit-b", "VideoMAE V1 ViT-B/16", 768, 12, 16, 12, 3072, 0.75, 0.1, 0.0, 5e-4, 8, 4, False, 75),
    Backbone("vit-b-v2", "VideoMAE V2 ViT-B/16, distilled", 768, 12, 16, 12, 3072, 0.75, 0.1, 0.0, 7e-4, 8, 4, False,
             90),
    Backbone("vit-l", "VideoMAE V1 ViT-L/16", 1024, 24, 16, 16, 4096, 0.75, 0.1, 0.0, 2e-3, 4, 8, False, 35),
    Backbone("vit-h", "VideoMAE V1 ViT-H/16", 1280, 32, 16, 16, 5120, 0.75, 0.2, 0.5, 1e-3, 4, 8, True, 50),
    Backbone("vit-g", "VideoMAE V2 ViT-g/14", 1408, 40, 14, 16, 6144, 0.9, 0.35, 0.5, 5e-4, 2, 16, True, 15),
)}
CHOICES = ("auto", "none", *BACKBONES)  # the values of TrainConfig.backbone

# What tells a V2 file from a V1 file of the same shapes: the distilled models were
# trained on Kinetics-710 (a 710-class head), OpenGVLab's hub folders say VideoMAEv2_*,
# and people keep the release's name in the path.
V2_HINTS = ("videomaev2", "videomae2", "videomae_v2", "v2", "k710", "distill")


def recognise(fields: dict, config: dict | None, path) -> Backbone | None:
    """The table's row for a file whose VideoMAEConfig fields (from its shapes) are `fields`, or None
    (a toy or custom width: the preset's values stay)."""
    rows = [b for b in BACKBONES.values()
            if (b.width, b.depth, b.patch) == (fields["dim"], fields["depth"], fields["patch_size"])]
    if len(rows) <= 1:
        return rows[0] if rows else None
    words = str(path).lower().replace("-", "_").split("/")[-3:]  # the file and its folders
    v2 = (fields.get("num_classes") == 710 or str((config or {}).get("model_type", "")).startswith("VideoMAEv2")
          or any(hint in part for part in words for hint in V2_HINTS))
    return next(b for b in rows if b.name.endswith("-v2") == v2)


def peek(weights) -> tuple[dict, dict | None]:
    """(VideoMAEConfig fields, config.json) of a weights file, from its shapes alone: a
    safetensors header or a memory-mapped torch file, so a 4 GB file costs nothing."""
    from videomae.checkpoint import VIDEOMAE, convert_videomae
    from weights import read_checkpoint

    state, config = read_checkpoint(weights, VIDEOMAE.formats, lazy=True)
    _, fields = convert_videomae(state, config, weights, classifier=True)
    return fields, config


def recipe(weights, choice: str = "auto") -> Backbone | None:
    """The row `choice` names, or for 'auto' the one the weights file holds (None: keep the preset)."""
    if choice == "none" or (choice == "auto" and not weights):
        return None
    if choice != "auto":
        return BACKBONES[choice]
    fields, config = peek(weights)
    return recognise(fields, config, Path(weights))


def with_recipe(preset: C.TrainConfig, user: list[str], weights) -> C.TrainConfig:
    """The run's config: the preset, then the backbone's row (`backbone`), then the user's `--set` pairs,
    so the user's values win. The row's name is recorded as the config's `backbone`."""
    cfg = C.apply_overrides(preset, user)
    if cfg.backbone not in CHOICES:
        raise ConfigError(f"--set backbone: expected one of {', '.join(CHOICES)}, found {cfg.backbone!r}")
    if not cfg.model.startswith("videovit"):  # the toy model and the per-frame image ViTs: no table row
        return cfg
    from finetune.training.models import resolve_weights

    row = recipe(resolve_weights(weights) if weights else None, cfg.backbone)
    if row is None:
        return cfg
    print(f"backbone {row.name}: {row.title}; its official values {' '.join(row.overrides())} "
          "(--set values win)", flush=True)
    return C.apply_overrides(preset, row.overrides() + user + [f"backbone={row.name}"])
