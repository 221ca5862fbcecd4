"""Our VideoMAE ViT-B against transformers' with the same weights (Tong et al. 2022;
the course notes, sections III and IV.3): the classifier at 16x224 (inference forward, and forward +
backward as in training), and one pretraining step at 90% tube masking.

Same weights (ours -> `save_pretrained` -> transformers' `from_pretrained`),
same inputs (ours (B, C, T, H, W), theirs the same tensor as (B, T, C, H, W)),
runs interleaved in one process (ours, theirs, then theirs, ours, ...) so that
load from other programs hits both alike. Each repeat gives one ratio = their
time / our time (> 1: ours is faster); the median of those paired ratios is
reported with its quartiles and the number of pairs ours won, and the median
and best time of each side. The best-time ratio (their best / our best) is the
least disturbed by other programs, which only ever add time (the reason
`timeit` reports the minimum). Both use PyTorch's SDPA. Also printed: the
median count of minor page faults per call (`getrusage`: freshly allocated
memory the kernel had to map and zero), and with --profile each side's time
per op.

    python -m benchmarks.videomae_vs_hf [--batch 1] [--repeats 3] [--device cpu|cuda]
        [--only cls|pretrain] [--threads N] [--profile] [--memory]

Peak memory: on CUDA, torch.cuda.max_memory_allocated during the call. On CPU
(--memory), a fresh subprocess per variant builds one model (random weights:
memory does not depend on them), then a thread samples the resident set size
(/proc/self/statm) every 2 ms during exactly one call; reported: peak RSS during
the call minus RSS just before it, i.e. activations and temporaries, not weights.
"""
import argparse
import functools
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch
from transformers import VideoMAEConfig as HFConfig
from transformers import VideoMAEForPreTraining, VideoMAEForVideoClassification

from videomae import tube_mask, videomae_base, videovit_base

ROOT = Path(__file__).resolve().parents[1]  # the memory subprocesses import this module from here
VARIANTS = ("cls-forward", "cls-train", "pretrain-step")


def build(kind: str, who: str, device: str):
    """(model, call) for one variant; the same seed gives both sides the same weights."""
    torch.manual_seed(0)
    ours = videovit_base(num_classes=400) if kind != "pretrain-step" else videomae_base()
    if who == "theirs":
        hf_cls = VideoMAEForVideoClassification if kind != "pretrain-step" else VideoMAEForPreTraining
        with tempfile.TemporaryDirectory() as d:
            ours.save_pretrained(d)
            model = hf_cls.from_pretrained(d, attn_implementation="sdpa")
    else:
        model = ours
    return model.to(device)


def inputs(batch: int, device: str):
    g = torch.Generator().manual_seed(1)
    video = torch.randn(batch, 3, 16, 224, 224, generator=g).to(device)  # (B, C, T, H, W)
    mask = tube_mask(batch, (8, 14, 14), 0.9, generator=g).to(device)  # 1408 of 1568 masked
    return video, mask


def call(kind: str, who: str, model, video, mask):
    """One timed unit of work; returns a scalar (after backward where training)."""
    hf_video = video.transpose(1, 2)  # (B, C, T, H, W) -> (B, T, C, H, W), a view, as a user would pass it
    if kind == "cls-forward":
        model.eval()
        with torch.no_grad():
            return model(video) if who == "ours" else model(hf_video).logits
    model.train()
    model.zero_grad(set_to_none=True)
    if kind == "cls-train":
        out = model(video) if who == "ours" else model(hf_video).logits
        loss = out.float().logsumexp(-1).mean()
    else:
        loss = model(video, mask)[0] if who == "ours" else model(hf_video, bool_masked_pos=mask).loss
    loss.backward()
    return loss.detach()


def print_profile(kind: str, who: str, model, video, mask, calls: int = 3) -> None:
    """Self time per op over `calls` calls, as a share of the total: where the time goes; and how many times
    each op ran per call, which load from other programs does not change (an extra copy or cast shows there)."""
    from torch.profiler import profile

    with profile() as prof:
        for _ in range(calls):
            call(kind, who, model, video, mask)
    ops = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in ops)
    print(f"{kind} {who}: self CPU time by op over {calls} calls")
    for e in ops[:12]:
        ms, share = e.self_cpu_time_total / 1e3 / calls, e.self_cpu_time_total / total
        print(f"  {e.key[:52]:<52} {ms:9.1f} ms/call  {share:6.1%}  {e.count / calls:5.0f} calls/call")


def timed(fn, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_call_memory(kind: str, who: str, batch: int) -> float:
    """Runs inside the fresh subprocess: MB of RSS above the pre-call level, at peak."""
    torch.manual_seed(0)
    if who == "ours":
        model = videovit_base(num_classes=400) if kind != "pretrain-step" else videomae_base()
    else:
        hf_cls = VideoMAEForVideoClassification if kind != "pretrain-step" else VideoMAEForPreTraining
        model = hf_cls(HFConfig(num_labels=400, use_mean_pooling=kind != "pretrain-step", attn_implementation="sdpa"))
    video, mask = inputs(batch, "cpu")
    gc.collect()
    base, peak, stop = _rss(), [0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        call(kind, who, model, video, mask)
    finally:
        stop.set()
        thread.join()
    return (max(peak[0], _rss()) - base) / 2**20


def peak_memory_cpu(kind: str, who: str, batch: int) -> float:
    code = f"from benchmarks import videomae_vs_hf as b; print(b.measure_call_memory({kind!r}, {who!r}, {batch}))"
    # A fixed mmap threshold: every large tensor is mmapped and given back when freed, so RSS
    # follows live memory (glibc's default would keep freed construction memory and hide the peak).
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(prog="python -m benchmarks.videomae_vs_hf", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--only", choices=VARIANTS + ("cls", "pretrain"), default=None)
    p.add_argument("--memory", action="store_true", help="CPU: also measure peak RSS per variant (slow)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--profile", action="store_true", help="first print each side's time per op (torch.profiler)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    kinds = [k for k in VARIANTS if args.only is None or k.startswith(args.only)]
    video, mask = inputs(args.batch, args.device)
    print(f"device {args.device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"batch {args.batch}, 16x224, repeats {args.repeats} (+1 warm-up)")
    results = {}
    for kind in kinds:
        models = {who: build(kind, who, args.device) for who in ("ours", "theirs")}
        a = call(kind, "ours", models["ours"], video, mask)
        b = call(kind, "theirs", models["theirs"], video, mask)  # warm-up, and the same answer
        diff = (a.float() - b.float()).abs().max().item()
        if args.profile:
            for who in ("ours", "theirs"):
                print_profile(kind, who, models[who], video, mask)
        times, peaks, faults = {"ours": [], "theirs": []}, {}, {"ours": [], "theirs": []}
        for r in range(args.repeats):
            for who in (("ours", "theirs") if r % 2 == 0 else ("theirs", "ours")):
                if args.device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                model = models[who]
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                times[who].append(timed(functools.partial(call, kind, who, model, video, mask), args.device))
                faults[who].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
                if args.device == "cuda":
                    peaks[who] = torch.cuda.max_memory_allocated() / 2**20
        models = model = None  # free both before the memory subprocesses
        if args.device == "cpu" and args.memory:
            peaks = {who: peak_memory_cpu(kind, who, args.batch) for who in ("ours", "theirs")}
        med = {who: statistics.median(t) for who, t in times.items()}
        best = {who: min(t) for who, t in times.items()}
        ratios = [b / a for a, b in zip(times["ours"], times["theirs"])]  # one per repeat, > 1: ours faster
        ratio = statistics.median(ratios)
        q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratio, ratio, ratio)
        wins = sum(r > 1 for r in ratios)
        best_ratio = best["theirs"] / best["ours"]
        fault = {who: round(statistics.median(f)) for who, f in faults.items()}
        results[kind] = {"ours_s": med["ours"], "theirs_s": med["theirs"], "ours_best_s": best["ours"],
                         "theirs_best_s": best["theirs"], "ratio": ratio, "ratio_q1": q1, "ratio_q3": q3,
                         "ours_faster_in": f"{wins}/{len(ratios)}",
                         "best_time_ratio": best_ratio, "ours_page_faults": fault["ours"],
                         "theirs_page_faults": fault["theirs"], "max_abs_diff": diff,
                         **{f"{w}_peak_mb": round(m) for w, m in peaks.items()}}
        mem = f"  peak MB ours {peaks['ours']:.0f} / theirs {peaks['theirs']:.0f}" if peaks else ""
        print(f"{kind:>14}: ours {med['ours']:.3f}s (best {best['ours']:.3f})  transformers {med['theirs']:.3f}s "
              f"(best {best['theirs']:.3f})  ratio {ratio:.3f}x (quartiles {q1:.3f}-{q3:.3f}, ours faster in "
              f"{wins}/{len(ratios)} pairs; best-time ratio {best_ratio:.3f}x)  "
              f"(outputs differ by {diff:.1e}){mem}  "
              f"page faults per call ours {fault['ours']} / theirs {fault['theirs']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
