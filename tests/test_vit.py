"""ViT: shapes, patches, attention paths, parameter counts, and parity with transformers."""
import pytest
import torch
from einops import rearrange
from torch import nn
from transformers import ViTConfig as HFViTConfig
from transformers import ViTForImageClassification, ViTModel

from vit import ViT, ViTConfig, patchify, unpatchify, vit_base, vit_small
from vit.blocks import Attention, Block, DropPath
from vit.patches import PatchEmbed, linear_from_conv
from vit.pos_embed import resize_pos_embed, sincos_2d, sinusoid_1d
from weights import CheckpointError

TINY = dict(image_size=36, patch_size=12, dim=30, depth=2, heads=3, mlp_ratio=2.0, num_classes=7)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# -- patches ------------------------------------------------------------------
def test_patchify_layout_and_round_trip():
    images = torch.randn(2, 3, 20, 28)  # 5 x 7 grid of 4x4 patches
    patches = patchify(images, 4)
    assert patches.shape == (2, 35, 4 * 4 * 3)
    # patch (row 1, col 6) is token 1*7 + 6, laid out (ph, pw, c) with channel fastest
    expected = images[1, :, 4:8, 24:28].permute(1, 2, 0).reshape(-1)
    assert torch.equal(patches[1, 13], expected)
    assert torch.equal(unpatchify(patches, 4, (5, 7)), images)


def test_linear_projection_equals_conv():
    """The course notes' "Linear Projection": flatten patches + one Linear == Conv2d(k=s=p)."""
    torch.manual_seed(0)
    embed = PatchEmbed(patch_size=8, in_chans=3, dim=20)
    images = torch.randn(2, 3, 24, 40)
    linear = linear_from_conv(embed.proj)
    torch.testing.assert_close(linear(patchify(images, 8)), embed(images), atol=1e-5, rtol=1e-5)


# -- blocks ---------------------------------------------------------------------
@pytest.mark.parametrize("bias", ["qkv", "qv", "none"])
def test_sdpa_equals_manual_attention(bias):
    torch.manual_seed(0)
    attn = Attention(dim=30, heads=5, bias=bias).eval()
    for p in attn.parameters():  # make every bias non-zero so the modes differ
        nn.init.normal_(p, std=0.3)
    x = torch.randn(3, 11, 30)
    maps = attn.attention_map(x)  # softmax(Q K^T / sqrt(d)) by hand
    assert maps.shape == (3, 5, 11, 11)
    torch.testing.assert_close(maps.sum(-1), torch.ones(3, 5, 11))
    _, _, v = attn.project_qkv(x)
    manual = attn.proj(rearrange(maps @ v, "b h n d -> b n (h d)"))  # the textbook formula, then the projection
    torch.testing.assert_close(attn(x), manual, atol=1e-5, rtol=1e-5)


def test_qv_bias_is_one_matmul_with_a_zero_key_bias():
    """'qv' mode: the qkv matmul's bias is (q_bias, 0, v_bias), as in the official VideoMAE."""
    torch.manual_seed(0)
    attn = Attention(dim=12, heads=2, bias="qv")
    nn.init.normal_(attn.q_bias), nn.init.normal_(attn.v_bias)
    x = torch.randn(2, 5, 12)
    w_q, w_k, w_v = attn.qkv.weight.chunk(3)  # the rows of query, key and value
    separate = (x @ w_q.T + attn.q_bias, x @ w_k.T, x @ w_v.T + attn.v_bias)  # three matmuls, no key bias
    for ours, expected in zip(attn.project_qkv(x), separate):
        torch.testing.assert_close(ours, rearrange(expected, "b n (h d) -> b h n d", h=2), atol=1e-6, rtol=1e-5)


def test_key_bias_does_not_change_attention():
    """Why VideoMAE drops the key bias: it shifts every score of a query equally."""
    torch.manual_seed(0)
    full = Attention(dim=24, heads=4, bias="qkv").eval()
    nn.init.normal_(full.qkv.bias, std=0.5)
    qv = Attention(dim=24, heads=4, bias="qv").eval()
    qv.qkv.weight.data.copy_(full.qkv.weight)
    qv.proj.load_state_dict(full.proj.state_dict())
    qv.q_bias.data.copy_(full.qkv.bias[:24])
    qv.v_bias.data.copy_(full.qkv.bias[48:])
    x = torch.randn(2, 9, 24)
    torch.testing.assert_close(qv(x), full(x), atol=1e-5, rtol=1e-5)


def test_drop_path_identity_at_eval_and_unbiased_in_training():
    drop = DropPath(0.3)
    x = torch.ones(4000, 2, 3)
    assert torch.equal(drop.eval()(x), x)
    out = drop.train()(x)
    kept = out[:, 0, 0] != 0
    assert torch.allclose(out[kept], torch.full_like(out[kept], 1 / 0.7))  # survivors rescaled
    assert abs(kept.float().mean().item() - 0.7) < 0.04  # ~30% of samples dropped whole
    assert abs(out.mean().item() - 1.0) < 0.06  # expectation preserved


def test_block_attention_map_is_the_map_of_its_normalised_input():
    torch.manual_seed(0)
    block = Block(dim=20, heads=4, bias="qv")
    x = torch.randn(2, 7, 20)
    torch.testing.assert_close(block.attention_map(x), block.attn.attention_map(block.norm1(x)))
    assert block.attention_map(x).shape == (2, 4, 7, 7)


# -- model ------------------------------------------------------------------------
@pytest.mark.parametrize("pool", ["cls", "mean"])
@pytest.mark.parametrize("pos", ["learned", "sincos"])
def test_shapes_odd_sizes(pool, pos):
    dim = 30 if pos == "learned" else 36  # the 2-D sin-cos table needs dim % 4 == 0
    model = ViT(ViTConfig(**{**TINY, "dim": dim}, pool=pool, pos_embed=pos))
    assert model(torch.randn(2, 3, 36, 36)).shape == (2, 7)
    assert model.forward_features(torch.randn(2, 3, 36, 36)).shape == (2, 1 + 9, dim)
    maps = model.attention_maps(torch.randn(1, 3, 36, 36))
    assert len(maps) == 2 and maps[0].shape == (1, 3, 10, 10)


@pytest.mark.parametrize("drop_path", [0.0, 0.3])
def test_grad_checkpointing_gives_the_same_gradients(drop_path):
    """Checkpointed blocks run again in backward (with the same drop-path draws): same gradients."""
    model = ViT(ViTConfig(**TINY, drop_path=drop_path)).train()
    images = torch.randn(2, 3, 36, 36)
    grads = []
    for enable in (False, True):
        model.set_grad_checkpointing(enable)
        model.zero_grad()
        torch.manual_seed(1)  # the same drop-path draws in both runs
        model(images).square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for plain, checkpointed in zip(*grads):
        torch.testing.assert_close(checkpointed, plain, atol=1e-6, rtol=1e-5)


def test_wrong_image_size_is_a_clear_error():
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 3, 36, 36\), found \(1, 3, 40, 40\)"):
        ViT(ViTConfig(**TINY))(torch.randn(1, 3, 40, 40))


def test_published_parameter_counts():
    assert n_params(vit_small(num_classes=1000)) == 22_050_664
    assert n_params(vit_base(num_classes=1000)) == 86_567_656


# -- position embeddings -------------------------------------------------------------
def test_fixed_tables_match_transformers():
    from transformers.models.videomae.modeling_videomae import get_sinusoid_encoding_table
    from transformers.models.vit_mae.modeling_vit_mae import build_2d_sinusoidal_position_embedding

    # transformers builds [sin_h|cos_h|sin_w|cos_w], then swaps the halves to match
    # the released MAE weights (ViTMAEEmbeddings.initialize_weights): w first.
    theirs = build_2d_sinusoidal_position_embedding(6, 6, 32, cls_token=True)
    theirs = torch.cat([theirs[:, 16:], theirs[:, :16]], dim=1)
    torch.testing.assert_close(sincos_2d(32, (6, 6), cls_token=True)[0], theirs)
    torch.testing.assert_close(sinusoid_1d(50, 24), get_sinusoid_encoding_table(50, 24).float())


def test_resize_pos_embed_keeps_cls_and_identity():
    table = torch.randn(1, 1 + 16, 8)
    assert torch.allclose(resize_pos_embed(table, (4, 4)), table, atol=1e-5)
    bigger = resize_pos_embed(table, (6, 6))
    assert bigger.shape == (1, 37, 8) and torch.equal(bigger[:, 0], table[:, 0])


# -- checkpoints: parity with transformers ---------------------------------------------
def hf_vit_small(num_labels=5, image_size=224):
    torch.manual_seed(0)
    cfg = HFViTConfig(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536,
                      image_size=image_size, patch_size=16, num_labels=num_labels,
                      layer_norm_eps=1e-6)  # timm's eps, so the timm-format copy is the same network
    return ViTForImageClassification(cfg).eval()


@pytest.fixture(scope="module")
def hf_small_dir(tmp_path_factory):
    model = hf_vit_small()
    path = tmp_path_factory.mktemp("hf_vit_s")
    model.save_pretrained(path)
    return model, path


def timm_state_from_hf(hf_state: dict, depth: int) -> dict:
    """The organizers' timm layout, written out by hand from the HF names."""
    out = {
        "cls_token": hf_state["vit.embeddings.cls_token"],
        "pos_embed": hf_state["vit.embeddings.position_embeddings"],
        "patch_embed.proj.weight": hf_state["vit.embeddings.patch_embeddings.projection.weight"],
        "patch_embed.proj.bias": hf_state["vit.embeddings.patch_embeddings.projection.bias"],
        "norm.weight": hf_state["vit.layernorm.weight"],
        "norm.bias": hf_state["vit.layernorm.bias"],
        "head.weight": hf_state["classifier.weight"],
        "head.bias": hf_state["classifier.bias"],
    }
    for i in range(depth):
        hf = f"vit.encoder.layer.{i}."
        att = hf + "attention.attention."
        ours = f"blocks.{i}."
        for leaf in ("weight", "bias"):
            qkv = [hf_state[att + f"{n}.{leaf}"] for n in ("query", "key", "value")]
            out[ours + f"attn.qkv.{leaf}"] = torch.cat(qkv)
            out[ours + f"norm1.{leaf}"] = hf_state[hf + f"layernorm_before.{leaf}"]
            out[ours + f"norm2.{leaf}"] = hf_state[hf + f"layernorm_after.{leaf}"]
            out[ours + f"attn.proj.{leaf}"] = hf_state[hf + f"attention.output.dense.{leaf}"]
            out[ours + f"mlp.fc1.{leaf}"] = hf_state[hf + f"intermediate.dense.{leaf}"]
            out[ours + f"mlp.fc2.{leaf}"] = hf_state[hf + f"output.dense.{leaf}"]
    return out


def test_hf_vit_small_directory_parity(hf_small_dir):
    hf, path = hf_small_dir
    ours = ViT.from_pretrained(path).eval()
    assert ours.cfg.dim == 384 and ours.cfg.heads == 6 and ours.cfg.num_classes == 5
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(pixel_values=x).logits, atol=1e-4, rtol=0)


def test_timm_format_parity(hf_small_dir, tmp_path):
    from safetensors.torch import load_file

    hf, path = hf_small_dir
    file = tmp_path / "vit_small_patch16_224.pth"
    torch.save(timm_state_from_hf(load_file(str(path / "model.safetensors")), depth=12), file)
    ours = ViT.from_pretrained(file).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), hf(pixel_values=x).logits, atol=1e-4, rtol=0)


def tiny_hf(num_labels=4):
    torch.manual_seed(1)
    cfg = HFViTConfig(hidden_size=30, num_hidden_layers=2, num_attention_heads=3, intermediate_size=50,
                      image_size=36, patch_size=12, num_labels=num_labels)
    return ViTForImageClassification(cfg).eval()


def test_bin_file_and_in_memory_names_and_vitmodel(tmp_path):
    hf = tiny_hf()
    x = torch.randn(2, 3, 36, 36)
    expected = hf(pixel_values=x).logits
    # an older hub directory: config.json + pytorch_model.bin (transformers 5 only writes safetensors)
    from safetensors.torch import load_file

    hf.save_pretrained(tmp_path / "bin")
    (tmp_path / "bin" / "model.safetensors").rename(tmp_path / "file.safetensors")
    torch.save(load_file(str(tmp_path / "file.safetensors")), tmp_path / "bin" / "pytorch_model.bin")
    torch.testing.assert_close(ViT.from_pretrained(tmp_path / "bin").eval()(x), expected, atol=1e-5, rtol=0)
    single = ViT.from_pretrained(tmp_path / "file.safetensors", heads=3, layer_norm_eps=1e-12).eval()
    torch.testing.assert_close(single(x), expected, atol=1e-5, rtol=0)
    # transformers 5 renames modules in memory (vit.layers.0.attention.q_proj ...)
    torch.save(hf.state_dict(), tmp_path / "in_memory.pth")
    # a bare state dict carries no config: heads and eps are given as overrides
    got = ViT.from_pretrained(tmp_path / "in_memory.pth", heads=3, layer_norm_eps=1e-12).eval()
    torch.testing.assert_close(got(x), expected, atol=1e-5, rtol=0)
    # ViTModel (no head): features equal last_hidden_state
    base = ViTModel(hf.config, add_pooling_layer=False).eval()
    base.load_state_dict({k[4:]: v for k, v in hf.state_dict().items() if k.startswith("vit.")})
    base.save_pretrained(tmp_path / "base")
    feats = ViT.from_pretrained(tmp_path / "base").eval().forward_features(x)
    torch.testing.assert_close(feats, base(pixel_values=x).last_hidden_state, atol=1e-5, rtol=0)


def test_new_head_and_resized_positions(tmp_path):
    hf = tiny_hf(num_labels=4)
    hf.save_pretrained(tmp_path)
    model = ViT.from_pretrained(tmp_path, num_classes=9, image_size=60)
    assert model.head.out_features == 9 and model.pos_embed.shape == (1, 1 + 25, 30)
    assert model(torch.randn(1, 3, 60, 60)).shape == (1, 9)
    torch.testing.assert_close(model.pos_embed[0, 0], hf.vit.embeddings.position_embeddings[0, 0])


def test_mismatched_file_names_key_and_both_shapes(tmp_path):
    state = ViT(ViTConfig(**TINY)).state_dict()
    state["blocks.1.mlp.fc1.weight"] = torch.zeros(61, 30)  # block 0 (mlp_ratio 2) says 60
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as err:
        ViT.from_pretrained(tmp_path / "bad.pth", heads=3)  # width 30 is no released model's: heads given
    msg = str(err.value)
    assert "blocks.1.mlp.fc1.weight" in msg and "(60, 30)" in msg and "(61, 30)" in msg and "bad.pth" in msg
