"""VideoMAE against transformers (the reference), random weights, fp32, tiny odd configs.

transformers takes video as (B, T, C, H, W); ours is (B, C, T, H, W).
"""
import json

import pytest
import torch
from torch.nn import functional as F
from transformers import VideoMAEConfig as HFConfig
from transformers import VideoMAEForPreTraining, VideoMAEForVideoClassification

from videomae import VideoMAE, VideoViT, tube_mask

HF_TINY = dict(image_size=32, patch_size=8, num_frames=6, tubelet_size=2, hidden_size=48, num_hidden_layers=2,
               num_attention_heads=3, intermediate_size=96, num_labels=5, decoder_hidden_size=24,
               decoder_num_hidden_layers=2, decoder_num_attention_heads=2, decoder_intermediate_size=48)


def _perturb(model):
    """Random init leaves biases 0 and norms (1, 0): move every weight so nothing hides."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.1)
    return model.eval()


def hf_to_official(hf_state: dict, prefix: str = "videomae.encoder.layer.", dst: str = "blocks.") -> dict:
    """Written here from MCG-NJU/VideoMAE modeling_finetune.py / modeling_pretrain.py names,
    independently of videomae/checkpoint.py."""
    out, layers = {}, sorted({int(k[len(prefix):].split(".")[0]) for k in hf_state if k.startswith(prefix)})
    for i in layers:
        a, o = f"{prefix}{i}.", f"{dst}{i}."
        qkv = [hf_state[a + f"attention.attention.{n}.weight"] for n in ("query", "key", "value")]
        out[o + "attn.qkv.weight"] = torch.cat(qkv)
        out[o + "attn.q_bias"] = hf_state[a + "attention.attention.query.bias"]
        out[o + "attn.v_bias"] = hf_state[a + "attention.attention.value.bias"]
        for ours, theirs in (("attn.proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
                             ("mlp.fc2", "output.dense"), ("norm1", "layernorm_before"), ("norm2", "layernorm_after")):
            for leaf in (".weight", ".bias"):
                out[o + ours + leaf] = hf_state[a + theirs + leaf]
    return out


@pytest.fixture(scope="module")
def video():
    return torch.randn(2, 3, 6, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def hf_cls():
    torch.manual_seed(0)
    return _perturb(VideoMAEForVideoClassification(HFConfig(**HF_TINY)))


@pytest.fixture(scope="module")
def hf_pre():
    torch.manual_seed(0)
    return _perturb(VideoMAEForPreTraining(HFConfig(**HF_TINY, use_mean_pooling=False)))


def hf_logits(model, video):
    with torch.no_grad():
        return model(video.transpose(1, 2)).logits  # (B, C, T, H, W) -> transformers' (B, T, C, H, W)


def test_classifier_from_hf_dir_both_key_namings(hf_cls, video, tmp_path):
    hf_cls.save_pretrained(tmp_path / "files")  # file names: ...attention.attention.q_bias
    saved = json.loads((tmp_path / "files" / "config.json").read_text())
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "config.json").write_text(json.dumps(saved))
    state = hf_cls.state_dict()
    assert any(k.endswith("attention.attention.query.bias") for k in state)  # transformers 5's names in memory
    torch.save(state, tmp_path / "memory" / "pytorch_model.bin")
    expected = hf_logits(hf_cls, video)
    for d in ("files", "memory"):
        ours = VideoViT.from_pretrained(tmp_path / d).eval()
        assert (ours.cfg.num_frames, ours.cfg.image_size, ours.cfg.heads, ours.cfg.num_classes) == (6, 32, 3, 5)
        with torch.no_grad():
            torch.testing.assert_close(ours(video), expected, atol=1e-4, rtol=0)


def test_classifier_from_official_pth(hf_cls, video, tmp_path):
    s = hf_cls.state_dict()
    official = hf_to_official(s)
    official["patch_embed.proj.weight"] = s["videomae.embeddings.patch_embeddings.projection.weight"]
    official["patch_embed.proj.bias"] = s["videomae.embeddings.patch_embeddings.projection.bias"]
    official.update({"fc_norm.weight": s["fc_norm.weight"], "fc_norm.bias": s["fc_norm.bias"],
                     "head.weight": s["classifier.weight"], "head.bias": s["classifier.bias"]})
    torch.save({"module": official, "epoch": 3}, tmp_path / "checkpoint-best.pth")
    ours = VideoViT.from_pretrained(tmp_path / "checkpoint-best.pth", num_frames=6, image_size=32, heads=3).eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(video), hf_logits(hf_cls, video), atol=1e-4, rtol=0)
    # our own state dict IS that official file
    assert set(ours.state_dict()) == set(official)


def test_pretraining_loss_matches_for_the_same_mask(hf_pre, video, tmp_path):
    hf_pre.save_pretrained(tmp_path / "pre")
    ours = VideoMAE.from_pretrained(tmp_path / "pre").eval()
    mask = tube_mask(2, ours.cfg.grid, 0.75, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        loss, pred = ours(video, mask)
        ref = hf_pre(video.transpose(1, 2), bool_masked_pos=mask)
    assert pred.shape == ref.logits.shape == (2, 3 * 12, 2 * 8 * 8 * 3)
    assert abs(loss.item() - ref.loss.item()) < 1e-5
    torch.testing.assert_close(pred, ref.logits, atol=1e-4, rtol=0)


def test_pretraining_from_official_pth(hf_pre, video, tmp_path):
    s = hf_pre.state_dict()
    official = {"encoder." + k: v for k, v in hf_to_official(s).items()}
    official.update(hf_to_official(s, "decoder.decoder_layers.", "decoder.blocks."))
    official["encoder.patch_embed.proj.weight"] = s["videomae.embeddings.patch_embeddings.projection.weight"]
    official["encoder.patch_embed.proj.bias"] = s["videomae.embeddings.patch_embeddings.projection.bias"]
    for ours_key, theirs in (("encoder.norm", "videomae.layernorm"), ("decoder.norm", "decoder.norm"),
                             ("decoder.head", "decoder.head")):
        official[ours_key + ".weight"], official[ours_key + ".bias"] = s[theirs + ".weight"], s[theirs + ".bias"]
    official["encoder_to_decoder.weight"], official["mask_token"] = s["encoder_to_decoder.weight"], s["mask_token"]
    torch.save({"model": official}, tmp_path / "pretrain.pth")
    ours = VideoMAE.from_pretrained(tmp_path / "pretrain.pth", num_frames=6, image_size=32, heads=3,
                                    decoder_heads=2).eval()
    mask = tube_mask(2, ours.cfg.grid, 0.75, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert abs(ours(video, mask)[0].item() - hf_pre(video.transpose(1, 2), bool_masked_pos=mask).loss.item()) < 1e-5


def test_pretraining_checkpoint_into_classifier(hf_pre, video, tmp_path):
    """Encoder only, official recipe: mean-pool the encoder's tokens (its final norm
    dropped), fresh fc_norm (1, 0), head x 0.001; the decoder is dropped."""
    hf_pre.save_pretrained(tmp_path / "pre")
    ours = VideoViT.from_pretrained(tmp_path / "pre", num_classes=7).eval()
    assert ours.head.weight.shape == (7, 48) and ours.head.weight.std() < 1e-4
    assert torch.equal(ours.fc_norm.weight, torch.ones(48))
    with torch.no_grad():
        hf = hf_pre.videomae
        tokens = hf.encoder(hf.embeddings(video.transpose(1, 2), None)).last_hidden_state  # before videomae.layernorm
        expected = F.layer_norm(tokens.mean(1), (48,), eps=1e-6)
        torch.testing.assert_close(ours.forward_features(video), expected, atol=1e-4, rtol=0)


def test_save_pretrained_round_trips_through_transformers(video, tmp_path):
    torch.manual_seed(0)
    hf_cfg = HFConfig(**HF_TINY)
    ours = _perturb(VideoViT.from_pretrained(_saved(VideoMAEForVideoClassification(hf_cfg), tmp_path / "a")))
    ours.save_pretrained(tmp_path / "ours")
    theirs = VideoMAEForVideoClassification.from_pretrained(tmp_path / "ours").eval()
    with torch.no_grad():
        logits = ours(video)
    torch.testing.assert_close(hf_logits(theirs, video), logits, atol=1e-4, rtol=0)
    again = VideoViT.from_pretrained(tmp_path / "ours").eval()  # and back into ours: exact, same config
    assert again.cfg == ours.cfg
    with torch.no_grad():
        assert torch.equal(again(video), logits)


def test_videomae_save_pretrained_round_trips_through_transformers(hf_pre, video, tmp_path):
    ours = _perturb(VideoMAE.from_pretrained(_saved(hf_pre, tmp_path / "a")))
    ours.save_pretrained(tmp_path / "ours")
    theirs = VideoMAEForPreTraining.from_pretrained(tmp_path / "ours").eval()
    mask = tube_mask(2, ours.cfg.grid, 0.5, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert abs(ours(video, mask)[0].item() - theirs(video.transpose(1, 2), bool_masked_pos=mask).loss.item()) < 1e-5


def test_mismatch_errors_name_the_key_and_both_shapes(hf_cls, tmp_path):
    hf_cls.save_pretrained(tmp_path / "cls")
    with pytest.raises(ValueError, match="no decoder"):
        VideoMAE.from_pretrained(tmp_path / "cls")
    with pytest.raises(ValueError, match=r"blocks.0.mlp.fc1.weight: expected shape \(144, 48\), found \(96, 48\)"):
        VideoViT.from_pretrained(tmp_path / "cls", mlp_ratio=3.0)
    # (a classifier without fc_norm, use_mean_pooling=False, now loads: tests/test_backbones.py)
    torch.save({"patch_embed.proj.weight": torch.zeros(8, 3, 4, 4)}, tmp_path / "image.pth")
    with pytest.raises(ValueError, match="Conv3d"):
        VideoViT.from_pretrained(tmp_path / "image.pth")


def test_other_frame_count_and_classes_from_a_classifier(hf_cls, video, tmp_path):
    hf_cls.save_pretrained(tmp_path / "cls")
    ours = VideoViT.from_pretrained(tmp_path / "cls", num_classes=3, num_frames=4, drop_path=0.1).eval()
    assert (ours.cfg.num_frames, ours.cfg.num_classes, ours.cfg.drop_path) == (4, 3, 0.1)
    assert ours(video[:, :, :4]).shape == (2, 3)


def _saved(model, path):
    model.save_pretrained(path)
    return path
