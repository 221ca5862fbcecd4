"""finetune data layer: layout, sampling, consistent augmentation, TTA views, Dataset, decoding errors."""
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from finetune.data.dataset import VideoClipDataset
from finetune.data.decode import UnreadableClip, read_clip
from finetune.data.layout import CLASSES_HMDB51, find_data_root, list_frames, list_test_clips, list_train_clips
from finetune.data.sampling import sample_indices, temporal_offsets
from finetune.data.transforms import AugConfig, eval_views, train_transform
from finetune.errors import DataError

K = 3


@pytest.fixture(scope="module")
def toy(toy_dataset):
    return toy_dataset(classes=K, clips_per_class=2, test_clips=12, seed=1, frames=(5, 8))


# ---- layout -------------------------------------------------------------------------------

def test_layout_classes_labels_and_test_ids(toy):
    clips, classes = list_train_clips(toy.parent)             # the `data/` parent is accepted
    assert classes == sorted(classes) and len(classes) == K
    assert len(clips) == 2 * K and {c.label for c in clips} == set(range(K))
    assert all(classes[c.label] == c.path.parent.name for c in clips)
    ids = [c.label for c in list_test_clips(toy)]
    assert ids == list(range(12))                               # numeric order: 10, 11 after 9, not after 1
    assert find_data_root(toy.parent) == toy and find_data_root(toy) == toy


def test_hmdb51_classes():
    assert len(CLASSES_HMDB51) == 51 and CLASSES_HMDB51[0] == "brush_hair" and CLASSES_HMDB51[-1] == "wave"


def test_frames_sorted_by_number_not_text(tmp_path):
    for n in ("100.png", "9.jpg", "10.JPEG", "readme.txt"):
        (tmp_path / n).write_bytes(b"")
    assert [p.name for p in list_frames(tmp_path)] == ["9.jpg", "10.JPEG", "100.png"]
    (tmp_path / "frame_a.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"frame_a\.jpg"):
        list_frames(tmp_path)


def test_missing_layout_names_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        find_data_root(tmp_path)


# ---- sampling -----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 5, 15, 16, 17, 40])
@pytest.mark.parametrize("train", [False, True])
def test_sampling_in_order_and_covering(n, train):
    for seed in range(20 if train else 1):
        idx = sample_indices(n, 16, train, np.random.default_rng(seed))
        assert len(idx) == 16 and all(0 <= i < n for i in idx)
        assert idx == sorted(idx)                               # time never runs backwards
        seg = n / 16
        for k, i in enumerate(idx):                             # one index inside each segment
            assert int(k * seg) <= i <= min(int((k + 1) * seg), n - 1)
        if n >= 16:
            assert len(set(idx)) == 16                          # longer clips: no repeats, start to end
        elif not train:
            assert set(idx) == set(range(n))                    # shorter clips: every frame used


def test_sampling_known_values():
    assert sample_indices(5, 16, False) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert sample_indices(40, 16, False) == [1, 3, 6, 8, 11, 13, 16, 18, 21, 23, 26, 28, 31, 33, 36, 38]
    assert sample_indices(1, 8, True, np.random.default_rng(0)) == [0] * 8
    assert temporal_offsets(2) == [0.25, 0.75]


# ---- consistent augmentation ---------------------------------------------------------------

def _frames_with_offsets(t=6, h=120, w=160, step=12):
    base = np.random.default_rng(0).integers(30, 150, size=(h, w, 3), dtype=np.uint8)
    return [Image.fromarray(base + np.uint8(step * k)) for k in range(t)], step


@pytest.mark.parametrize("seed", range(4))
def test_every_frame_gets_the_same_crop_and_flip(seed):
    """Frames = one texture + k*step. Crop/resize/flip are linear, so if all frames got the SAME
    transform, out_k - out_0 is the constant k*step everywhere; any per-frame crop or flip
    would move the texture and break that."""
    frames, step = _frames_with_offsets()
    out = train_transform(frames, 64, AugConfig(scale=(0.3, 0.9)), np.random.default_rng(seed))
    assert out.shape == (3, 6, 64, 64) and out.dtype == torch.uint8      # (C, T, H, W), one byte a value
    out = out.float()
    for k in range(1, 6):
        assert torch.allclose(out[:, k] - out[:, 0], torch.full_like(out[:, 0], k * step), atol=1.5)
    plain = eval_views(frames, 64, 64)[0].float()
    assert not torch.allclose(out, plain, atol=0.05 * 255)      # and the augmentation did something


def test_colour_ops_are_the_same_on_every_frame():
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    cfg = AugConfig(colour_jitter=0.4, randaug="rand-m7-n4-mstd0.5-inc1")
    out = train_transform([img.copy() for _ in range(5)], 32, cfg, np.random.default_rng(3))  # 5 objects, 1 picture
    assert out.dtype == torch.uint8 and all(torch.equal(out[:, 0], out[:, k]) for k in range(1, 5))
    assert not torch.equal(out, train_transform([img] * 5, 32, AugConfig(), np.random.default_rng(3)))  # ops ran


def test_tta6_views_are_three_crops_and_their_mirrors():
    frames, _ = _frames_with_offsets(t=2, h=120, w=180)
    views = eval_views(frames, size=96, short_side=120, views=6)          # no resize: 120x180
    full = torch.from_numpy(np.stack([np.asarray(f) for f in frames])).permute(3, 0, 1, 2)   # (3, T, H, W) uint8
    top = (120 - 96) // 2
    expected = [full[..., top:top + 96, left:left + 96] for left in (0, (180 - 96) // 2, 180 - 96)]
    for k in range(3):
        assert torch.equal(views[k], expected[k]) and torch.equal(views[3 + k], expected[k].flip(-1))
    assert torch.equal(eval_views(frames, 96, 120, views=1)[0], views[1])   # view 1 = the centre crop


def test_eval_region_ships_fewer_bytes_and_the_device_cuts_the_same_views():
    """The worker ships the region the crops span; eval_input cuts, mirrors and normalises it on the device
    exactly as the CPU path would, also for a batch of clips with different aspect ratios."""
    from finetune.data.batch import collate_eval, eval_input
    from finetune.data.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_region, normalize

    wide, _ = _frames_with_offsets(t=3, h=120, w=180)
    tall, _ = _frames_with_offsets(t=3, h=150, w=100)
    regions = [eval_region(f, 64, 80, 6) for f in (wide, tall, wide)]
    assert regions[0].shape == (3, 3, 64, 120) and regions[1].shape == (3, 3, 120, 64)  # the long side, 64 across
    assert regions[0].numel() < 6 * 3 * 3 * 64 * 64 / 3                    # well under a third of the 6 views
    batch = collate_eval([(r[None], i) for i, r in enumerate(regions)] + [(None, 9)])    # an unreadable clip
    x, sizes, keys = batch
    assert keys.tolist() == [0, 1, 2] and sizes.tolist() == [[64, 120], [120, 64], [64, 120]]
    got = eval_input(x, sizes, 64, 6, IMAGENET_MEAN, IMAGENET_STD)         # (B*V, 3, T, 64, 64) float
    want = torch.cat([normalize(eval_views(f, 64, 80, 6), IMAGENET_MEAN, IMAGENET_STD) for f in (wide, tall, wide)])
    assert got.shape == (18, 3, 3, 64, 64) and torch.allclose(got, want)


# ---- Dataset ------------------------------------------------------------------------------

def test_dataset_train_and_test_shapes(toy):
    clips, _ = list_train_clips(toy)
    x, y = VideoClipDataset(clips, train=True)[0]
    assert x.shape == (3, 16, 224, 224) and x.dtype == torch.uint8 and 0 <= y < K
    test = list_test_clips(toy)
    x, i = VideoClipDataset(test, train=False)[11]
    assert x.shape == (1, 3, 16, 224, 224) and i == 11                    # (K temporal clips, C, T, H, W)
    v, i = VideoClipDataset(test, train=False, views="tta6", temporal_clips=2)[4]
    assert v.shape[:4] == (2, 3, 16, 224) and v.shape[4] > 224 and i == 4  # the frames' long side, for 3 crops


def test_dataset_seeded_per_epoch_and_same_with_workers(toy):
    clips, _ = list_train_clips(toy)
    ds = VideoClipDataset(clips[:4], num_frames=4, size=32, short_side=32, seed=5)
    ds.set_epoch(0)
    a = torch.stack([ds[i][0] for i in range(4)])
    b = next(iter(DataLoader(ds, batch_size=4, num_workers=2)))[0]
    assert torch.equal(a, b)                                    # (seed, epoch, index) decides, not the worker
    ds.set_epoch(1)
    assert not torch.equal(a, torch.stack([ds[i][0] for i in range(4)]))
    # (index, epoch) keys, as the training sampler yields them: workers kept alive across epochs
    # (persistent_workers) never see set_epoch, yet draw each epoch's augmentation
    loader = DataLoader(ds, batch_sampler=[[(i, 0) for i in range(4)], [(i, 1) for i in range(4)]], num_workers=2,
                        persistent_workers=True)
    for _ in range(2):
        e0, e1 = (batch[0] for batch in loader)
        assert torch.equal(e0, a) and not torch.equal(e1, a)


def test_clip_of_truncated_frames_error_names_the_clip_and_the_file(toy, tmp_path):
    clip = list_test_clips(toy)[0]
    frames = list_frames(clip.path)
    bad = tmp_path / "10000.jpg"
    bad.write_bytes(frames[0].read_bytes()[:600])
    with pytest.raises(UnreadableClip, match=f"{tmp_path}.*10000.jpg"):
        read_clip([bad], [0, 0], on_bad=lambda path, reason: None)
