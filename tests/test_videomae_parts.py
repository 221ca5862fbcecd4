"""VideoMAE pieces: tubelets, masks, position tables, targets, shapes and errors."""
import pytest
import torch

from videomae import (
    TubeletEmbed,
    VideoMAEConfig,
    VideoViT,
    frame_mask,
    linear_from_conv3d,
    patchify,
    random_mask,
    reconstruction_target,
    tube_mask,
    unpatchify,
    video_pos_table,
    videomae_tiny,
    videovit_base,
)
from vit.pos_embed import sinusoid_1d

SMALL = dict(image_size=24, patch_size=8, num_frames=6, tubelet_size=2, dim=24, depth=2, heads=2, mlp_ratio=2.0,
             decoder_dim=12, decoder_depth=1, decoder_heads=2, num_classes=5)


# -- tubelets -----------------------------------------------------------------
def test_patchify_layout_and_round_trip():
    video = torch.randn(2, 3, 6, 16, 24)  # grid (3, 2, 3) of 2x8x8 tubelets
    tokens = patchify(video, (2, 8, 8))
    assert tokens.shape == (2, 18, 2 * 8 * 8 * 3)
    # tubelet (t=2, h=1, w=0) is token 2*6 + 1*3 + 0 = 15, laid out (pt, ph, pw, c), channel fastest
    expected = video[1, :, 4:6, 8:16, 0:8].permute(1, 2, 3, 0).reshape(-1)
    assert torch.equal(tokens[1, 15], expected)
    assert torch.equal(unpatchify(tokens, (2, 8, 8), (3, 2, 3)), video)


def test_einops_cut_plus_linear_equals_conv3d():
    torch.manual_seed(0)
    embed = TubeletEmbed((2, 4, 4), in_chans=3, dim=10)
    video = torch.randn(2, 3, 6, 12, 8)
    by_conv = embed(video)
    by_linear = linear_from_conv3d(embed.proj)(patchify(video, (2, 4, 4)))
    assert by_conv.shape == (2, 3 * 3 * 2, 10)
    torch.testing.assert_close(by_linear, by_conv, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(embed.forward_linear(video), by_conv, atol=1e-5, rtol=1e-5)


# -- masks ----------------------------------------------------------------------
def test_tube_mask_paper_numbers_and_same_in_every_slice():
    mask = tube_mask(3, (8, 14, 14), 0.9, generator=torch.Generator().manual_seed(0))
    assert mask.dtype == torch.bool and mask.shape == (3, 1568)
    assert mask.sum(dim=1).tolist() == [1408, 1408, 1408]
    slices = mask.reshape(3, 8, 196)
    assert (slices == slices[:, :1]).all()  # a tube: the same positions at every time
    assert not torch.equal(slices[0, 0], slices[1, 0])  # but different videos get different tubes


def test_random_and_frame_mask_exact_counts():
    g = torch.Generator().manual_seed(0)
    mask = random_mask(4, (8, 14, 14), 0.9, generator=g)
    assert mask.sum(dim=1).tolist() == [int(0.9 * 1568)] * 4
    slices = mask.reshape(4, 8, 196)
    assert not (slices == slices[:, :1]).all()  # not tubes
    mask = frame_mask(4, (8, 14, 14), 0.75, generator=g)
    per_slice = mask.reshape(4, 8, 196).sum(dim=2)  # every slice is all-masked or all-visible
    assert set(per_slice.flatten().tolist()) == {0, 196}
    assert (per_slice == 196).sum(dim=1).tolist() == [6] * 4


def test_masks_repeatable_with_a_generator_and_reject_bad_ratios():
    a = tube_mask(2, (2, 3, 3), 0.5, generator=torch.Generator().manual_seed(7))
    b = tube_mask(2, (2, 3, 3), 0.5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="ratio"):
        tube_mask(1, (2, 3, 3), 1.0)
    with pytest.raises(ValueError, match="grid"):
        random_mask(1, (3, 3), 0.5)
    assert frame_mask(1, (2, 3, 3), 0.99).sum() == 9  # int(0.99 * 2) = 1 slice: one always stays visible


# -- position tables -----------------------------------------------------------
def test_eight_frame_position_table_plain_and_sampled():
    kw = dict(image_size=32, patch_size=16, dim=8)  # 2x2 = 4 positions per slice
    plain = video_pos_table(VideoMAEConfig(num_frames=8, **kw))
    sampled = video_pos_table(VideoMAEConfig(num_frames=8, pos_table_frames=16, **kw))
    full16 = sinusoid_1d(8 * 4, 8)  # 8 slices of 4
    assert plain.shape == sampled.shape == (1, 4 * 4, 8)
    torch.testing.assert_close(plain, sinusoid_1d(16, 8))  # rows 0..15: slices 0-3 of the long table
    for t in range(4):  # slice t of the 8-frame clip takes slice 2t of the 16-frame table
        torch.testing.assert_close(sampled[0, 4 * t:4 * t + 4], full16[0, 8 * t:8 * t + 4])
    assert not torch.allclose(plain, sampled)
    with pytest.raises(ValueError, match="pos_table_frames"):
        VideoMAEConfig(num_frames=6, pos_table_frames=16)


def test_any_frame_count_divisible_by_the_tubelet():
    model = VideoViT(VideoMAEConfig(**{**SMALL, "num_frames": 4})).eval()
    assert model(torch.randn(1, 3, 4, 24, 24)).shape == (1, 5)
    with pytest.raises(ValueError, match="multiple of tubelet_size"):
        VideoMAEConfig(num_frames=7)


# -- reconstruction target -----------------------------------------------------
def test_target_is_per_patch_per_channel_normalised_pixels():
    cfg = VideoMAEConfig(**SMALL)
    torch.manual_seed(0)
    video = torch.randn(2, 3, 6, 24, 24)
    target = reconstruction_target(video, cfg)
    assert target.shape == (2, 27, 2 * 8 * 8 * 3)
    # by hand, tubelet (t=1, h=2, w=0) = token 1*9 + 2*3 + 0 = 15 of sample 1
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None, None]
    cube = video[1, :, 2:4, 16:24, 0:8] * std + mean  # (C, 2, 8, 8) in [0, 1] units
    flat = cube.reshape(3, -1)  # (C, 128)
    normed = (flat - flat.mean(1, keepdim=True)) / (flat.std(1, keepdim=True) + 1e-6)  # torch.std is unbiased
    expected = normed.reshape(3, 2, 8, 8).permute(1, 2, 3, 0).reshape(-1)  # channel fastest
    torch.testing.assert_close(target[1, 15], expected, atol=1e-5, rtol=1e-5)


# -- models ----------------------------------------------------------------------
def test_vit_b_parameter_count():
    assert sum(p.numel() for p in videovit_base(num_classes=400).parameters()) == 86_534_800
    assert sum(p.numel() for p in videovit_base(num_classes=51).parameters()) == 86_266_419


def test_official_parameter_names():
    keys = set(VideoViT(VideoMAEConfig(**SMALL)).state_dict())
    for k in ("patch_embed.proj.weight", "blocks.1.attn.qkv.weight", "blocks.1.attn.q_bias", "blocks.1.attn.v_bias",
              "blocks.0.mlp.fc2.bias", "fc_norm.weight", "head.weight"):
        assert k in keys
    assert not any("pos_embed" in k or "attn.qkv.bias" in k for k in keys)  # fixed table; no key bias
    pre = set(videomae_tiny().state_dict())
    for k in ("encoder.patch_embed.proj.weight", "encoder.norm.weight", "encoder_to_decoder.weight", "mask_token",
              "decoder.blocks.0.attn.qkv.weight", "decoder.norm.bias", "decoder.head.weight"):
        assert k in pre
    assert "encoder_to_decoder.bias" not in pre


def test_pretraining_shapes_and_mask_errors():
    model = videomae_tiny()  # 8 x 64 x 64, tubelets 2x8x8 -> grid (4, 8, 8) = 256 tokens
    video = torch.randn(2, 3, 8, 64, 64)
    mask = tube_mask(2, model.cfg.grid, 0.9, generator=torch.Generator().manual_seed(0))
    loss, pred = model(video, mask)
    assert pred.shape == (2, 4 * 57, 2 * 8 * 8 * 3) and loss.ndim == 0
    loss.backward()
    assert model.mask_token.grad is not None
    uneven = mask.clone()
    uneven[0, mask[0].nonzero()[0]] = False
    with pytest.raises(ValueError, match="same number"):
        model(video, uneven)
    with pytest.raises(ValueError, match="bool mask of shape"):
        model(video, mask[:, :100])


def test_video_shape_error_says_expected_and_found():
    model = VideoViT(VideoMAEConfig(**SMALL))
    with pytest.raises(ValueError, match=r"expected video of shape \(B, 3, 6, 24, 24\).*found \(1, 6, 3, 24, 24\)"):
        model(torch.randn(1, 6, 3, 24, 24))  # transformers' (B, T, C, H, W) layout by mistake


def test_head_init_is_scaled_down():
    model = VideoViT(VideoMAEConfig(**{**SMALL, "num_classes": 400}))
    std = model.head.weight.std().item()
    assert 0.8 * 0.02 * 0.001 < std < 1.2 * 0.02 * 0.001  # trunc-normal(std 0.02) x 0.001, as the official fine-tuning
    assert model.head.bias.abs().max() == 0


def test_grad_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    model = VideoViT(VideoMAEConfig(**SMALL)).train()
    video = torch.randn(2, 3, 6, 24, 24)
    model(video).square().sum().backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.set_grad_checkpointing(True)
    model(video).square().sum().backward()
    for a, p in zip(plain, model.parameters()):
        torch.testing.assert_close(p.grad, a, atol=1e-6, rtol=1e-5)
