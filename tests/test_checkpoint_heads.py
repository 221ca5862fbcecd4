"""Head counts are never guessed: ViT-H-shaped models against transformers.

Official MAE / VideoMAE / timm `.pth` files store no head count. ViT-H is 1280
wide with 16 heads of 80 (width // 64 would say 20, which loads without an
error and computes something else), and the VideoMAE-H decoder is 640 wide
with 8 heads (not 10). Each model here is a randomly initialised transformers
model with those widths (2 blocks, 32-pixel inputs, so it stays fast on CPU),
written both as a transformers directory (config.json says the heads) and in the
official layout (nothing says them: the released models' table must); ours must
match transformers within 1e-4 from both. A width no released model has is
refused with a message asking for `heads=` / `decoder_heads=`.
"""
import pytest
import torch
from safetensors.torch import load_file
from test_imagemae import _official_pth
from test_videomae_parity import hf_to_official
from test_vit import timm_state_from_hf
from transformers import VideoMAEConfig as HFVideoMAEConfig
from transformers import (
    VideoMAEForPreTraining,
    VideoMAEForVideoClassification,
    ViTForImageClassification,
    ViTMAEConfig,
    ViTMAEForPreTraining,
    ViTModel,
)
from transformers import ViTConfig as HFViTConfig

from imagemae import MAE, MAEConfig
from videomae import VideoMAE, VideoMAEConfig, VideoViT, tube_mask
from vit import ViT, ViTConfig
from weights import RELEASED_HEADS, CheckpointError

# ViT-H's width and heads; a narrow MLP (320 = 0.25 x 1280) keeps the files small:
# the head count depends on the attention only.
VIT_H = dict(hidden_size=1280, num_attention_heads=16, num_hidden_layers=2, intermediate_size=320,
             image_size=32, patch_size=16, layer_norm_eps=1e-6)  # timm / official eps, as our loaders assume


def perturb(model, seed=0, std=0.02):
    """Move every weight off its init (biases 0, norms 1) so that the attention
    is far from uniform and the way it is split into heads shows in the output."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * std)
    return model.eval()


def close(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)


def test_the_table_holds_the_released_models():
    assert RELEASED_HEADS["encoder"] == {192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16, 1408: 16}
    assert RELEASED_HEADS["MAE decoder"] == {512: 16}
    assert RELEASED_HEADS["VideoMAE decoder"] == {192: 3, 384: 6, 512: 8, 640: 8}


# -- ViT: timm / official file and transformers directory --------------------------------
def test_vit_h_from_timm_pth_and_hf_directory(tmp_path):
    torch.manual_seed(0)
    hf = perturb(ViTForImageClassification(HFViTConfig(**VIT_H, num_labels=3)))
    images = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = hf(pixel_values=images).logits
    hf.save_pretrained(tmp_path / "hf")
    file_names = load_file(str(tmp_path / "hf" / "model.safetensors"))  # transformers 5 renames them in memory
    torch.save(timm_state_from_hf(file_names, depth=2), tmp_path / "vit_huge_timm.pth")

    for path in (tmp_path / "hf", tmp_path / "vit_huge_timm.pth"):
        ours = ViT.from_pretrained(path).eval()
        assert ours.cfg.heads == 16, path
        with torch.no_grad():
            close(ours(images), expected)
    # the old guess, width // 64 = 20 heads, loads without error but computes something else
    wrong = ViT.from_pretrained(tmp_path / "vit_huge_timm.pth", heads=20).eval()
    with torch.no_grad():
        assert (wrong(images) - expected).abs().max() > 1e-2

    # ViTModel (no head): the directory's features equal last_hidden_state
    base = ViTModel(hf.config, add_pooling_layer=False).eval()
    base.load_state_dict({k[4:]: v for k, v in hf.state_dict().items() if k.startswith("vit.")})
    base.save_pretrained(tmp_path / "base")
    with torch.no_grad():
        close(ViT.from_pretrained(tmp_path / "base").eval().forward_features(images),
              base(pixel_values=images).last_hidden_state)


# -- ImageMAE: official file and transformers directory --------------------------------------
def test_mae_vit_h_from_official_pth_and_hf_directory(tmp_path):
    cfg = ViTMAEConfig(**{**VIT_H, "patch_size": 8}, decoder_hidden_size=512, decoder_num_attention_heads=16,
                       decoder_num_hidden_layers=1, decoder_intermediate_size=128, mask_ratio=0.75)
    torch.manual_seed(0)
    hf = perturb(ViTMAEForPreTraining(cfg))
    g = torch.Generator().manual_seed(1)
    images, noise = torch.randn(2, 3, 32, 32, generator=g), torch.rand(2, 16, generator=g)
    with torch.no_grad():
        ref = hf(pixel_values=images, noise=noise)
    hf.save_pretrained(tmp_path / "hf")
    from_dir = MAE.from_pretrained(tmp_path / "hf")
    _official_pth(from_dir, tmp_path / "mae_visualize_vit_huge.pth")  # the official names, no head count

    for path in (tmp_path / "hf", tmp_path / "mae_visualize_vit_huge.pth"):
        ours = MAE.from_pretrained(path).eval()
        assert (ours.cfg.heads, ours.cfg.decoder_heads) == (16, 16), path
        with torch.no_grad():
            loss, pred, mask = ours(images, noise=noise)
        assert torch.equal(mask, ref.mask.bool())
        close(pred, ref.logits)
        assert abs(loss.item() - ref.loss.item()) < 1e-4


# -- VideoMAE: official files and transformers directories -------------------------------------
VIDEO_H = dict(VIT_H, num_frames=4, tubelet_size=2)


def official_videomae(hf_state: dict, pretraining: bool) -> dict:
    """transformers' VideoMAE names -> MCG-NJU/VideoMAE's (fine-tuned or pretraining layout)."""
    enc = "encoder." if pretraining else ""
    out = {enc + k: v for k, v in hf_to_official(hf_state).items()}
    out[enc + "patch_embed.proj.weight"] = hf_state["videomae.embeddings.patch_embeddings.projection.weight"]
    out[enc + "patch_embed.proj.bias"] = hf_state["videomae.embeddings.patch_embeddings.projection.bias"]
    if not pretraining:
        for ours, theirs in (("fc_norm", "fc_norm"), ("head", "classifier")):
            out[ours + ".weight"], out[ours + ".bias"] = hf_state[theirs + ".weight"], hf_state[theirs + ".bias"]
        return out
    out.update(hf_to_official(hf_state, "decoder.decoder_layers.", "decoder.blocks."))
    for ours, theirs in (("encoder.norm", "videomae.layernorm"), ("decoder.norm", "decoder.norm"),
                         ("decoder.head", "decoder.head")):
        out[ours + ".weight"], out[ours + ".bias"] = hf_state[theirs + ".weight"], hf_state[theirs + ".bias"]
    out["encoder_to_decoder.weight"], out["mask_token"] = hf_state["encoder_to_decoder.weight"], hf_state["mask_token"]
    return out


@pytest.fixture(scope="module")
def clip():
    return torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))  # (B, C, T, H, W)


def test_videovit_h_from_official_pth_and_hf_directory(tmp_path, clip):
    torch.manual_seed(0)
    hf = perturb(VideoMAEForVideoClassification(HFVideoMAEConfig(**VIDEO_H, num_labels=3)))
    with torch.no_grad():
        expected = hf(clip.transpose(1, 2)).logits  # transformers takes (B, T, C, H, W)
    hf.save_pretrained(tmp_path / "hf")
    torch.save({"module": official_videomae(hf.state_dict(), pretraining=False)}, tmp_path / "checkpoint.pth")

    for path in (tmp_path / "hf", tmp_path / "checkpoint.pth"):
        ours = VideoViT.from_pretrained(path, num_frames=4, image_size=32).eval()  # frames and size: not in the .pth
        assert ours.cfg.heads == 16, path
        with torch.no_grad():
            close(ours(clip), expected)


def test_videomae_h_from_official_pth_and_hf_directory(tmp_path, clip):
    cfg = HFVideoMAEConfig(
        **VIDEO_H, decoder_hidden_size=640, decoder_num_attention_heads=8,  # the VideoMAE-H decoder
        decoder_num_hidden_layers=1, decoder_intermediate_size=160,  # our decoder: encoder's MLP ratio
        use_mean_pooling=False, norm_pix_loss=True)
    torch.manual_seed(0)
    hf = perturb(VideoMAEForPreTraining(cfg))
    mask = tube_mask(2, (2, 2, 2), 0.5, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = hf(clip.transpose(1, 2), bool_masked_pos=mask)
    hf.save_pretrained(tmp_path / "hf")
    torch.save({"model": official_videomae(hf.state_dict(), pretraining=True)}, tmp_path / "pretrain.pth")

    for path in (tmp_path / "hf", tmp_path / "pretrain.pth"):
        ours = VideoMAE.from_pretrained(path, num_frames=4, image_size=32).eval()
        assert (ours.cfg.heads, ours.cfg.decoder_heads) == (16, 8), path
        with torch.no_grad():
            loss, pred = ours(clip, mask)
        close(pred, ref.logits)
        assert abs(loss.item() - ref.loss.item()) < 1e-4
    # the pretraining file's encoder into the classifier: the decoder is not needed, nor its heads
    assert VideoViT.from_pretrained(tmp_path / "pretrain.pth", num_frames=4, image_size=32).cfg.heads == 16


# -- a width no released model has ---------------------------------------------------------------
def _unknown_width_files(tmp_path) -> dict:
    """Each loader's file, 96 wide (no released model), saved without a config."""
    torch.manual_seed(0)
    video = dict(image_size=16, patch_size=8, num_frames=2, dim=96, depth=1, heads=4, decoder_dim=96,
                 decoder_depth=1, decoder_heads=4, num_classes=3)
    models = {
        "ViT": ViT(ViTConfig(image_size=16, patch_size=8, dim=96, depth=1, heads=4, num_classes=3)),
        "MAE": MAE(MAEConfig(image_size=16, patch_size=8, dim=96, depth=1, heads=4, decoder_dim=96,
                             decoder_depth=1, decoder_heads=4)),
        "VideoViT": VideoViT(VideoMAEConfig(**video)),
        "VideoMAE": VideoMAE(VideoMAEConfig(**video)),
    }
    files = {}
    for name, model in models.items():
        files[name] = tmp_path / f"{name}_96.pth"
        torch.save({"model": model.state_dict()}, files[name])
    return files


@pytest.mark.parametrize("cls", [ViT, MAE, VideoViT, VideoMAE], ids=lambda c: c.__name__)
def test_an_unknown_width_is_refused_and_heads_makes_it_load(tmp_path, cls):
    path = _unknown_width_files(tmp_path)[cls.__name__]
    with pytest.raises(CheckpointError) as err:
        cls.from_pretrained(path)
    msg = str(err.value)
    assert str(path) in msg and "width 96" in msg and "heads=N" in msg, msg
    if cls in (MAE, VideoMAE):  # the decoder's count is asked for by its own name
        with pytest.raises(CheckpointError, match="decoder_heads=N") as err:
            cls.from_pretrained(path, heads=4)
        assert str(path) in str(err.value)
        loaded = cls.from_pretrained(path, heads=4, decoder_heads=4)
        assert (loaded.cfg.heads, loaded.cfg.decoder_heads) == (4, 4)
    else:
        assert cls.from_pretrained(path, heads=4).cfg.heads == 4
