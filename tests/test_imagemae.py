"""ImageMAE: mask counts and the restore permutation, the encoder seeing only the
visible patches, parity with transformers' ViTMAEForPreTraining (same weights,
same noise), and loading official / HF checkpoints (into MAE and into vit.ViT).

Tiny configs with odd sizes (5x5 or 3x3 patch grids, 3 or 5 heads) keep the
whole file to a few seconds on CPU."""
import argparse

import pytest
import torch
from safetensors.torch import load_file, save_file

from imagemae import MAE, MAEConfig, mae_base, mae_tiny, random_masking
from vit import ViT

transformers = pytest.importorskip("transformers")
from transformers import ViTMAEConfig, ViTMAEForPreTraining, ViTMAEModel  # noqa: E402
from transformers.models.vit_mae.modeling_vit_mae import build_2d_sinusoidal_position_embedding  # noqa: E402


# -- masking ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 25, 49, 196])
@pytest.mark.parametrize("ratio", [0.0, 0.5, 0.6, 0.75, 0.9, 0.95])
def test_mask_count_and_visible_tokens(n, ratio):
    tokens = torch.arange(3 * n, dtype=torch.float32).reshape(3, n, 1).expand(3, n, 4).clone()  # value = index
    visible, mask, _ = random_masking(tokens, ratio, generator=torch.Generator().manual_seed(n))
    expected_masked = n - int(n * (1 - ratio))
    assert mask.dtype == torch.bool and mask.shape == (3, n)
    assert mask.sum(dim=1).tolist() == [expected_masked] * 3
    assert visible.shape == (3, n - expected_masked, 4)
    for b in range(3):  # the visible tokens are exactly the unmasked ones
        assert sorted(visible[b, :, 0].tolist()) == tokens[b, ~mask[b], 0].tolist()


def test_known_counts():
    _, mask, _ = random_masking(torch.zeros(2, 196, 8), 0.75)
    assert mask.sum(dim=1).tolist() == [147, 147]  # 224/16 -> 196 patches: 147 masked, 49 visible
    _, mask, _ = random_masking(torch.zeros(1, 25, 8), 0.6)
    assert mask.sum().item() == 15


def test_ids_restore_inverts_the_shuffle_and_smallest_noise_is_kept():
    g = torch.Generator().manual_seed(0)
    tokens, noise = torch.randn(4, 25, 6, generator=g), torch.rand(4, 25, generator=g)
    visible, mask, ids_restore = random_masking(tokens, 0.6, noise=noise)
    assert torch.equal(ids_restore.sort(dim=1).values, torch.arange(25).expand(4, 25))  # a permutation
    ids_shuffle = noise.argsort(dim=1)
    shuffled = tokens.gather(1, ids_shuffle[..., None].expand(-1, -1, 6))
    assert torch.equal(shuffled.gather(1, ids_restore[..., None].expand(-1, -1, 6)), tokens)
    assert torch.equal(visible, shuffled[:, :10])
    smallest = noise.topk(10, dim=1, largest=False).indices  # kept = the 10 smallest noise values
    for b in range(4):
        assert set(smallest[b].tolist()) == set((~mask[b]).nonzero().flatten().tolist())


def test_masking_is_repeatable_and_checks_noise_shape():
    x = torch.randn(2, 9, 4)
    a = random_masking(x, 0.75, generator=torch.Generator().manual_seed(3))[1]
    b = random_masking(x, 0.75, generator=torch.Generator().manual_seed(3))[1]
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"noise of shape \(2, 9\)"):
        random_masking(x, 0.75, noise=torch.rand(2, 8))
    with pytest.raises(ValueError, match="mask_ratio"):
        random_masking(x, 1.0)


# -- the model --------------------------------------------------------------------------
TINY = dict(image_size=20, patch_size=4, dim=24, depth=2, heads=3, decoder_dim=20, decoder_depth=1, decoder_heads=5)


def test_shapes_and_encoder_sees_only_visible_patches():
    torch.manual_seed(0)
    mae = MAE(MAEConfig(**TINY)).eval()
    images, noise = torch.randn(2, 3, 20, 20), torch.rand(2, 25)
    loss, pred, mask = mae(images, mask_ratio=0.6, noise=noise)
    assert pred.shape == (2, 25, 4 * 4 * 3) and mask.shape == (2, 25) and loss.ndim == 0
    latent, mask2, _ = mae.forward_encoder(images, 0.6, noise)
    assert latent.shape == (2, 1 + 10, 24) and torch.equal(mask, mask2)
    # change every masked patch: the encoder output must not move
    pixel_mask = mask.reshape(2, 5, 5).repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None]  # (B, 1, H, W)
    latent2, _, _ = mae.forward_encoder(torch.where(pixel_mask, torch.randn_like(images), images), 0.6, noise)
    assert torch.equal(latent, latent2)


def test_loss_counts_masked_patches_only():
    mae = MAE(MAEConfig(**TINY))
    images, mask = torch.randn(2, 3, 20, 20), torch.rand(2, 25) < 0.5
    target = mae.patchify(images)
    pred = torch.where(mask[..., None], target, torch.randn_like(target))  # perfect where masked
    assert mae.forward_loss(images, pred, mask).item() == 0.0
    pred = torch.where(mask[..., None], target + 2.0, target)  # off by 2 where masked
    assert mae.forward_loss(images, pred, mask).item() == pytest.approx(4.0)


def test_factories_and_base_parameter_count():
    assert sum(p.numel() for p in mae_tiny().parameters()) < 3_000_000
    # transformers ViTMAEForPreTraining (ViT-B, its default config) has 111,907,840 parameters, of which
    # 197*768 + 197*512 = 252,160 are its two frozen sin-cos tables (our buffers).
    assert sum(p.numel() for p in mae_base().parameters()) == 111_907_840 - 252_160


def test_position_tables_match_transformers_layout():
    mae = MAE(MAEConfig(**TINY))
    for table, dim in ((mae.encoder.pos_embed, 24), (mae.decoder_pos_embed, 20)):
        ref = build_2d_sinusoidal_position_embedding(5, 5, dim, cls_token=True)
        ref = torch.cat([ref[:, dim // 2:], ref[:, : dim // 2]], dim=-1)  # HF's rotation to the released layout
        torch.testing.assert_close(table[0], ref, atol=1e-6, rtol=0)


# -- parity with transformers -----------------------------------------------------------
def _hf_model(norm_pix_loss: bool, mask_ratio: float = 0.6, seed: int = 0) -> ViTMAEForPreTraining:
    cfg = ViTMAEConfig(
        image_size=20, patch_size=4, hidden_size=24, num_hidden_layers=2, num_attention_heads=3,
        intermediate_size=72, decoder_hidden_size=20, decoder_num_hidden_layers=1, decoder_num_attention_heads=5,
        decoder_intermediate_size=40, mask_ratio=mask_ratio, norm_pix_loss=norm_pix_loss,
    )
    torch.manual_seed(seed)
    model = ViTMAEForPreTraining(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
        for table, dim in ((model.vit.embeddings.position_embeddings, 24), (model.decoder.decoder_pos_embed, 20)):
            ref = build_2d_sinusoidal_position_embedding(5, 5, dim, cls_token=True)
            table.copy_(torch.cat([ref[:, dim // 2:], ref[:, : dim // 2]], dim=-1)[None])
    return model


def _assert_parity(ours: MAE, hf: ViTMAEForPreTraining, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    images, noise = torch.randn(3, 3, 20, 20, generator=g), torch.rand(3, 25, generator=g)
    with torch.no_grad():
        ref = hf(pixel_values=images, noise=noise)
        loss, pred, mask = ours.eval()(images, noise=noise)
    assert torch.equal(mask, ref.mask.bool())
    torch.testing.assert_close(pred, ref.logits, atol=1e-4, rtol=0)
    assert abs(loss.item() - ref.loss.item()) < 1e-5


@pytest.mark.parametrize("norm_pix_loss", [False, True])
def test_parity_with_transformers_hf_directory(tmp_path, norm_pix_loss):
    hf = _hf_model(norm_pix_loss)
    hf.save_pretrained(tmp_path)
    ours = MAE.from_pretrained(tmp_path)
    assert ours.cfg.norm_pix_loss is norm_pix_loss and ours.cfg.mask_ratio == 0.6 and ours.cfg.decoder_heads == 5
    _assert_parity(ours, hf)


def test_parity_with_hub_file_names(tmp_path):
    """Hub files name the decoder layers `decoder.decoder_layers.{i}` (transformers 5
    writes `decoder.decoder_encoder.layer.{i}`); both must load."""
    hf = _hf_model(norm_pix_loss=True, mask_ratio=0.75, seed=2)
    hf.save_pretrained(tmp_path)
    state = load_file(tmp_path / "model.safetensors")
    state = {k.replace("decoder.decoder_encoder.layer.", "decoder.decoder_layers."): v for k, v in state.items()}
    assert any(k.startswith("decoder.decoder_layers.0.attention.attention.query") for k in state)
    save_file(state, tmp_path / "model.safetensors")
    _assert_parity(MAE.from_pretrained(tmp_path), hf, seed=3)


def test_parity_with_in_memory_state_dict(tmp_path):
    hf = _hf_model(norm_pix_loss=False)
    torch.save(hf.state_dict(), tmp_path / "hf.pth")  # transformers 5 names: vit.layers.{i}.attention.q_proj ...
    ours = MAE.from_pretrained(tmp_path / "hf.pth", heads=3, decoder_heads=5, layer_norm_eps=1e-12, mask_ratio=0.6)
    _assert_parity(ours, hf)


# -- official checkpoints and the fine-tuning path ---------------------------------------
def _official_pth(mae: MAE, path):
    """Write `mae` with facebookresearch/mae's names (models_mae.py's state dict), under 'model'."""
    state = {}
    for k, v in mae.state_dict().items():
        state[k[len("encoder."):] if k.startswith("encoder.") else k] = v.clone()
    state["pos_embed"], state["decoder_pos_embed"] = mae.encoder.pos_embed.clone(), mae.decoder_pos_embed.clone()
    for name in ("cls_token", "pos_embed", "patch_embed.proj.weight", "blocks.0.attn.qkv.weight", "norm.weight",
                 "mask_token", "decoder_embed.weight", "decoder_pos_embed", "decoder_blocks.0.attn.qkv.bias",
                 "decoder_norm.weight", "decoder_pred.weight"):
        assert name in state, name
    args = argparse.Namespace(model="mae_vit_tiny", mask_ratio=0.75)  # official files pickle their options too
    torch.save({"model": state, "optimizer": {}, "epoch": 799, "args": args}, path)


def test_official_pth_loads_and_encoder_loads_into_vit(tmp_path):
    torch.manual_seed(4)  # widths no released MAE has: the file stores no head count, so it is given
    mae = MAE(MAEConfig(image_size=24, patch_size=8, dim=64, depth=3, heads=1, decoder_dim=64, decoder_depth=1,
                        decoder_heads=2, mlp_ratio=2.0))
    with torch.no_grad():
        for p in mae.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # move every weight off its init (biases, norms)
    _official_pth(mae, tmp_path / "mae_visualize.pth")
    loaded = MAE.from_pretrained(tmp_path / "mae_visualize.pth", heads=1, decoder_heads=2)
    assert loaded.cfg.heads == 1 and loaded.cfg.decoder_heads == 2 and loaded.cfg.image_size == 24
    images, noise = torch.randn(2, 3, 24, 24), torch.rand(2, 9)
    with torch.no_grad():
        for a, b in zip(mae.eval()(images, noise=noise), loaded.eval()(images, noise=noise)):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)

    vit = ViT.from_pretrained(tmp_path / "mae_visualize.pth", heads=1).eval()
    with torch.no_grad():  # the whole encoder on all 9 tokens
        torch.testing.assert_close(vit.forward_features(images), mae.encoder.forward_features(images),
                                   atol=1e-5, rtol=0)
    # MAE's fine-tuning recipe: mean-pool the patch tokens, a fresh fc_norm and head
    ft = ViT.from_pretrained(tmp_path / "mae_visualize.pth", num_classes=5, heads=1, pool="mean", drop_path=0.1).eval()
    assert ft(images).shape == (2, 5)
    torch.testing.assert_close(ft.blocks[2].attn.qkv.weight, mae.encoder.blocks[2].attn.qkv.weight, atol=0, rtol=0)


def test_hf_mae_encoder_loads_into_vit(tmp_path):
    hf = _hf_model(norm_pix_loss=False)
    hf.save_pretrained(tmp_path)
    vit = ViT.from_pretrained(tmp_path).eval()
    images = torch.randn(2, 3, 20, 20)
    hf.config.mask_ratio = 0.0  # keep every patch, in order (noise increasing)
    encoder = ViTMAEModel(hf.config).eval()
    encoder.load_state_dict(hf.vit.state_dict())
    with torch.no_grad():
        ref = encoder(pixel_values=images, noise=torch.arange(25.0).expand(2, 25)).last_hidden_state
        torch.testing.assert_close(vit.forward_features(images), ref, atol=1e-4, rtol=0)


def test_encoder_only_file_is_a_clear_error(tmp_path):
    mae = MAE(MAEConfig(**TINY))
    state = {k[len("encoder."):]: v for k, v in mae.state_dict().items() if k.startswith("encoder.")}
    torch.save({"model": state}, tmp_path / "mae_pretrain_vit_tiny.pth")
    with pytest.raises(ValueError, match=r"vit\.ViT\.from_pretrained"):
        MAE.from_pretrained(tmp_path / "mae_pretrain_vit_tiny.pth")
