"""One training config and the course notes' experiments as named presets (course notes IV.3).

`TrainConfig` holds every knob of a fine-tuning run; each field says why it has
its value. The presets are the rows of the course notes' incremental ablation
(IV.3.1), each one adding a single idea to the previous row:

    exp1   VideoMAE-B (K400 weights), vanilla              -> 81.76% in the course notes
    exp2   + the same crop/flip on every frame              -> 83.73%
    exp3   + Mixup alpha 0.8, alone (no label smoothing)    -> 84.31%
    exp4   + two stages (stage 1: exp3's Mixup; stage 2: the
             last epochs without Mixup, label smoothing 0.1
             at a very low constant LR) + 6-view TTA        -> 84.90%
    exp4-30ep  the same for 30 epochs                       -> 85.10%
    exp4-8f    30 epochs, 8 frames instead of 16            -> 82.55%, ~2x faster
    vit-s-frames / vit-b-frames  the organizers' per-frame image ViT (IV.1-2)
    official   VideoMAE's own fine-tuning recipe (its UCF101 script): RandAugment, random
               erasing, repeated augmentation, Mixup + CutMix with label smoothing, layer
               decay 0.7, drop path 0.2, head dropout 0.5; the source of each value is beside it

Label smoothing enters with Exp 4's second stage (`stage2_smoothing`), as in the
course notes' table, so each row adds one idea. The official VideoMAE recipe uses
label smoothing 0.1 together with Mixup (the `official` preset does); `--set
label_smoothing=0.1` adds it to stage 1 of any preset.

Evaluation follows the official VideoMAE fine-tuning (`--short_side_size 224` in
MCG-NJU/VideoMAE `run_class_finetuning.py`): the short side is resized to 224
and the crops (1 centre, or 3 along the long side for TTA) are cut at 224. The
course notes' best run used the ImageNet habit, short side 256 then crop 224:
`--set resize=256` reproduces that.

Any field can be overridden: `--set epochs=3 lr=1e-4` (see `apply_overrides`).
The config is printed at the start of a run and saved as RUN/config.json.
"""
import json
from dataclasses import asdict, dataclass, field, fields, replace

from finetune.errors import ConfigError


@dataclass
class TrainConfig:
    # -- model ---------------------------------------------------------------
    model: str = "videovit_base"  # videovit_base | tiny (CPU demo) | vit_s_frames | vit_b_frames | vit_tiny_frames
    #   (with --weights a video model takes the file's architecture: ViT-S to ViT-g)
    backbone: str = "auto"  # the official recipe row of the weights' backbone (finetune/backbones.py): auto (from
    #   the file's shapes), none (the preset's values as they are), or a row: vit-s, vit-b-v2, vit-l, vit-g, ...
    num_frames: int = 16  # VideoMAE was pretrained on 16 frames; 8 is ~2x faster but -2.5 points
    #   (course notes IV.3.3)
    pos_table_frames: int = 0  # 0: position table for num_frames; 16 with 8 frames: each token gets the row of
    #   the time it covers in a 16-frame clip (a test of the 8-frame gap, docs/03_videomae.md)
    image_size: int = 224  # the K400 checkpoints' resolution: 14x14 patches per frame
    resize: int = 224  # eval: short side -> 224, then crop 224 (official VideoMAE `--short_side_size 224`: the K400
    #   weights were tested so); the course notes used 256 -> 224 (ImageNet habit, 12% zoom): `--set resize=256`
    drop_path: float = 0.1  # stochastic depth: the official fine-tuning value for ViT-B
    head_dropout: float = 0.0  # official 0.0 on K400; 0.5 on tiny UCF101, not needed with Mixup here
    grad_checkpointing: bool = False  # recompute activations in backward (~1/3 more compute); batch 8 at 16x224
    #   fits 16 GB without it (docs/04_project71.md)
    compile: bool = False  # torch.compile the model (after DDP wraps it); unmeasured on GPU here (no gain on a CPU
    #   forward, docs/benchmarks.md)
    # -- data ----------------------------------------------------------------
    val_fraction: float = 0.1  # 10% of the source videos held out (grouped: clips of one video stay together)
    aug: bool = True  # consistent spatial aug: one random crop + flip for all frames of a clip (Exp 2)
    aug_scale: tuple = (0.5, 1.0)  # crop area range; wider than the organizers' 0.8-1.0 because Exp 1 over-fits
    hflip: float = 0.5  # mirror probability: no HMDB51 class depends on left vs right (0 for the toy data: it does)
    randaug: str = ""  # RandAugment policy, "" = off as in the course notes' rows; official "rand-m7-n4-mstd0.5-inc1"
    #   (run_class_finetuning.py --aa): 4 of 15 ops at magnitude ~N(7, 0.5), the same on every frame (data/randaug.py)
    reprob: float = 0.0  # random erasing per clip, 0 = off as in the course notes' rows; official 0.25 (--reprob,
    #   mode pixel, one box): one box on every frame, fresh noise per frame (finetune/data/erasing.py)
    repeated_aug: int = 1  # augmented copies of each clip in a batch, 1 = off; official 2 (--num_sample): two views
    #   of one frame sample per optimizer step; batch_size counts clips, so a micro-batch holds batch_size x this
    mean_std: str = "imagenet"  # imagenet for VideoMAE checkpoints; "half" (0.5/0.5) for the organizers' ViT
    num_workers: int = -1  # data loading processes; -1 = the cores this process has, minus one, at most 8
    prefetch: int = 2  # batches each loading process prepares ahead (DataLoader's prefetch_factor, its default);
    #   1 keeps fewer clips waiting in RAM if the out-of-memory killer stops a worker
    # -- optimisation (official VideoMAE fine-tuning recipe, MCG-NJU/VideoMAE) -
    epochs: int = 20  # the course notes' ablation budget (IV.3.1); exp4-30ep uses 30
    batch_size: int = 8  # clips per GPU per micro-batch: ViT-B 16x224 in 16-bit fits a 16 GB T4 (docs/04_project71.md)
    accum_steps: int = 4  # 8 x 4 = 32 clips per optimizer step, as the organizers' 16 x 4 halved for video
    blr: float = 5e-4  # base lr per 256 clips; lr = blr x total_batch / 256 (official linear scaling rule)
    lr: float = 0.0  # absolute peak lr; 0 = derive it from blr
    min_lr: float = 1e-6  # the cosine's floor (official)
    warmup_epochs: float = 2.0  # official 5 of 35-100 epochs; 2 of the course notes' 20 keep the same share
    weight_decay: float = 0.05  # official; never applied to norms, biases or position / cls tokens
    layer_decay: float = 0.75  # lr x 0.75^(depth+1-layer): lower layers keep their K400 features
    head_lr_mult: float = 1.0  # extra factor on the head's lr (the organizers' ViT uses 5e-4 / 1e-4 = 5)
    betas: tuple = (0.9, 0.999)  # AdamW betas of the official fine-tuning script
    clip_grad: float = 0.0  # 0 = off (official); set e.g. 5.0 if fp16 runs diverge
    # -- regularisation: Exp 3 / Exp 4 ---------------------------------------
    mixup: float = 0.0  # Mixup alpha; 0.8 from Exp 3 on (official value); 0 = off
    cutmix: float = 0.0  # CutMix alpha; the official recipe adds 1.0, the course notes used Mixup only
    mixup_switch_prob: float = 0.5  # with both on, the share of batches that get CutMix instead of Mixup (official
    #   --mixup_switch_prob 0.5: half and half)
    label_smoothing: float = 0.0  # stage 1; 0 in every preset: the course notes bring it in with Exp 4's stage 2
    #   (the official recipe uses 0.1 together with Mixup: --set label_smoothing=0.1)
    stage2_epochs: int = 0  # Exp 4: the last epochs without Mixup, label smoothing only, at a very low lr
    stage2_lr: float = 5e-6  # "very low LR" of the second stage, constant, before layer decay
    stage2_smoothing: float = 0.1  # label smoothing of the second stage (only used when stage2_epochs > 0)
    tta: str = "center"  # eval views: "center" (1), "tta6" (3 crops x 2 flips, Exp 4), "tta3" (crops only)
    ema: float = 0.0  # decay of an exponential moving average of the weights, updated every optimizer step; 0 = off
    #   (official --model_ema is off). decay^steps is the share the starting weights keep: ~3,500 steps (20 epochs)
    #   leave 49% at 0.9998 but 3% at 0.999, so pick 1 - decay near 3-5 / steps. predict uses it if it validates better
    # -- run control ---------------------------------------------------------
    precision: str = "auto"  # auto: bf16 on GPUs of compute capability >= 8.0, fp16 + loss scaling below; fp32 on CPU
    max_bad_steps: int = 25  # optimizer steps in a row with non-finite gradients (each skipped) before the run stops
    log_every: int = 10  # optimizer steps between progress-line updates of loss/acc (each read is a host sync)
    seed: int = 0  # one seed for the split, the init of new layers, the sampling order and the augmentation
    save_every: int = 200  # optimizer steps between mid-epoch checkpoints, so --resume loses little work
    keep_best: bool = False  # also keep RUN/best.pt: the weights of the epoch of best val accuracy; 1x the weights
    #   on disk beside checkpoint.pt's 3x (weights + AdamW moments; docs/04_project71.md, "Disk")
    eval_every: int = 1  # epochs between validation passes
    stop_after_steps: int = 0  # debugging/tests: stop abruptly after this many optimizer steps (simulates a kill)
    limit_train_batches: int = 0  # smoke tests: micro-batches per epoch (0 = all)
    extra: dict = field(default_factory=dict)  # free-form notes saved with the run (e.g. the command line)

    @property
    def num_stage1_epochs(self) -> int:
        return self.epochs - self.stage2_epochs


# each row = the previous row + one idea (the course notes' incremental table)
_EXP1 = TrainConfig(aug=False)
_EXP2 = replace(_EXP1, aug=True)
_EXP3 = replace(_EXP2, mixup=0.8)
_EXP4 = replace(_EXP3, stage2_epochs=3, tta="tta6")  # stage 2 uses stage2_lr / stage2_smoothing (defaults)
PRESETS: dict[str, TrainConfig] = {
    "exp1": _EXP1,  # vanilla: no augmentation, no Mixup, plain cross-entropy
    "exp2": _EXP2,  # + consistent spatial augmentation
    "exp3": _EXP3,  # + Mixup alpha 0.8, alone
    "exp4": _EXP4,  # + 2 stages (last 3 of 20 epochs: no Mixup, label smoothing 0.1, lr 5e-6) + 6-view TTA
    "exp4-30ep": replace(_EXP4, epochs=30, stage2_epochs=5),
    "exp4-8f": replace(_EXP4, epochs=30, stage2_epochs=5, num_frames=8),
    # VideoMAE's own fine-tuning recipe, next to the course notes' rows: MCG-NJU/VideoMAE
    # scripts/ucf101/videomae_vit_base_patch16_224_tubemasking_ratio_0.75_epoch_3200/finetune.sh (the official
    # small-dataset script; "sh:N" = its line N) and the defaults of run_class_finetuning.py it keeps ("rcf:N").
    "official": replace(
        TrainConfig(),
        backbone="none",  # these values, not the backbone table's Kinetics row (finetune/backbones.py)
        layer_decay=0.7, drop_path=0.2, head_dropout=0.5,  # sh:30, sh:37, sh:36 (--fc_drop_rate)
        blr=5e-4, weight_decay=0.05, betas=(0.9, 0.999),  # sh:27 (x total batch / 256, rcf:406), sh:32, sh:31
        min_lr=1.25e-6,  # sh:29 --min_lr 1e-5 is per 256 clips as well (rcf:407): 1e-5 x 32 / 256
        # 32 clips per step as the rows above; sh:19 + sh:25 put 16 clips x 2 copies on each of 8 GPUs; here
        # 4 x 2 copies = 8 clips per micro-batch, what the other presets hold on a 16 GB T4
        batch_size=4, accum_steps=8,
        # sh:33 trains 100 epochs; 30 here, the course notes' longest run: with 2 copies of every clip an epoch
        # costs two of exp4's, so 30 epochs are ~4.2 h on Kaggle's 2x T4 (8.4 h on one T4; docs/04_project71.md
        # estimates), 100 would be ~14 h (28 h), beyond a 12-hour session.
        # Warmup keeps the official share: 5 of 100 epochs (rcf:81) -> 1.5 of 30.
        epochs=30, warmup_epochs=1.5,
        aug_scale=(0.08, 1.0),  # kinetics.py:189-192: RandomResizedCrop area 8-100%, aspect 3/4-4/3; flip 0.5 (:200)
        randaug="rand-m7-n4-mstd0.5-inc1", reprob=0.25, repeated_aug=2,  # rcf:91 (--aa), rcf:105, sh:25 (--num_sample)
        mixup=0.8, cutmix=1.0, mixup_switch_prob=0.5, label_smoothing=0.1,  # rcf:115, rcf:117, rcf:123, rcf:93
        tta="tta3",  # sh:35 --test_num_crop 3; its 5 clips (sh:34) are `predict --clips 5`; no 2nd stage, no EMA
    ),
    # The organizers' baseline (docs/04_project71.md): per-frame ImageNet ViT, mean over 16
    # frames, linear head; lr 1e-4 backbone / 5e-4 head, batch 16 x 4, 10 epochs.
    "vit-s-frames": replace(
        _EXP1, model="vit_s_frames", aug=True, mean_std="half", epochs=10, batch_size=16, accum_steps=4,
        lr=1e-4, head_lr_mult=5.0, layer_decay=1.0, drop_path=0.0, warmup_epochs=1.0, resize=224, aug_scale=(0.8, 1.0),
    ),
    "vit-b-frames": replace(
        _EXP1, model="vit_b_frames", aug=True, mean_std="half", epochs=10, batch_size=16, accum_steps=4,
        lr=1e-4, head_lr_mult=5.0, layer_decay=1.0, drop_path=0.0, warmup_epochs=1.0, resize=224, aug_scale=(0.8, 1.0),
    ),
}
ABLATION = ["exp1", "exp2", "exp3", "exp4"]  # the course notes' table, in order
VIEWS = {"center": 1, "tta3": 3, "tta6": 6}  # eval mode -> views per clip
# the fields `--resume` may change: how a step's clips are loaded and cut into micro-batches, not how many
# clips a step has (fixed when the run started) nor what is learnt; what a killed worker asks to lower
RESUME_FIELDS = ("num_workers", "batch_size", "prefetch")


def _parse_value(name: str, text: str, current):
    """Convert `text` to the type of the field's current value."""
    if isinstance(current, bool):
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"--set {name}: expected true/false, found {text!r}")
    if isinstance(current, tuple):
        try:
            return tuple(float(v) for v in text.strip("()").split(","))
        except ValueError:
            raise ConfigError(f"--set {name}: expected numbers like 0.5,1.0, found {text!r}") from None
    if isinstance(current, dict):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise ConfigError(f"--set {name}: expected a JSON object like {{\"k\": 1}}, found {text!r}")
        return value
    try:
        if isinstance(current, int):
            value = float(text)
            if value != int(value):
                raise ValueError
            return int(value)
        return type(current)(text)
    except (ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise ConfigError(f"--set {name}: expected {type(current).__name__}, found {text!r}") from None


def resume_overrides(pairs: list[str]) -> list[str]:
    """The `--set` pairs a resumed run takes: those of RESUME_FIELDS (the rest keep the run's saved values)."""
    return [p for p in pairs if p.split("=", 1)[0].strip().replace("-", "_") in RESUME_FIELDS]


def apply_overrides(cfg: TrainConfig, pairs: list[str]) -> TrainConfig:
    """`["epochs=3", "lr=1e-4"]` -> a new config with those fields replaced."""
    names = {f.name for f in fields(TrainConfig)}
    changes = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--set expects name=value, found {pair!r}")
        name, text = pair.split("=", 1)
        name = name.strip().replace("-", "_")
        if name not in names:
            raise ConfigError(f"--set {name}: no such config field; fields are: {', '.join(sorted(names))}")
        changes[name] = _parse_value(name, text.strip(), getattr(cfg, name))
    return replace(cfg, **changes)


def as_overrides(fields: dict) -> list[str]:
    """`{"epochs": 30, "aug_scale": (0.8, 1.0)}` -> `["epochs=30", "aug_scale=0.8,1.0"]`: Python values as the
    `--set` text `apply_overrides` reads, so the API's field shortcuts are checked exactly as the command line's."""
    def text(value) -> str:
        if isinstance(value, (tuple, list)):
            return ",".join(str(v) for v in value)
        return json.dumps(value) if isinstance(value, dict) else str(value)

    return [f"{name}={text(value)}" for name, value in fields.items()]


def get_preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; expected one of: {', '.join(PRESETS)}")
    return replace(PRESETS[name])


def validate(cfg: TrainConfig) -> None:
    _validate_regularisers(cfg)
    if not 0 <= cfg.stage2_epochs < cfg.epochs:
        raise ConfigError(f"stage2_epochs must be in [0, epochs={cfg.epochs}), found {cfg.stage2_epochs}")
    if cfg.tta not in VIEWS:
        raise ConfigError(f"tta must be one of {', '.join(VIEWS)}, found {cfg.tta!r}")
    if cfg.precision not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"precision must be auto, bf16, fp16 or fp32, found {cfg.precision!r}")
    if cfg.batch_size < 1 or cfg.accum_steps < 1:
        raise ConfigError(f"batch_size and accum_steps must be >= 1, found {cfg.batch_size}, {cfg.accum_steps}")
    if cfg.prefetch < 1:
        raise ConfigError(f"prefetch must be >= 1 (batches each loading process prepares), found {cfg.prefetch}")
    if cfg.max_bad_steps < 1 or cfg.log_every < 1:
        raise ConfigError(f"max_bad_steps and log_every must be >= 1, found {cfg.max_bad_steps}, {cfg.log_every}")


def _validate_regularisers(cfg: TrainConfig) -> None:
    """The ranges of the official recipe's regularisers; the ones that augment clips need `aug`."""
    if cfg.randaug:
        from finetune.data.randaug import parse_randaug  # loads torch and Pillow: only when a policy is given

        parse_randaug(cfg.randaug)
    for name in ("reprob", "mixup_switch_prob"):
        if not 0 <= getattr(cfg, name) <= 1:
            raise ConfigError(f"{name} is a probability: expected a value in [0, 1], found {getattr(cfg, name)}")
    if cfg.repeated_aug < 1:
        raise ConfigError(f"repeated_aug: expected copies per clip >= 1 (1 = off), found {cfg.repeated_aug}")
    if not cfg.aug and (cfg.randaug or cfg.reprob > 0 or cfg.repeated_aug > 1):
        raise ConfigError(f"randaug={cfg.randaug!r}, reprob={cfg.reprob}, repeated_aug={cfg.repeated_aug} augment "
                          "training clips: expected aug=true with them, found aug=false (Exp 1's fixed transform)")
    if not 0 <= cfg.ema < 1:
        raise ConfigError(f"ema: expected a decay in [0, 1) (0 = off, e.g. 0.999), found {cfg.ema}")


def to_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)


def from_dict(d: dict) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    unknown = set(d) - names
    if unknown:
        raise ConfigError(f"config has unknown fields {sorted(unknown)} (expected a subset of TrainConfig)")
    d = dict(d)
    for name in ("betas", "aug_scale"):
        if name in d:
            d[name] = tuple(d[name])
    return TrainConfig(**d)


def describe(cfg: TrainConfig, preset: str = "") -> str:
    """The config as aligned `name = value` lines, for the start of a run."""
    lines = [f"config{f' (preset {preset})' if preset else ''}:"]
    lines += [f"  {f.name:<22} = {getattr(cfg, f.name)!r}" for f in fields(cfg)]
    return "\n".join(lines)

