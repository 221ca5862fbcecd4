"""The checkpoint converters on their own: a state dict (and a config) in, our
names and our config's fields out; no file is read and no model is built.

Each state dict here is written by hand with the names of one layout (see the
tables in vit/checkpoint.py, imagemae/checkpoint.py, videomae/checkpoint.py),
tiny and filled with zeros, except query / key / value, filled with 0 / 1 / 2
so that the order of the fused `qkv` rows shows. The loaders' tests
(test_vit.py, test_imagemae.py, test_videomae_parity.py, test_checkpoint_*.py)
check the same conversions end to end against transformers.
"""
import pytest
import torch

from imagemae import MAEConfig
from imagemae.checkpoint import convert_mae
from videomae import VideoMAEConfig
from videomae.checkpoint import convert_videomae
from vit import ViT, ViTConfig
from vit.checkpoint import convert_vit
from weights import CheckpointError, ModelKind, count_blocks, load_state

D, HIDDEN, PATCH = 8, 16, 4  # width, MLP hidden (ratio 2), patch side: 12-pixel images are a 3 x 3 grid
QKV = ("query", "key", "value")


def linear(prefix: str, out: int, inp: int, bias: bool = True) -> dict:
    return {prefix + "weight": torch.zeros(out, inp), **({prefix + "bias": torch.zeros(out)} if bias else {})}


def norm(prefix: str, dim: int = D) -> dict:
    return {prefix + "weight": torch.ones(dim), prefix + "bias": torch.zeros(dim)}


def hf_layer(prefix: str, dim: int = D, video: bool = False) -> dict:
    """One transformers layer as its files name it: query / key / value apart,
    with ViT's biases (`query.bias`, `key.bias`, `value.bias`) or VideoMAE's
    (`q_bias`, `v_bias`: no key bias)."""
    a = prefix + "attention.attention."
    layer = {f"{a}{n}.weight": torch.full((dim, dim), float(i)) for i, n in enumerate(QKV)}
    if video:
        layer.update({a + "q_bias": torch.zeros(dim), a + "v_bias": torch.full((dim,), 2.0)})
    else:
        layer.update({f"{a}{n}.bias": torch.full((dim,), float(i)) for i, n in enumerate(QKV)})
    return {**layer, **linear(prefix + "attention.output.dense.", dim, dim), **norm(prefix + "layernorm_before.", dim),
            **linear(prefix + "intermediate.dense.", 2 * dim, dim), **linear(prefix + "output.dense.", dim, 2 * dim),
            **norm(prefix + "layernorm_after.", dim)}


def our_block(prefix: str, dim: int = D) -> dict:
    """One block in our names (= timm's and the official repositories')."""
    return {**norm(prefix + "norm1.", dim), **linear(prefix + "attn.qkv.", 3 * dim, dim),
            **linear(prefix + "attn.proj.", dim, dim), **norm(prefix + "norm2.", dim),
            **linear(prefix + "mlp.fc1.", 2 * dim, dim), **linear(prefix + "mlp.fc2.", dim, 2 * dim)}


def block_names(prefix: str, video: bool = False) -> set:
    names = set(our_block(prefix))
    if video:  # VideoMAE: a bias on query and value only
        names = names - {prefix + "attn.qkv.bias"} | {prefix + "attn.q_bias", prefix + "attn.v_bias"}
    return names


def assert_fused_in_order(qkv: torch.Tensor, dim: int = D) -> None:
    """Rows [0:D] query, [D:2D] key, [2D:3D] value (filled with 0, 1, 2)."""
    for i in range(3):
        assert torch.all(qkv[i * dim:(i + 1) * dim] == i)


# -- ViT -------------------------------------------------------------------------------------
def hf_vit_state(classes: int = 5) -> dict:
    """transformers ViTForImageClassification, 2 layers, as its model.safetensors names it."""
    return {
        "vit.embeddings.cls_token": torch.zeros(1, 1, D),
        "vit.embeddings.position_embeddings": torch.randn(1, 1 + 9, D),
        "vit.embeddings.patch_embeddings.projection.weight": torch.zeros(D, 3, PATCH, PATCH),
        "vit.embeddings.patch_embeddings.projection.bias": torch.zeros(D),
        **hf_layer("vit.encoder.layer.0."), **hf_layer("vit.encoder.layer.1."),
        **norm("vit.layernorm."), **linear("classifier.", classes, D),
    }


def test_convert_vit_transformers_names_to_ours_and_the_config_fields():
    state = hf_vit_state()
    given = set(state)
    ours, fields = convert_vit(state, {"num_attention_heads": 2, "layer_norm_eps": 1e-12}, "hf_vit_dir")
    assert set(state) == given  # pure: the input is left as it was
    assert set(ours) == ({"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias",
                          "norm.weight", "norm.bias", "head.weight", "head.bias"}
                         | block_names("blocks.0.") | block_names("blocks.1."))
    assert_fused_in_order(ours["blocks.1.attn.qkv.weight"])
    assert_fused_in_order(ours["blocks.1.attn.qkv.bias"])
    assert ours["pos_embed"] is state["vit.embeddings.position_embeddings"]
    assert fields == dict(image_size=12, patch_size=PATCH, in_chans=3, num_classes=5, dim=D, depth=2, heads=2,
                          mlp_ratio=2.0, qkv_bias=True, pool="cls", pos_embed="learned", layer_norm_eps=1e-12)
    ViTConfig(**fields)  # the fields are ViTConfig's


def test_convert_vit_new_classes_size_and_mae_fine_tuning_recipe():
    """An official MAE pretraining file (timm names + the decoder at the top level)
    into a mean-pooling classifier of another size and class count."""
    mae = {"cls_token": torch.zeros(1, 1, D), "pos_embed": torch.randn(1, 1 + 9, D),
           "patch_embed.proj.weight": torch.zeros(D, 3, PATCH, PATCH), "patch_embed.proj.bias": torch.zeros(D),
           **our_block("blocks.0."), **norm("norm."),
           "mask_token": torch.zeros(1, 1, 6), **linear("decoder_embed.", 6, D), **our_block("decoder_blocks.0.", 6)}
    ours, fields = convert_vit(mae, None, "mae_visualize.pth", heads=2, num_classes=3, image_size=20, pool="mean",
                               drop_path=0.1)
    assert set(ours) == {"cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias"} | block_names(
        "blocks.0.")  # no decoder, no mask token; no final norm (mean pooling gets a fresh fc_norm); no head yet
    assert ours["pos_embed"].shape == (1, 1 + 25, D)  # 3 x 3 -> 5 x 5, resized
    torch.testing.assert_close(ours["pos_embed"][:, 0], mae["pos_embed"][:, 0])  # the cls row is kept
    assert (fields["num_classes"], fields["image_size"], fields["pool"], fields["drop_path"]) == (3, 20, "mean", 0.1)
    assert fields["pos_embed"] == "learned" and fields["depth"] == 1


# -- MAE -------------------------------------------------------------------------------------
DD = 6  # decoder width


def official_mae_state() -> dict:
    """facebookresearch/mae's names (mae_visualize_*.pth, under 'model')."""
    return {"cls_token": torch.zeros(1, 1, D), "pos_embed": torch.randn(1, 1 + 9, D),
            "patch_embed.proj.weight": torch.zeros(D, 3, PATCH, PATCH), "patch_embed.proj.bias": torch.zeros(D),
            **our_block("blocks.0."), **our_block("blocks.1."), **norm("norm."),
            "mask_token": torch.zeros(1, 1, DD), **linear("decoder_embed.", DD, D),
            "decoder_pos_embed": torch.randn(1, 1 + 9, DD), **our_block("decoder_blocks.0.", DD),
            **norm("decoder_norm.", DD), **linear("decoder_pred.", PATCH * PATCH * 3, DD)}


MAE_NAMES = ({"encoder.cls_token", "encoder.pos_embed", "encoder.patch_embed.proj.weight",
              "encoder.patch_embed.proj.bias", "encoder.norm.weight", "encoder.norm.bias", "mask_token",
              "decoder_embed.weight", "decoder_embed.bias", "decoder_pos_embed", "decoder_norm.weight",
              "decoder_norm.bias", "decoder_pred.weight", "decoder_pred.bias"}
             | block_names("encoder.blocks.0.") | block_names("encoder.blocks.1.") | block_names("decoder_blocks.0."))


def test_convert_mae_official_names_keep_the_position_tables():
    state = official_mae_state()
    ours, fields = convert_mae(state, None, "mae_visualize.pth", heads=2, decoder_heads=3, mask_ratio=0.9)
    assert set(ours) == MAE_NAMES
    # the fixed tables stay in the state, as the file has them (load_state copies them into the buffers)
    assert ours["encoder.pos_embed"] is state["pos_embed"] and ours["decoder_pos_embed"] is state["decoder_pos_embed"]
    assert fields == dict(patch_size=PATCH, in_chans=3, dim=D, decoder_dim=DD, depth=2, decoder_depth=1,
                          mlp_ratio=2.0, decoder_mlp_ratio=2.0, image_size=12, heads=2, decoder_heads=3,
                          mask_ratio=0.9)
    MAEConfig(**fields)


def test_convert_mae_transformers_names_and_config():
    hf = {"vit.embeddings.cls_token": torch.zeros(1, 1, D),
          "vit.embeddings.position_embeddings": torch.randn(1, 1 + 9, D),
          "vit.embeddings.patch_embeddings.projection.weight": torch.zeros(D, 3, PATCH, PATCH),
          "vit.embeddings.patch_embeddings.projection.bias": torch.zeros(D),
          **hf_layer("vit.encoder.layer.0."), **hf_layer("vit.encoder.layer.1."), **norm("vit.layernorm."),
          "decoder.mask_token": torch.zeros(1, 1, DD), **linear("decoder.decoder_embed.", DD, D),
          "decoder.decoder_pos_embed": torch.randn(1, 1 + 9, DD),
          **hf_layer("decoder.decoder_layers.0.", DD),  # hub files; transformers 5 writes decoder_encoder.layer.0
          **norm("decoder.decoder_norm.", DD), **linear("decoder.decoder_pred.", PATCH * PATCH * 3, DD)}
    config = {"model_type": "vit_mae", "image_size": 12, "num_attention_heads": 2, "decoder_num_attention_heads": 3,
              "layer_norm_eps": 1e-12, "mask_ratio": 0.6, "norm_pix_loss": True}
    ours, fields = convert_mae(hf, config, "hf_mae_dir")
    assert set(ours) == MAE_NAMES
    assert_fused_in_order(ours["decoder_blocks.0.attn.qkv.weight"], DD)
    assert ours["decoder_pos_embed"] is hf["decoder.decoder_pos_embed"]
    assert (fields["heads"], fields["decoder_heads"]) == (2, 3)
    assert (fields["mask_ratio"], fields["norm_pix_loss"]) == (0.6, True)
    assert fields["layer_norm_eps"] == 1e-12 and fields["image_size"] == 12


# -- VideoMAE ----------------------------------------------------------------------------------
def hf_videomae_state(classifier: bool) -> dict:
    """transformers VideoMAE file names: a classifier (fc_norm, classifier) or the
    pretraining model (layernorm, encoder_to_decoder, mask_token, decoder)."""
    state = {"videomae.embeddings.patch_embeddings.projection.weight": torch.zeros(D, 3, 2, PATCH, PATCH),
             "videomae.embeddings.patch_embeddings.projection.bias": torch.zeros(D),
             **hf_layer("videomae.encoder.layer.0.", video=True), **hf_layer("videomae.encoder.layer.1.", video=True)}
    if classifier:
        return {**state, **norm("fc_norm."), **linear("classifier.", 7, D)}
    return {**state, **norm("videomae.layernorm."), **linear("encoder_to_decoder.", DD, D, bias=False),
            "mask_token": torch.zeros(1, 1, DD), **hf_layer("decoder.decoder_layers.0.", DD, video=True),
            **norm("decoder.norm.", DD), **linear("decoder.head.", 2 * PATCH * PATCH * 3, DD)}


VIDEO_CONFIG = {"model_type": "videomae", "image_size": 12, "num_frames": 4, "num_attention_heads": 2,
                "decoder_num_attention_heads": 3, "decoder_hidden_size": DD, "decoder_num_hidden_layers": 1}


def test_convert_videomae_classifier_names():
    state = hf_videomae_state(classifier=True)
    ours, fields = convert_videomae(state, VIDEO_CONFIG, "hf_video_dir", classifier=True)
    assert set(ours) == ({"patch_embed.proj.weight", "patch_embed.proj.bias", "fc_norm.weight", "fc_norm.bias",
                          "head.weight", "head.bias"} | block_names("blocks.0.", video=True)
                         | block_names("blocks.1.", video=True))  # the official fine-tuned names
    assert_fused_in_order(ours["blocks.0.attn.qkv.weight"])
    assert torch.all(ours["blocks.0.attn.v_bias"] == 2)
    assert (fields["dim"], fields["depth"], fields["heads"]) == (D, 2, 2)
    assert (fields["tubelet_size"], fields["patch_size"]) == (2, 4)
    assert (fields["num_classes"], fields["num_frames"], fields["image_size"]) == (7, 4, 12)
    VideoMAEConfig(**fields)

    new, fields = convert_videomae(state, VIDEO_CONFIG, "hf_video_dir", classifier=True, num_classes=3, num_frames=8)
    assert not any(k.startswith("head.") for k in new)  # another class count: the model's fresh head
    assert (fields["num_classes"], fields["num_frames"]) == (3, 8)


def test_convert_videomae_pretraining_names_into_both_models():
    state = hf_videomae_state(classifier=False)
    ours, fields = convert_videomae(state, VIDEO_CONFIG, "hf_videomae_dir")
    assert set(ours) == ({"encoder.patch_embed.proj.weight", "encoder.patch_embed.proj.bias", "encoder.norm.weight",
                          "encoder.norm.bias", "encoder_to_decoder.weight", "mask_token", "decoder.norm.weight",
                          "decoder.norm.bias", "decoder.head.weight", "decoder.head.bias"}
                         | block_names("encoder.blocks.0.", video=True) | block_names("encoder.blocks.1.", video=True)
                         | block_names("decoder.blocks.0.", video=True))
    assert (fields["decoder_dim"], fields["decoder_depth"], fields["decoder_heads"]) == (DD, 1, 3)
    # the classifier takes the encoder only, without its final norm (mean pooling + a fresh fc_norm)
    encoder, _ = convert_videomae(state, VIDEO_CONFIG, "hf_videomae_dir", classifier=True)
    assert set(encoder) == {"patch_embed.proj.weight", "patch_embed.proj.bias"} | block_names(
        "blocks.0.", video=True) | block_names("blocks.1.", video=True)


# -- the shared steps ------------------------------------------------------------------------
def test_count_blocks_and_the_model_kind_check():
    state = {**our_block("blocks.0."), **our_block("blocks.1."), **our_block("blocks.10."),
             "patch_embed.proj.weight": torch.zeros(D, 3, 2, PATCH, PATCH)}
    assert count_blocks(state, "blocks.") == 3 and count_blocks(state, "decoder_blocks.") == 0
    image_vit = ModelKind("an image ViT", formats="FORMATS", embed="patch_embed.proj.weight", blocks=("blocks.",),
                          other="videomae.VideoViT.from_pretrained")
    with pytest.raises(CheckpointError) as err:
        image_vit.check(state, "a video model", "some.pth")
    assert str(err.value) == ("some.pth: not an image ViT checkpoint: expected a 2-D patch embedding (D, C, p, p), "
                              "found a video model; load a video model with videomae.VideoViT.from_pretrained. "
                              "Expected FORMATS.")
    video = ModelKind("a VideoMAE", formats="FORMATS", embed="patch_embed.proj.weight", blocks=("blocks.",),
                      video=True, other="vit.ViT.from_pretrained")
    video.check(state, "a video model", "some.pth")  # the right kind: no error


def test_load_state_keeps_fresh_modules_and_copies_fixed_tables():
    model = ViT(ViTConfig(image_size=12, patch_size=PATCH, dim=D, depth=1, heads=2, mlp_ratio=2.0, num_classes=3,
                          pos_embed="sincos"))
    state = {k: torch.full_like(v, 0.5) for k, v in model.state_dict().items() if not k.startswith("head.")}
    state["pos_embed"] = torch.full((1, 1 + 9, D), 0.25)  # a fixed table (non-persistent buffer) stored in a file
    head = model.head.weight.clone()
    load_state(model, state, "file.pth", fresh=("head.",))
    assert torch.equal(model.head.weight, head) and torch.all(model.pos_embed == 0.25)
    with pytest.raises(CheckpointError, match=r"missing head.weight"):
        load_state(model, state, "file.pth")  # without `fresh` a missing head is an error
    state["pos_embed"] = torch.zeros(1, 5, D)
    with pytest.raises(CheckpointError, match=r"pos_embed: expected shape \(1, 10, 8\), found \(1, 5, 8\)"):
        load_state(model, state, "file.pth", fresh=("head.",))
