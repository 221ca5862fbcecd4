"""The official VideoMAE fine-tuning regularisers (MCG-NJU/VideoMAE run_class_finetuning.py): RandAugment,
random erasing, repeated augmentation, Mixup/CutMix with its switch, label smoothing with Mixup.

Each one, when on, changes what the model sees; when off, changes nothing (the pre-existing path, bit for
bit); and does per frame or per clip what the official code does (shown on clips whose frames are one
picture). The weights' EMA: its update here; resume, predict and export in test_train_run.py, two processes in
test_train_ddp.py."""
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from finetune.config import TrainConfig, apply_overrides, get_preset, validate
from finetune.data.batch import collate_repeated
from finetune.data.dataset import VideoClipDataset
from finetune.data.erasing import MAX_AREA, MIN_AREA, random_erase
from finetune.data.layout import list_train_clips
from finetune.data.randaug import (
    OFFICIAL_RANDAUG,
    OPS,
    RAND_INCREASING_OPS,
    RandAugSpec,
    apply_randaug,
    parse_randaug,
    sample_randaug,
)
from finetune.data.transforms import IMAGENET_MEAN, IMAGENET_STD, AugConfig, normalize, sample_params, train_transform
from finetune.errors import ConfigError, RunError
from finetune.training.distributed import Dist
from finetune.training.ema import WeightEMA, chosen_state
from finetune.training.engine import make_loss_fn
from finetune.training.loaders import train_dataset, train_loader
from finetune.training.mixup import label_smoothing, mix_batch

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

TOY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "accum_steps=2",
       "hflip=0.5"]


def _picture(h=48, w=64, seed=1) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8))


def _one_picture(t=5) -> list[Image.Image]:
    """T frames showing one picture, as T distinct objects: nothing is shared through the per-object cache."""
    img = _picture()
    return [img.copy() for _ in range(t)]


def _moving(t=5) -> list[Image.Image]:
    """T different frames: a texture that brightens frame by frame."""
    base = np.asarray(_picture()).astype(np.int16) // 2
    return [Image.fromarray((base + 20 * k).astype(np.uint8)) for k in range(t)]


def _spatial_only(frames, size, cfg: AugConfig, rng) -> torch.Tensor:
    """What train_transform did before RandAugment and erasing: one crop + resize and one flip per clip."""
    w, h = frames[0].size
    p = sample_params(h, w, cfg, rng)
    out = [f.resize((size, size), Image.BILINEAR, box=(p.left, p.top, p.left + p.width, p.top + p.height))
           for f in frames]
    out = [f.transpose(Image.FLIP_LEFT_RIGHT) if p.flip else f for f in out]
    return torch.from_numpy(np.stack([np.asarray(f) for f in out])).permute(3, 0, 1, 2)   # (3, T, S, S)


def _frames_equal(x: torch.Tensor) -> bool:
    return all(torch.equal(x[:, 0], x[:, k]) for k in range(1, x.shape[1]))


@pytest.fixture(scope="module")
def clips(toy_dataset):
    data = toy_dataset(classes=3, clips_per_class=3, test_clips=1, height=24, width=32, frames=(5, 8), seed=4)
    return list_train_clips(data)[0]


def _first_batch(clips, *extra):
    """The first training micro-batch (uint8 videos, labels) the run's loader makes for TOY + extra."""
    cfg = apply_overrides(get_preset("exp2"), TOY + list(extra))
    loader, sampler = train_loader(train_dataset(clips, cfg), cfg, Dist(), cfg.batch_size * cfg.accum_steps)
    sampler.set_epoch(0)
    return next(iter(loader))


# -- off: nothing changes -----------------------------------------------------------------------------------

def test_defaults_are_the_path_before_the_regularisers(clips):
    """With every new field at its default, a clip is exactly one crop + flip (the transform before them), and
    the loader's batches are those of the dataset built the way it was built before them."""
    for seed in range(4):
        for frames in (_one_picture(), _moving()):
            got = train_transform(frames, 32, AugConfig(), np.random.default_rng(seed))
            assert torch.equal(got, _spatial_only(frames, 32, AugConfig(), np.random.default_rng(seed)))
    cfg = apply_overrides(get_preset("exp2"), TOY)
    assert (cfg.randaug, cfg.reprob, cfg.repeated_aug, cfg.mixup_switch_prob, cfg.ema) == ("", 0.0, 1, 0.5, 0.0)
    before = VideoClipDataset(clips, num_frames=cfg.num_frames, size=cfg.image_size, train=True,
                              aug=AugConfig(scale=tuple(cfg.aug_scale), flip=cfg.hflip), short_side=cfg.resize)
    now = train_dataset(clips, cfg)
    for i in range(len(clips)):
        (a, la), (b, lb) = before[i, 2], now[i, 2]
        assert torch.equal(a, b) and la == lb


# -- RandAugment --------------------------------------------------------------------------------------------

def test_randaug_parses_the_official_policy_and_refuses_others():
    assert parse_randaug(OFFICIAL_RANDAUG) == RandAugSpec(magnitude=7, num_ops=4, magnitude_std=0.5, increasing=True)
    assert parse_randaug("rand-m9-mstd0.5") == RandAugSpec(magnitude=9, num_ops=2, magnitude_std=0.5)
    for bad in ("auto-m7", "rand-m7-x4", "rand-m12", "rand-n"):
        with pytest.raises(ConfigError, match="randaug"):
            parse_randaug(bad)
    with pytest.raises(ConfigError, match="randaug"):
        validate(replace(TrainConfig(), randaug="rand-q1"))


def test_randaug_ops_and_levels_are_the_official_ones():
    """rand_augment.py `_RAND_INCREASING_TRANSFORMS` and its level functions, at magnitude 7 (f = 0.7)."""
    assert RAND_INCREASING_OPS == ["AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing",
                                   "SolarizeIncreasing", "SolarizeAdd", "ColorIncreasing", "ContrastIncreasing",
                                   "BrightnessIncreasing", "SharpnessIncreasing", "ShearX", "ShearY",
                                   "TranslateXRel", "TranslateYRel"]
    level = {name: OPS[name].level(0.7, -1) for name in RAND_INCREASING_OPS if OPS[name].level}
    assert level == pytest.approx({"Rotate": -21.0, "PosterizeIncreasing": 2, "SolarizeIncreasing": 77,
                                   "SolarizeAdd": 77, "ColorIncreasing": 0.37, "ContrastIncreasing": 0.37,
                                   "BrightnessIncreasing": 0.37, "SharpnessIncreasing": 0.37, "ShearX": -0.21,
                                   "ShearY": -0.21, "TranslateXRel": -0.315, "TranslateYRel": -0.315})
    img = _picture()
    for name in OPS:  # every op keeps the frame's size and mode
        out = OPS[name].fn(img, OPS[name].level(0.7, 1) if OPS[name].level else None)
        assert out.size == img.size and out.mode == "RGB", name


def test_randaug_draws_like_the_official_code():
    """4 ops drawn uniformly with replacement, each run with probability 1/2, magnitude ~ N(7, 0.5), random sign."""
    rng, spec = np.random.default_rng(0), parse_randaug(OFFICIAL_RANDAUG)
    draws = [sample_randaug(spec, rng) for _ in range(3000)]
    assert np.mean([len(d) for d in draws]) == pytest.approx(2.0, abs=0.06)  # Binomial(4, 1/2)
    angles = np.array([arg for d in draws for name, arg in d if name == "Rotate"])
    magnitudes = np.abs(angles) / 3  # 30 degrees at magnitude 10
    assert magnitudes.mean() == pytest.approx(7, abs=0.1) and magnitudes.std() == pytest.approx(0.5, abs=0.1)
    assert (angles < 0).mean() == pytest.approx(0.5, abs=0.1)
    assert {name for d in draws for name, _ in d} == set(RAND_INCREASING_OPS)


def test_randaug_is_one_draw_per_clip_applied_to_every_frame_before_the_crop():
    """The official AugmentOp draws once for the clip's list of frames and runs the same op on each; here the
    clip equals: sample the ops, run them on each frame, then the crop, with one generator, in that order."""
    cfg, spec = AugConfig(randaug=OFFICIAL_RANDAUG), parse_randaug(OFFICIAL_RANDAUG)
    changed = 0
    for seed in range(8):
        for frames in (_one_picture(), _moving()):
            got = train_transform(frames, 32, cfg, np.random.default_rng(seed))
            rng = np.random.default_rng(seed)
            ops = sample_randaug(spec, rng)
            want = _spatial_only([apply_randaug(f, ops) for f in frames], 32, cfg, rng)
            assert torch.equal(got, want)
            off = train_transform(frames, 32, AugConfig(), np.random.default_rng(seed))
            changed += not torch.equal(got, off)
        one = train_transform(_one_picture(), 32, cfg, np.random.default_rng(seed))
        assert _frames_equal(one)  # one picture in, one picture out: the same ops on every frame
    assert changed >= 12  # on: the clips differ (a draw where all 4 coins say no leaves a clip as it was)


def test_randaug_changes_the_batch(clips):
    on, off = _first_batch(clips, f"randaug={OFFICIAL_RANDAUG}"), _first_batch(clips)
    assert on[0].shape == off[0].shape and torch.equal(on[1], off[1]) and not torch.equal(on[0], off[0])


# -- random erasing -----------------------------------------------------------------------------------------

def _box(mask: torch.Tensor) -> tuple[int, int, int, int]:
    rows, cols = mask.any(1).nonzero(), mask.any(0).nonzero()
    return int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1


def test_erasing_is_one_box_on_every_frame_with_fresh_noise_per_frame():
    """The official `_erase_cube`: one coin, one box for the clip; the noise is drawn again for each frame."""
    frames, size = _one_picture(6), 40
    for seed in range(6):
        off = train_transform(frames, size, AugConfig(), np.random.default_rng(seed))
        on = train_transform(frames, size, AugConfig(reprob=1.0), np.random.default_rng(seed))
        changed = (on != off).any(0)                                  # (T, H, W)
        boxes = {_box(changed[k]) for k in range(len(frames))}
        assert len(boxes) == 1                                        # the same box on every frame
        top, bottom, left, right = boxes.pop()
        area = (bottom - top) * (right - left) / size**2
        assert MIN_AREA * 0.8 <= area <= MAX_AREA * 1.2               # 2%-33% of the frame (rounded sides)
        inside = on[:, :, top:bottom, left:right]
        assert not torch.equal(inside[:, 0], inside[:, 1])            # fresh noise on each frame
        on[:, :, top:bottom, left:right] = off[:, :, top:bottom, left:right]
        assert torch.equal(on, off)                                   # nothing outside the box changed


def test_erasing_noise_is_normal_after_normalisation_and_happens_with_its_probability():
    x = torch.zeros(3, 8, 64, 64, dtype=torch.uint8)
    rng = np.random.default_rng(0)
    hits = [not torch.equal(random_erase(x, 0.25, IMAGENET_MEAN, IMAGENET_STD, rng), x) for _ in range(800)]
    assert np.mean(hits) == pytest.approx(0.25, abs=0.05)
    erased = random_erase(torch.full((3, 8, 64, 64), 7, dtype=torch.uint8), 1.0, IMAGENET_MEAN, IMAGENET_STD, rng)
    z = normalize(erased, IMAGENET_MEAN, IMAGENET_STD)[erased != 7]    # the noise, as the model sees it
    assert abs(float(z.mean())) < 0.1 and 0.85 < float(z.std()) < 1.05  # N(0, 1) in the normalised space, clipped
    assert torch.equal(random_erase(x, 0.0, IMAGENET_MEAN, IMAGENET_STD, rng), x)


def test_erasing_changes_the_batch(clips):
    on, off = _first_batch(clips, "reprob=1"), _first_batch(clips)
    assert on[0].shape == off[0].shape and not torch.equal(on[0], off[0])


# -- repeated augmentation ----------------------------------------------------------------------------------

def test_repeated_augmentation_is_one_frame_sample_augmented_twice(clips):
    aug = AugConfig(scale=(0.3, 0.9), flip=0.5, randaug=OFFICIAL_RANDAUG, reprob=0.25)
    once = VideoClipDataset(clips, num_frames=4, size=16, aug=aug, short_side=16)
    twice = VideoClipDataset(clips, num_frames=4, size=16, aug=aug, short_side=16, repeats=2)
    reads = []
    read = twice._read
    twice._read = lambda i, idx: reads.append(idx) or read(i, idx)
    for i in range(len(clips)):
        (one, label), (two, label2) = once[i, 1], twice[i, 1]
        assert two.shape == (2, *one.shape) and label == label2
        assert torch.equal(two[0], one)            # the first copy IS the sample without repetition
        assert not torch.equal(two[0], two[1])     # the second: another augmentation ...
    assert len(reads) == len(clips)                # ... of the same frames: one frame sample per clip
    with pytest.raises(ValueError, match="repeats"):
        VideoClipDataset(clips, aug=None, repeats=2)


def test_repeated_augmentation_puts_the_copies_side_by_side_in_the_batch(clips):
    videos = torch.arange(2 * 2 * 3).view(2, 2, 3, 1, 1, 1).to(torch.uint8)   # (B, R, 3, T, H, W)
    v, y = collate_repeated([(videos[0], 4), (videos[1], 7)])
    assert torch.equal(v, videos.flatten(0, 1)) and y.tolist() == [4, 4, 7, 7]  # [c0a, c0b, c1a, c1b]
    (on, on_y), (off, off_y) = _first_batch(clips, "repeated_aug=2"), _first_batch(clips)
    assert on.shape == (2 * off.shape[0], *off.shape[1:]) and torch.equal(on_y, off_y.repeat_interleave(2))
    assert torch.equal(on[0::2], off)              # first copies: the batch without repetition
    assert not torch.equal(on[1::2], off)          # second copies: other augmentations


# -- Mixup / CutMix switch, label smoothing with Mixup --------------------------------------------------------

class Recorder(nn.Module):
    """Logs the videos it is given: what the model sees after the loss function's mixing."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.head = nn.Linear(1, num_classes)
        self.seen = []

    def forward(self, x):
        self.seen.append(x.clone())
        return self.head(x.mean(dim=(1, 2, 3, 4)).unsqueeze(-1))


def _step(cfg, x, y, seed=0, stage=1):
    """(videos the model saw, targets) of one loss-function call."""
    model = Recorder(3)
    _, targets, _ = make_loss_fn(cfg, 3, torch.Generator().manual_seed(seed))(model, x, y, stage)
    return model.seen[0], targets


def test_mixup_switch_prob_decides_mixup_or_cutmix_in_the_batch():
    x, y = torch.rand(4, 3, 2, 16, 16), torch.tensor([0, 1, 2, 0])
    cfg = replace(TrainConfig(), mixup=0.8, cutmix=1.0)
    boxes = 0
    for seed in range(6):
        mixed, _ = _step(replace(cfg, mixup_switch_prob=0.0), x, y, seed)
        cut, _ = _step(replace(cfg, mixup_switch_prob=1.0), x, y, seed)
        assert not (mixed == x).any()                                   # Mixup: every value is a blend
        assert ((cut == x) | (cut == x.flip(0))).all()                  # CutMix: each value from a clip or its partner
        boxes += bool((cut != x).any())
        # the default 0.5 is the call the engine made before the field existed, bit for bit
        default, _ = _step(cfg, x, y, seed)
        before, _ = mix_batch(x, y, 3, 0.8, 1.0, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(default, before)
    assert boxes >= 5


def test_label_smoothing_is_applied_together_with_mixup_in_stage_1():
    x, y = torch.rand(4, 3, 2, 8, 8), torch.tensor([0, 1, 2, 0])
    cfg = replace(TrainConfig(), mixup=0.8)
    seen, plain = _step(cfg, x, y)
    seen_s, smooth = _step(replace(cfg, label_smoothing=0.1), x, y)
    assert torch.equal(seen, seen_s)                                    # the same mix ...
    assert torch.allclose(smooth, label_smoothing(plain, 0.1))          # ... with smoothed targets
    assert smooth.min() >= 0.1 / 3 - 1e-6 and not torch.equal(smooth, plain)
    official = get_preset("official")
    assert (official.mixup, official.cutmix, official.label_smoothing, official.stage2_epochs) == (0.8, 1.0, 0.1, 0)


# -- the config ----------------------------------------------------------------------------------------------

def test_official_preset_is_videomae_s_recipe():
    """scripts/ucf101/...epoch_3200/finetune.sh and run_class_finetuning.py's defaults (sources: finetune/config.py)."""
    c = get_preset("official")
    assert (c.layer_decay, c.drop_path, c.head_dropout, c.blr, c.weight_decay, c.betas) == (
        0.7, 0.2, 0.5, 5e-4, 0.05, (0.9, 0.999))
    assert (c.randaug, c.reprob, c.repeated_aug, c.mixup_switch_prob) == ("rand-m7-n4-mstd0.5-inc1", 0.25, 2, 0.5)
    assert c.min_lr == pytest.approx(1e-5 * c.batch_size * c.accum_steps / 256)  # --min_lr is per 256 clips too
    assert c.aug_scale == (0.08, 1.0) and c.backbone == "none" and c.ema == 0 and c.clip_grad == 0
    assert c.batch_size * c.accum_steps == get_preset("exp4").batch_size * get_preset("exp4").accum_steps
    validate(c)


@pytest.mark.parametrize("pair, message", [
    ("reprob=1.5", "reprob is a probability"), ("mixup_switch_prob=-0.1", "mixup_switch_prob is a probability"),
    ("repeated_aug=0", "repeated_aug"), ("ema=1", "ema"), ("randaug=rand-m7-n2", "aug=true")])
def test_bad_regulariser_values_are_config_errors(pair, message):
    extra = ["aug=false"] if pair.startswith("randaug") else []
    with pytest.raises(ConfigError, match=message):
        validate(apply_overrides(get_preset("exp2"), [pair] + extra))


# -- the weights' moving average ------------------------------------------------------------------------------

def test_ema_moves_each_float_weight_towards_the_trained_one_and_copies_counters():
    model = nn.BatchNorm1d(2)  # float weights and buffers, and an integer counter
    ema = WeightEMA(model, 0.9)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
        model.num_batches_tracked += 3
    ema.update()
    assert torch.allclose(ema.state_dict()["weight"], start["weight"] + 0.1)  # 0.9 x old + 0.1 x new
    assert torch.equal(ema.state_dict()["running_mean"], start["running_mean"])
    assert int(ema.state_dict()["num_batches_tracked"]) == 3
    assert not ema.model.weight.requires_grad and ema.model.weight is not model.weight
    assert chosen_state({"model": start})[1] == "raw"
    with pytest.raises(RunError, match="weights_used='ema'"):
        chosen_state({"model": start, "weights_used": "ema"})
