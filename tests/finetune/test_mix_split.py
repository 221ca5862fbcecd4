"""finetune.training.mixup and finetune.data.split: soft targets, mixing properties, grouped stratified split."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from finetune.data.layout import Clip
from finetune.data.split import group_of, grouped_split, load_split, save_split
from finetune.errors import RunError
from finetune.training.mixup import cutmix, label_smoothing, mix_batch, mixup, one_hot, soft_target_cross_entropy


def test_one_hot_and_range_error():
    assert torch.equal(one_hot(torch.tensor([2, 0]), 3), torch.tensor([[0., 0, 1], [1, 0, 0]]))
    with pytest.raises(RuntimeError, match="out of bounds"):  # scatter's own check (no host sync on a GPU)
        one_hot(torch.tensor([3]), 3)


def test_mixup_mixes_inputs_and_targets_with_the_same_weight():
    y = torch.tensor([0, 3, 1, 2, 4])
    x = F.one_hot(y, 5).float()                     # inputs that ARE their labels: mixed x must equal mixed t
    xm, t = mixup(x, y, alpha=0.8, num_classes=5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(xm, t) and torch.allclose(t.sum(1), torch.ones(5))
    assert not torch.allclose(t, x)                 # something was mixed
    _, t2 = mixup(x, y, alpha=0.8, num_classes=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(t, t2)                        # repeatable with a generator


def test_alpha_zero_is_the_identity():
    x, y = torch.randn(4, 3, 2, 8, 8), torch.tensor([0, 1, 2, 1])
    xm, t = mixup(x, y, alpha=0.0, num_classes=3)
    assert torch.equal(xm, x) and torch.equal(t, F.one_hot(y, 3).float())
    xc, tc = cutmix(x, y, alpha=0.0, num_classes=3)
    assert torch.equal(xc, x) and torch.equal(tc, t)


def test_cutmix_same_box_on_every_frame_and_area_weight():
    b, t_, h, w = 4, 5, 16, 20
    x = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1, 1).expand(b, 3, t_, h, w).contiguous()
    y = torch.arange(b)
    for seed in range(5):
        xc, tgt = cutmix(x, y, alpha=1.0, num_classes=b, generator=torch.Generator().manual_seed(seed))
        pasted = xc[0, 0] != 0                                  # (T, H, W) where clip 0 got clip 3's pixels
        assert all(torch.equal(pasted[0], pasted[k]) for k in range(t_))
        kept = 1 - pasted[0].float().mean()
        assert torch.allclose(tgt[0, 0], kept) and torch.allclose(tgt.sum(1), torch.ones(b))


def test_label_smoothing_and_soft_cross_entropy():
    t = label_smoothing(F.one_hot(torch.tensor([1, 0]), 4).float(), 0.1)
    assert torch.allclose(t.sum(1), torch.ones(2)) and torch.allclose(t[0], torch.tensor([0.025, 0.925, 0.025, 0.025]))
    logits, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    assert torch.allclose(soft_target_cross_entropy(logits, F.one_hot(y, 4).float()), F.cross_entropy(logits, y))
    ref = F.cross_entropy(logits, y, label_smoothing=0.1)
    assert torch.allclose(soft_target_cross_entropy(logits, label_smoothing(F.one_hot(y, 4).float(), 0.1)), ref)
    _, tm = mix_batch(torch.randn(6, 2), y, 4, smoothing=0.1, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(tm.sum(1), torch.ones(6)) and tm.min() >= 0.1 / 4 - 1e-6


def _hmdb_like(seed=0):
    rng = np.random.default_rng(seed)
    clips, classes = [], ["brush_hair", "cartwheel", "climb_stairs"]
    for label, c in enumerate(classes):
        for v in range(12):                                     # 12 source videos per class, 1-4 clips each
            for n in range(int(rng.integers(1, 5))):
                name = f"Video{v}_{c}_u_nm_np1_ba_goo_{n}"
                clips.append(Clip(Path("data_train") / c / name, label, name))
    return clips


def test_group_of_hmdb51_names():
    assert group_of("April_09_brush_hair_u_nm_np1_ba_goo_1") == "April_09_brush_hair_u_nm_np1_ba_goo"
    assert group_of("x_12") == "x" and group_of("no_number_here") == "no_number_here"


@pytest.mark.parametrize("seed", range(5))
def test_grouped_split_never_splits_a_group(seed, tmp_path):
    clips = _hmdb_like(seed)
    tr, va = grouped_split(clips, val_fraction=0.2, seed=seed)
    assert sorted(tr + va) == list(range(len(clips)))
    assert not {group_of(clips[i].name) for i in tr} & {group_of(clips[i].name) for i in va}
    for label in range(3):                                      # stratified: every class on both sides
        n = sum(c.label == label for c in clips)
        nv = sum(clips[i].label == label for i in va)
        assert 0 < nv < n and abs(nv - 0.2 * n) <= 4             # off by at most one group (<= 4 clips)
    assert grouped_split(clips, 0.2, seed) == (tr, va)           # seeded
    save_split(tmp_path / "split.json", clips, tr, va, seed=seed)
    assert load_split(tmp_path / "split.json", clips) == (tr, va)
    with pytest.raises(RunError, match=r"split\.json"):
        load_split(tmp_path / "split.json", clips[:-1])
