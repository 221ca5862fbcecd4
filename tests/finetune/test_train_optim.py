"""Optimizer groups (layer-wise lr decay, no weight decay), the lr schedule, the presets."""
import itertools
import math

import pytest
import torch

from finetune.config import PRESETS, TrainConfig, apply_overrides, get_preset, validate
from finetune.training.frame_vit import frame_vit
from finetune.training.optim import build_optimizer, layer_id, param_groups
from finetune.training.schedule import Schedule, make_schedule, set_lr


def _tiny_frames(num_classes=5):
    return frame_vit("vit_tiny_frames", num_classes, image_size=32, depth=3, dim=32, heads=2)


def test_layer_id_follows_the_official_numbering():
    depth = 12
    assert layer_id("patch_embed.proj.weight", depth) == 0
    assert layer_id("backbone.pos_embed", depth) == 0  # the per-frame ViT
    assert layer_id("blocks.0.attn.qkv.weight", depth) == 1
    assert layer_id("blocks.11.mlp.fc2.bias", depth) == 12
    assert layer_id("fc_norm.weight", depth) == 13
    assert layer_id("head.weight", depth) == 13


def test_layer_decay_patch_embed_smallest_head_largest_no_wd_on_norms_biases():
    model = _tiny_frames()
    cfg = TrainConfig(layer_decay=0.75, weight_decay=0.05)
    opt = build_optimizer(model, cfg, lr=1e-3)
    lr_of, wd_of = {}, {}
    for group in opt.param_groups:
        for name in group["names"]:
            lr_of[name], wd_of[name] = group["lr"], group["weight_decay"]
    depth = 3
    assert lr_of["backbone.patch_embed.proj.weight"] == pytest.approx(1e-3 * 0.75 ** (depth + 1))
    assert lr_of["head.weight"] == pytest.approx(1e-3)
    assert min(lr_of.values()) == lr_of["backbone.patch_embed.proj.weight"]
    assert max(lr_of.values()) == lr_of["head.weight"]
    # lr grows block by block
    block_lrs = [lr_of[f"backbone.blocks.{i}.attn.qkv.weight"] for i in range(depth)]
    assert block_lrs == sorted(block_lrs) and len(set(block_lrs)) == depth
    for name in lr_of:
        no_wd = "norm" in name or name.endswith(("bias", "pos_embed", "cls_token"))
        assert wd_of[name] == (0.0 if no_wd else 0.05), name
    # every trainable parameter is in exactly one group
    n_grouped = sum(len(g["params"]) for g in opt.param_groups)
    assert n_grouped == len(list(model.parameters()))


def test_head_lr_mult_only_touches_the_head():
    model = _tiny_frames()
    groups = param_groups(model, 0.05, layer_decay=1.0, head_lr_mult=5.0)
    for g in groups:
        expect = 5.0 if all(n.startswith("head.") for n in g["names"]) else 1.0
        assert g["lr_scale"] == expect


def test_schedule_warmup_peak_cosine_floor():
    s = Schedule(peak_lr=1e-3, min_lr=1e-6, warmup_steps=10, stage1_steps=100, total_steps=100)
    warm = [s.lr(i) for i in range(10)]
    assert warm[0] == pytest.approx(1e-4)  # 1/10 of the peak: the first step already moves
    assert all(a < b for a, b in itertools.pairwise(warm))
    assert s.lr(9) == pytest.approx(1e-3)  # the last warmup step reaches the peak
    assert s.lr(10) == pytest.approx(1e-3)  # the cosine starts at the peak
    assert s.lr(55) == pytest.approx(1e-6 + (1e-3 - 1e-6) * 0.5)  # half-way: half-way between peak and floor
    assert s.lr(99) == pytest.approx(1e-6, abs=1e-6)  # the end reaches the floor
    assert all(s.lr(i) >= 1e-6 for i in range(100))


def test_two_stage_switch():
    cfg = TrainConfig(epochs=10, stage2_epochs=3, warmup_epochs=1, min_lr=1e-6, stage2_lr=5e-6)
    s = make_schedule(cfg, steps_per_epoch=4, peak_lr=1e-3)
    assert (s.warmup_steps, s.stage1_steps, s.total_steps) == (4, 28, 40)
    assert [s.stage(i) for i in (0, 27, 28, 39)] == [1, 1, 2, 2]
    assert s.lr(27) < 1e-4  # the cosine is nearly at its floor at the end of stage 1
    assert all(s.lr(i) == 5e-6 for i in range(28, 40))  # stage 2: constant, very low
    opt = torch.optim.AdamW([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr_scale": 0.5}])
    set_lr(opt, s.lr(30))
    assert opt.param_groups[0]["lr"] == pytest.approx(2.5e-6)


def test_presets_are_the_course_notes_rows():
    assert not PRESETS["exp1"].aug and PRESETS["exp1"].mixup == 0
    assert PRESETS["exp2"].aug and PRESETS["exp2"].mixup == 0
    assert PRESETS["exp3"].mixup == 0.8 and PRESETS["exp3"].stage2_epochs == 0
    assert PRESETS["exp3"].label_smoothing == 0  # the course notes' Exp 3 is Mixup alone; smoothing comes with Exp 4
    assert PRESETS["exp4"].stage2_epochs > 0 and PRESETS["exp4"].tta == "tta6"
    assert vars(PRESETS["exp4"]) == {**vars(PRESETS["exp3"]), "stage2_epochs": 3, "tta": "tta6"}  # + 2 stages, TTA
    assert PRESETS["exp4"].stage2_smoothing == 0.1 and PRESETS["exp4"].stage2_lr < PRESETS["exp4"].blr / 10
    assert PRESETS["exp4-30ep"].epochs == 30 and PRESETS["exp4-8f"].num_frames == 8
    assert PRESETS["vit-s-frames"].model == "vit_s_frames" and PRESETS["vit-s-frames"].mean_std == "half"
    for cfg in PRESETS.values():
        validate(cfg)


def test_overrides_parse_types_and_reject_unknown_fields():
    cfg = apply_overrides(get_preset("exp4"), ["epochs=3", "lr=1e-4", "aug=false", "betas=0.9,0.95"])
    assert (cfg.epochs, cfg.lr, cfg.aug, cfg.betas) == (3, 1e-4, False, (0.9, 0.95))
    assert get_preset("exp4").epochs == 20  # the preset itself is untouched
    with pytest.raises(ValueError, match="no such config field"):
        apply_overrides(cfg, ["epoch=3"])
    with pytest.raises(ValueError, match="expected int"):
        apply_overrides(cfg, ["epochs=2.5"])
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("exp9")
    assert math.isclose(get_preset("exp3").mixup, 0.8)


def test_frame_vit_checkpointing_goes_through_vit_and_keeps_the_gradients():
    torch.manual_seed(0)
    model = _tiny_frames()
    video = torch.randn(2, 3, 2, 32, 32)

    def grads():
        model.zero_grad()
        model(video).square().sum().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    plain = grads()
    model.set_grad_checkpointing(True)
    assert model.backbone.grad_checkpointing  # ViT.forward_blocks does it, no copy in FrameViT
    for name, g in grads().items():
        torch.testing.assert_close(g, plain[name], msg=name)
