"""Why MAE's encoder skips the masked patches: one pretraining step of `mae_base`
with the encoder on the 49 visible tokens (MAE) against the SAME model whose
encoder gets all 196 tokens, the masked ones replaced by a learned mask token
(SimMIM's design, Xie et al. 2022). He et al. 2022, section 3 and table 2.

Both variants use the same batch, the same mask (75%), the same decoder on all
1+196 positions and the same loss, so the only difference is what the encoder
processes. Runs are interleaved (A, B, A, B, ...) in one process so that load
from other programs hits both alike; the median of the repeats is reported.

    python -m benchmarks.imagemae_encoder [--batch 4] [--repeats 5] [--threads 1] [--device cpu|cuda]

Peak memory: on CUDA, torch.cuda.max_memory_allocated during the step, above
what was allocated before it. On CPU, a resident-set-size (RSS) peak measured
by the kernel in a fresh subprocess per variant (see `probe`): the step's own
peak above the model, its gradients and the batch. Also printed: the bytes of the
tensors autograd saves for backward (exact, from saved_tensors_hooks).
"""
import argparse
import ctypes
import gc
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from imagemae import mae_base

ROOT = Path(__file__).resolve().parents[1]  # the probe subprocess runs `python -m` from here, as the parent does


def simmim_encoder(mae, mask_token: torch.Tensor, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """All N tokens through the encoder, masked ones replaced by `mask_token` (B, 1+N, D)."""
    tokens = mae.encoder.patch_embed(images)  # (B, N, D), no positions yet
    tokens = torch.where(mask[..., None], mask_token.to(tokens.dtype), tokens)  # (B, N, D)
    tokens = tokens + mae.encoder.pos_embed[:, 1:]
    return mae.encoder.forward_blocks(mae.encoder.prepend_cls(tokens))  # (B, 1+N, D)


def simmim_step_loss(mae, mask_token, images, mask):
    """The rest of the model unchanged: the decoder sees 1+N tokens in both variants."""
    x = mae.decoder_embed(simmim_encoder(mae, mask_token, images, mask)) + mae.decoder_pos_embed  # (B, 1+N, D')
    for block in mae.decoder_blocks:
        x = block(x)
    pred = mae.decoder_pred(mae.decoder_norm(x))[:, 1:]  # (B, N, p*p*3)
    return mae.forward_loss(images, pred, mask)


def make(batch: int, device: str):
    torch.manual_seed(0)
    mae = mae_base().to(device).train()
    mask_token = nn.Parameter(torch.zeros(1, 1, mae.cfg.dim, device=device))
    g = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, 224, 224, generator=g).to(device)
    noise = torch.rand(batch, mae.cfg.num_patches, generator=g).to(device)
    with torch.no_grad():
        mask = mae.forward_encoder(images, 0.75, noise)[1]  # the mask both variants use
    variants = {
        "step: MAE, encoder on 49 visible": lambda: mae(images, noise=noise)[0],
        "step: SimMIM-style, encoder on 196": lambda: simmim_step_loss(mae, mask_token, images, mask),
        "encoder only: 1+49 tokens": lambda: mae.forward_encoder(images, 0.75, noise)[0].square().mean(),
        "encoder only: 1+196 tokens": lambda: simmim_encoder(mae, mask_token, images, mask).square().mean(),
    }
    return mae, mask_token, variants


def run_once(mae, mask_token, fn, device: str) -> float:
    mae.zero_grad(set_to_none=True)
    mask_token.grad = None
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def saved_bytes(mae, fn) -> int:
    """Bytes of the non-parameter tensors autograd keeps for backward."""
    params = {p.untyped_storage().data_ptr() for p in mae.parameters()}
    seen = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = fn()
    loss.backward()
    mae.zero_grad(set_to_none=True)
    return sum(seen.values())


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def probe(name: str, batch: int) -> None:
    """Child process: peak resident memory of one step of one variant above what the
    process already holds (model, gradients, batch), in MiB.

    Linux: a warm-up step allocates the gradients, freed memory is returned to
    the system (malloc_trim), then the kernel's high-water mark is reset
    (`echo 5 > /proc/self/clear_refs`) and the step runs again: VmHWM - VmRSS is
    the step's own peak (activations and temporaries). Elsewhere: the increase
    of ru_maxrss over the first step, gradients included."""
    mae, mask_token, variants = make(batch, "cpu")
    fn = variants[name]
    try:
        fn().backward()  # warm-up: gradients now exist and stay allocated
        mae.zero_grad(set_to_none=False)
        gc.collect()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        Path("/proc/self/clear_refs").write_text("5")
        base = _status_kib("VmRSS")
        fn().backward()
        delta, how = _status_kib("VmHWM") - base, "VmHWM above VmRSS, gradients excluded"
    except (OSError, KeyError, AttributeError):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run_once(mae, mask_token, fn, "cpu")
        delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        how = "ru_maxrss increase, gradients included"
    print(json.dumps({"peak_mib": delta / 1024, "how": how}))  # KiB -> MiB


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.imagemae_encoder", description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.probe:
        return probe(args.probe, args.batch)

    mae, mask_token, variants = make(args.batch, args.device)
    print(f"mae_base ({sum(p.numel() for p in mae.parameters()) / 1e6:.1f}M params), batch {args.batch}, "
          f"224x224, mask 75% (49 of 196 visible), device {args.device}, {torch.get_num_threads()} threads")
    for fn in variants.values():  # warm-up
        run_once(mae, mask_token, fn, args.device)
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            times[name].append(run_once(mae, mask_token, fn, args.device))

    memory = {}
    for name, fn in variants.items():
        if args.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            run_once(mae, mask_token, fn, "cuda")
            memory[name] = (torch.cuda.max_memory_allocated() - base) / 2**20
        else:
            cmd = [sys.executable, "-m", "benchmarks.imagemae_encoder", "--probe", name,
                   "--batch", str(args.batch), "--threads", str(torch.get_num_threads())]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            memory[name], how = result["peak_mib"], result["how"]
    saved = {name: saved_bytes(mae, fn) / 2**20 for name, fn in variants.items()}

    kind = "peak CUDA memory of the step" if args.device == "cuda" else "peak RSS of the step"
    print(f"\n{'fwd+bwd':<38} {'median s':>9} {'min s':>7} {kind + ' (MiB)':>44} {'saved for bwd (MiB)':>20}")
    med = {name: statistics.median(v) for name, v in times.items()}
    for name in variants:
        print(f"{name:<38} {med[name]:9.3f} {min(times[name]):7.3f} {memory[name]:44.0f} {saved[name]:20.0f}")
    names = list(variants)
    if args.device == "cpu":
        print(f"(peak RSS: a fresh process per variant; {how})")
    print(f"\nwhole step (decoder included): {med[names[1]] / med[names[0]]:.2f}x faster "
          "with the visible-only encoder, "
          f"memory {memory[names[1]] / max(memory[names[0]], 1e-9):.2f}x less")
    print(f"encoder alone:                 {med[names[3]] / med[names[2]]:.2f}x faster, "
          f"memory {memory[names[3]] / max(memory[names[2]], 1e-9):.2f}x less, "
          f"saved activations {saved[names[3]] / saved[names[2]]:.2f}x less")


if __name__ == "__main__":
    main()
