"""benchmarks/gpu_check.py on the CPU (tiny model): every row of the table with ours, theirs and the ratio,
the ratio made from the two measured times, the JSON file, the MFU of a known and an unknown GPU, and the
multiply-add count it divides by. No timed assertion: the timer is replaced by fixed times."""
import json

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from benchmarks import gpu_check
from videomae import VideoMAEConfig, VideoViT
from videomae.cost import classifier_multiply_adds

PAIR_ROWS = ["attention_kernel", "train_clips_per_s", "train_tflops", "train_mfu", "eval_clips_per_s", "eval_tflops",
             "eval_mfu", "peak_memory_mib", "memory_count_mib", "host_syncs_per_step"]
LOADER_ROWS = ["loader_clips_per_s", "loader_workers_needed"]
SECONDS = {"ours": 2.0, "theirs": 3.0}  # the fake timer: ours takes 2 s a call, theirs 3 s


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_check") / "check.json"
    calls = []

    def fake_measure(who, fn, device):
        fn()  # the work still runs (and must not fail); only its time is fixed
        calls.append(who)
        return SECONDS[who]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gpu_check, "measure", fake_measure)
        mp.setattr(gpu_check, "device_name", lambda device: "NVIDIA FakeGPU 9000")
        result = gpu_check.main(["--device", "cpu", "--tiny", "--repeats", "3", "--eval-batches", "1",
                                 "--out", str(out)])
    return result, out, calls


def rows_of(result) -> dict:
    return {r["key"]: r for r in result["rows"]}


def test_every_row_has_ours_theirs_and_a_ratio(run):
    result, _, calls = run
    rows = rows_of(result)
    assert set(PAIR_ROWS + LOADER_ROWS) <= set(rows)
    for key in PAIR_ROWS:
        assert rows[key]["ours"] is not None and rows[key]["theirs"] is not None and rows[key]["ratio"] is not None
    assert calls[:6] == ["ours", "theirs", "theirs", "ours", "ours", "theirs"]  # interleaved, the order alternating
    for key in PAIR_ROWS + LOADER_ROWS:
        assert rows[key]["label"] in result["table"]
    assert result["precision"] == "fp32" and result["tiny"] and result["preset"] == "exp4"


def test_the_ratio_comes_from_the_two_measured_times(run):
    result, _, _ = run
    rows, cfg = rows_of(result), result["config"]
    clips = cfg["batch_size"] * cfg["accum_steps"]  # one optimizer step per timed call: 8 x 4
    assert rows["train_clips_per_s"]["ours"] == pytest.approx(clips / SECONDS["ours"])
    assert rows["train_clips_per_s"]["theirs"] == pytest.approx(clips / SECONDS["theirs"])
    for key in ("train_clips_per_s", "train_tflops", "eval_clips_per_s", "eval_tflops"):
        assert rows[key]["ratio"] == pytest.approx(SECONDS["theirs"] / SECONDS["ours"])  # 1.5: ours faster
    assert result["details"]["train"]["paired_ratio"] == pytest.approx(1.5)
    eval_clips = max(1, cfg["batch_size"] * 2 // 6)  # the eval loader's batch under 6-view TTA
    assert rows["eval_clips_per_s"]["ours"] == pytest.approx(eval_clips / SECONDS["ours"])
    # TFLOP/s = clips/s x multiply-adds per clip x 2 FLOPs x 3 (forward + backward) for training
    macs = classifier_multiply_adds(VideoMAEConfig(**result["model"]))
    assert rows["train_tflops"]["ours"] == pytest.approx(clips / SECONDS["ours"] * macs * 6 / 1e12)
    assert rows["eval_tflops"]["ours"] == pytest.approx(eval_clips / SECONDS["ours"] * macs * 2 * 6 / 1e12)


def test_the_json_is_written_and_holds_the_table(run):
    result, out, _ = run
    saved = json.loads(out.read_text())
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    assert saved["table"] == result["table"] and saved["device"] == "NVIDIA FakeGPU 9000"


def test_an_unknown_gpu_gets_tflops_only(run):
    result, _, _ = run
    rows = rows_of(result)
    for key in ("train_mfu", "eval_mfu"):
        assert rows[key]["ours"] == rows[key]["theirs"] == "unknown GPU"
        assert "achieved TFLOP/s only" in rows[key]["note"]
    assert isinstance(rows["train_tflops"]["ours"], float)


def test_a_known_gpu_gets_its_datasheet_peak():
    names = {"Tesla T4": 65, "Tesla P100-PCIE-16GB": 18.7, "Tesla V100-SXM2-16GB": 125, "NVIDIA A100-SXM4-40GB": 312,
             "NVIDIA A10G": 70, "NVIDIA L4": 121, "NVIDIA H100 80GB HBM3": 989, "NVIDIA H100 PCIe": 756,
             "NVIDIA H200": 989, "NVIDIA H200 NVL": 835}
    for name, tflops in names.items():
        peak = gpu_check.peak_tflops(name)
        assert peak is not None and peak[0] == tflops, name
        assert peak[2].startswith("https://") or "https://" in peak[2], name
    for name in ("NVIDIA L40S", "NVIDIA A10", "NVIDIA GeForce RTX 4090", "NVIDIA H100 NVL"):
        assert gpu_check.peak_tflops(name) is None, name  # not in the table: no guessed peak
    r = {"ours": 100.0, "theirs": 50.0, "ratio": 2.0, "paired_ratio": 2.0, "ours_faster_in": "5/5"}
    rows = gpu_check.throughput_rows("train", "training", r, 1e9, 6, gpu_check.peak_tflops("NVIDIA H100 PCIe"))
    mfu = {x["key"]: x for x in rows}["train_mfu"]
    assert mfu["ours"] == pytest.approx(100 * 1e9 * 6 / 1e12 / 756) and "756" in mfu["note"]


def test_the_step_syncs_once_and_runs_the_kernel_sdpa_backend_predicts(run):
    result, _, _ = run
    rows, details = rows_of(result), result["details"]
    assert rows["host_syncs_per_step"]["ours"] == rows["host_syncs_per_step"]["theirs"] == 1.0
    assert details["kernels"]["ours"] == details["kernels"]["theirs"] == ["flash"]  # the CPU's flash kernel
    assert "agrees" in rows["attention_kernel"]["note"]
    assert rows["peak_memory_mib"]["ours"] == "n/a"  # no CUDA: no max_memory_allocated; the count instead
    assert rows["memory_count_mib"]["ours"] > 0 and rows["memory_count_mib"]["theirs"] > 0


def test_both_sides_get_the_same_optimizer_groups_and_the_profiler_reads_the_math_fallback():
    """Theirs gets the run's AdamW groups (layer decay, no decay on 1-D parameters), group for group; and the
    kernel row reads what ran: forcing the math path shows up as math, for both models."""
    cfg = gpu_check.apply_overrides(gpu_check.get_preset("exp4"), gpu_check.TINY)
    sides = gpu_check.make_sides(gpu_check.build_pair(gpu_check.model_config(cfg, tiny=True), torch.device("cpu")),
                                 cfg, None, gpu_check.Dist())

    def groups(who):
        return [(sum(p.numel() for p in g["params"]), g["lr_scale"], g["weight_decay"])  # their q, k, v: 3 tensors
                for g in sides[who].trainer.optimizer.param_groups]

    assert groups("ours") == groups("theirs") and len(groups("ours")) > 2
    with sdpa_kernel(SDPBackend.MATH):
        assert gpu_check.attention_kernels(sides["ours"]) == gpu_check.attention_kernels(sides["theirs"]) == ["math"]


def test_multiply_adds_per_clip_are_the_forward_matmuls_exactly():
    cfg = VideoMAEConfig(num_frames=4, image_size=32, patch_size=8, dim=48, depth=2, heads=3, num_classes=7)
    model = VideoViT(cfg).eval()
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(3, 3, 4, 32, 32))  # math attention: its two matmuls are counted as bmm
    assert counter.get_total_flops() == 2 * 3 * classifier_multiply_adds(cfg)
