"""The kernel-level choices behind `vit/blocks.py`, measured at VideoViT-B's
shapes (16x224: N = 1568 tokens, D = 768, 12 heads of 64), and the routes that
were tried for a faster CPU forward and not kept (docs/benchmarks.md).

    python benchmarks/cpu_kernels.py [--batch 1] [--repeats 12] [--threads N] [--compile]

Each group's variants run interleaved (the order flips every repeat) and the
median time of each is printed in ms, with its ratio to the first variant:

  attention layout  SDPA on q, k, v sliced from one (B, N, 3D) matmul output
                    vs on three (B, N, D) outputs (what `Attention` does)
  qkv matmul        one (D -> 3D) matmul vs three (D -> D)
  GELU              out of place vs in place on the MLP's hidden tensor
  Linear            F.linear (MKL) vs the same as a 1x1 conv (oneDNN) vs MKL
                    pre-packed weights (`torch.ops.mkl._mkl_linear`, private)
  attention         SDPA vs softmax(QK^T)V by hand in query chunks
  --compile         videovit_base forward: eager vs torch.compile (slow)
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from einops import rearrange
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N, D, HEADS = 1568, 768, 12


def race(title: str, variants: dict, repeats: int) -> None:
    """Time each zero-argument callable `repeats` times, interleaved; print medians."""
    times = {name: [] for name in variants}
    with torch.no_grad():
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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=12)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
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
        race(f"Linear {d_in} -> {d_out}", variants, args.repeats)

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
