"""What hiding 90% of the tokens saves, counted in multiply-adds (Tong et al. 2022,
section 3.3: the encoder runs on the visible tokens only; He et al. 2022,
section 3, for the same design in ImageMAE).

Attention's QK^T and AV grow like N^2, but the linear layers of a block (qkv,
output projection, MLP) grow like N and are most of the work at N = 1568, so
the encoder is 12.7x cheaper at 90% tube masking, not (1568/160)^2 = 96x; and
the decoder, which runs on all N positions either way, takes a pretraining
step's saving down to 5.9x. One multiply-add is 2 FLOPs; LayerNorm, softmax and
GELU are left out (about 1% of the total). docs/03_videomae.md, section 3.

The papers' "GFLOPs" are multiply-adds: the "180 GFLOPs" of ViT-B at 16x224 in the
VideoMAE paper's Kinetics-400 table is what `classifier_multiply_adds` counts as 180 G
multiply-adds, which is 360 G floating-point operations (`print_flops_convention`).
Counters such as fvcore count one fused multiply-add as one "flop".
"""
from .config import VideoMAEConfig


def multiply_adds(tokens: int, dim: int, depth: int, mlp_ratio: float = 4.0) -> tuple[float, float]:
    """Multiply-adds of `depth` transformer blocks on `tokens` tokens of width `dim`:
    (linear layers, attention). Per block the linear layers (qkv 3, proj 1, MLP
    2*mlp_ratio times D x D per token) grow like N; attention's QK^T and AV
    (N x N x D each) grow like N^2. LayerNorm, softmax and GELU are left out (tiny)."""
    linear = depth * tokens * dim * dim * (4 + 2 * mlp_ratio)
    attention = depth * 2 * tokens * tokens * dim
    return linear, attention


def classifier_multiply_adds(cfg: VideoMAEConfig) -> float:
    """Multiply-adds of one clip through the VideoViT classifier (`cfg.num_classes` > 0): the tubelet
    embedding on all N tubelets, `cfg.depth` blocks on N tokens, the head. The matmuls only, exactly
    what torch.utils.flop_counter counts (tests/test_gpu_check.py); x2 for FLOPs, x3 again for a training
    step (the backward pass is about twice the forward). benchmarks/gpu_check.py divides by it."""
    n, k = cfg.num_tokens, cfg.tubelet_size * cfg.patch_size**2 * cfg.in_chans  # k: numbers per tubelet
    linear, attention = multiply_adds(n, cfg.dim, cfg.depth, cfg.mlp_ratio)
    return n * k * cfg.dim + linear + attention + cfg.dim * cfg.num_classes


def pretraining_cost(cfg: VideoMAEConfig, n_vis: int) -> dict:
    """Print what running the encoder on the `n_vis` visible tokens saves, in multiply-adds
    (1 multiply-add = 2 FLOPs), against the same encoder on every token; returns the
    ratios (all tokens / visible only) of attention's N^2 part, the encoder and a step."""
    n, k = cfg.num_tokens, cfg.tubelet_size * cfg.patch_size**2 * cfg.in_chans  # k: numbers per tubelet
    full = multiply_adds(n, cfg.dim, cfg.depth, cfg.mlp_ratio)
    vis = multiply_adds(n_vis, cfg.dim, cfg.depth, cfg.mlp_ratio)
    # tubelet embedding: only the visible ones are embedded
    embed_full, embed_vis = n * k * cfg.dim, n_vis * k * cfg.dim
    dec_lin, dec_att = multiply_adds(n, cfg.decoder_dim, cfg.decoder_depth, cfg.mlp_ratio)  # on all N positions
    decoder = (dec_lin + dec_att + n_vis * cfg.dim * cfg.decoder_dim  # + in/out layers
               + (n - n_vis) * cfg.decoder_dim * k)
    enc_full, enc_vis = sum(full) + embed_full, sum(vis) + embed_vis
    print(f"  multiply-adds (G = 1e9; 1 multiply-add = 2 FLOPs) of the encoder ({cfg.depth} blocks, D={cfg.dim}), "
          f"{n} tokens -> {n_vis}:")
    for what, a, b in [("attention's N^2 part (QK^T, AV)", full[1], vis[1]),
                       ("linear layers (qkv, proj, MLP)", full[0], vis[0]),
                       ("tubelet embedding", embed_full, embed_vis), ("whole encoder", enc_full, enc_vis)]:
        print(f"    {what:<34} {a / 1e9:7.1f} G -> {b / 1e9:5.2f} G   {a / b:5.1f}x fewer")
    print(f"    pretraining step, forward: encoder + decoder ({cfg.decoder_dim} x {cfg.decoder_depth}, on all {n} "
          f"positions either way) {(enc_full + decoder) / 1e9:.1f} G -> {(enc_vis + decoder) / 1e9:.1f} G   "
          f"{(enc_full + decoder) / (enc_vis + decoder):.1f}x fewer (the backward pass scales the same way)")
    return {"attention_ratio": full[1] / vis[1], "encoder_ratio": enc_full / enc_vis,
            "step_ratio": (enc_full + decoder) / (enc_vis + decoder)}


def print_flops_convention(cfg: VideoMAEConfig) -> dict:
    """Print the classifier's multiply-adds for one clip and the FLOPs they are, next to the
    papers' convention; returns both (G = 1e9)."""
    macs = classifier_multiply_adds(cfg) / 1e9
    print(f"  the classifier (VideoViT, D={cfg.dim} x {cfg.depth} blocks, all {cfg.num_tokens} tokens of a "
          f"{cfg.num_frames}x{cfg.image_size} clip, {cfg.num_classes} classes): {macs:.1f} G multiply-adds "
          f"= {2 * macs:.1f} GFLOPs (1 multiply-add = 2 FLOPs)")
    print("    the VideoMAE paper's \"180 GFLOPs\" for ViT-B 16x224 is this count of multiply-adds (counters such "
          "as fvcore count a multiply-add as one flop): 360 GFLOPs in the usual sense")
    return {"multiply_adds_G": macs, "gflops": 2 * macs}
