"""The kernel-level choices behind `vit/blocks.py`, measured at VideoViT-B's
shapes (16x224: N = 1568 tokens, D = 768, 12 heads of 64), and the routes that
were tried for a faster CPU forward and not kept (docs/benchmarks.md). In each
group the first variant is what `vit/blocks.py` does.

    python -m benchmarks.cpu_kernels [--batch 1] [--repeats 12] [--threads N] [--blocks] [--compile]

Each group's variants run interleaved (the order flips every repeat) and the
median time of each is printed in ms, with its ratio to the first variant:

  attention layout  SDPA on q, k, v sliced from one (B, N, 3D) matmul output
                    vs on three (B, N, D) outputs (from three matmuls)
  qkv matmul        one (D -> 3D) matmul vs three (D -> D)
  GELU              out of place vs in place on the MLP's hidden tensor
                    (in place only works with autograd off)
  Linear            F.linear (MKL) vs the same as a 1x1 conv (oneDNN) vs MKL
                    pre-packed weights (`torch.ops.mkl._mkl_linear`, private)
  attention         SDPA vs softmax(QK^T)V by hand in query chunks
  --blocks          VideoViT-B's 12 blocks as `vit/blocks.py` runs them vs with
                    the tricks it no longer has (q, k, v from three matmuls;
                    GELU and the residual adds in place, autograd off only):
                    inference, and forward + backward
  --compile         videovit_base forward: eager vs torch.compile (slow)
"""
import argparse
import statistics
import time

import torch
from einops import rearrange
from torch.nn import functional as F

N, D, HEADS = 1568, 768, 12


def race(title: str, variants: dict, repeats: int, grad: bool = False) -> None:
    """Time each zero-argument callable `repeats` times, interleaved; print medians.
    Autograd is off unless `grad`."""
    times = {name: [] for name in variants}
    with torch.set_grad_enabled(grad):
        for fn in variants.values():
            fn()  # warm-up
        for r in range(repeats):
            order = list(variants.items()) if r % 2 == 0 else list(reversed(variants.items()))
            for name, fn in order:
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    med = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    first = next(iter(med.values()))
    print(title)
    for name, ms in med.items():
        print(f"  {name:<34} {ms:8.2f} ms  {ms / first:5.2f}x the first")


def attention_three_matmuls(attn, x: torch.Tensor) -> torch.Tensor:
    """`Attention.forward` with q, k, v from three matmuls on the row blocks of the
    `qkv` weight (three (B, N, D) buffers) instead of one (B, N, 3D) output."""
    bias = attn.qkv_bias()
    biases = bias.chunk(3) if bias is not None else (None, None, None)
    q, k, v = (rearrange(F.linear(x, w, b), "b n (h d) -> b h n d", h=attn.heads)
               for w, b in zip(attn.qkv.weight.chunk(3), biases))  # 3 x (B, h, N, d)
    out = F.scaled_dot_product_attention(q, k, v)  # (B, h, N, d)
    return attn.proj(rearrange(out, "b h n d -> b n (h d)"))


def block_with_removed_tricks(block, x: torch.Tensor, in_place: bool) -> torch.Tensor:
    """`Block.forward` at evaluation (no LayerScale, DropPath off) with three q, k, v
    matmuls and, with `in_place` (autograd off only), GELU and the residual adds
    written into tensors the block has just made."""
    a = attention_three_matmuls(block.attn, block.norm1(x))
    x = a.add_(x) if in_place else x + a
    h = block.mlp.fc1(block.norm2(x))
    h = torch.ops.aten.gelu_(h) if in_place else F.gelu(h)
    m = block.mlp.fc2(h)
    return m.add_(x) if in_place else x + m


def linear_variants(m: int, d_in: int, d_out: int) -> dict:
    """One (M, d_in) @ (d_in -> d_out) Linear three ways, as zero-argument callables."""
    inp, w, bias = torch.randn(m, d_in), torch.randn(d_out, d_in) * 0.02, torch.zeros(d_out)
    conv_w = w.view(d_out, d_in, 1, 1)
    image = inp.view(1, m, 1, d_in).permute(0, 3, 1, 2)  # (1, d_in, M, 1) channels-last view: no copy
    variants = {
        "F.linear (MKL sgemm)": lambda: F.linear(inp, w, bias),
        "1x1 conv (oneDNN)": lambda: F.conv2d(image, conv_w, bias),
    }
    if torch.backends.mkl.is_available() and hasattr(torch.ops.mkl, "_mkl_linear"):
        packed = torch.ops.mkl._mkl_reorder_linear_weight(w, m)
        variants["MKL pre-packed (private op)"] = lambda: torch.ops.mkl._mkl_linear(inp, packed, w, bias, m)
    return variants


def race_blocks(batch: int, repeats: int) -> None:
    from videomae import videovit_base

    model = videovit_base(num_classes=400).eval()
    with torch.no_grad():
        tokens = model.embed(torch.randn(batch, 3, 16, 224, 224))  # (B, N, D)

    def stack(block_fn):
        def run():
            x = tokens
            for block in model.blocks:
                x = block_fn(block, x)
            return x
        return run

    variants = {
        "vit/blocks.py": stack(lambda block, x: block(x)),
        "three q, k, v matmuls": stack(lambda block, x: block_with_removed_tricks(block, x, in_place=False)),
        "+ GELU, residual adds in place": stack(lambda block, x: block_with_removed_tricks(block, x, in_place=True)),
    }
    with torch.no_grad():
        reference = variants["vit/blocks.py"]()
        for fn in variants.values():
            torch.testing.assert_close(fn(), reference, atol=1e-4, rtol=1e-4)  # the same numbers
    race(f"VideoViT-B 12 blocks, inference, batch {batch}", variants, repeats)

    def train_step(fn):
        def run():
            model.zero_grad(set_to_none=True)
            fn().square().mean().backward()
        return run

    training = {name: train_step(variants[name]) for name in ("vit/blocks.py", "three q, k, v matmuls")}
    race(f"VideoViT-B 12 blocks, forward + backward, batch {batch}", training, repeats, grad=True)


def main():
    p = argparse.ArgumentParser(prog="python -m benchmarks.cpu_kernels", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=12)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--blocks", action="store_true", help="also time the 12 blocks against the removed tricks")
    p.add_argument("--compile", action="store_true", help="also time torch.compile of videovit_base (minutes)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b, m = args.batch, args.batch * N
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {b}: {m} tokens of {D}")

    x = torch.randn(b, N, D)
    qkv = torch.randn(b, N, 3 * D)
    sliced = rearrange(qkv, "b n (three h d) -> three b h n d", three=3, h=HEADS)  # 3 x (B, h, N, d), token stride 3D
    separate = [rearrange(t.contiguous(), "b n (h d) -> b h n d", h=HEADS) for t in qkv.chunk(3, dim=-1)]  # stride D
    race("attention layout (SDPA)", {
        "q, k, v sliced from (B, N, 3D)": lambda: F.scaled_dot_product_attention(*sliced),
        "q, k, v in three (B, N, D)": lambda: F.scaled_dot_product_attention(*separate),
    }, args.repeats)

    w_qkv = torch.randn(3 * D, D) * 0.02
    race("qkv matmul", {
        "one D -> 3D": lambda: F.linear(x, w_qkv),
        "three D -> D": lambda: [F.linear(x, w) for w in w_qkv.chunk(3)],
    }, args.repeats)

    w1, b1 = torch.randn(4 * D, D) * 0.02, torch.zeros(4 * D)
    race("GELU on the MLP hidden (fc1 + GELU)", {
        "out of place": lambda: F.gelu(F.linear(x, w1, b1)),
        "in place": lambda: torch.ops.aten.gelu_(F.linear(x, w1, b1)),
    }, args.repeats)

    for d_in, d_out in ((D, 4 * D), (4 * D, D), (D, D)):
        race(f"Linear {d_in} -> {d_out}", linear_variants(m, d_in, d_out), args.repeats)

    q, k, v = separate
    scale = (D // HEADS) ** -0.5

    def by_hand(chunk: int):
        def run():
            out = torch.empty_like(q)
            for i in range(0, N, chunk):
                scores = (q[:, :, i:i + chunk] * scale) @ k.transpose(-2, -1)  # (B, h, chunk, N)
                out[:, :, i:i + chunk] = scores.softmax(dim=-1) @ v
            return out
        return run

    race("attention", {"SDPA": lambda: F.scaled_dot_product_attention(q, k, v),
                       **{f"by hand, {c} queries at a time": by_hand(c) for c in (64, 128, 256)}}, args.repeats)

    if args.blocks:
        race_blocks(b, args.repeats)

    if args.compile:
        from videomae import videovit_base

        model = videovit_base(num_classes=400).eval()
        video = torch.randn(b, 3, 16, 224, 224)
        compiled = torch.compile(model)
        t = time.perf_counter()
        with torch.no_grad():
            compiled(video)
        print(f"torch.compile + first call: {time.perf_counter() - t:.1f} s")
        race("videovit_base forward", {"eager": lambda: model(video), "torch.compile": lambda: compiled(video)},
             max(3, args.repeats // 4))


if __name__ == "__main__":
    main()
