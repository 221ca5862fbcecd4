"""`python -m videomae.why`: the quick mode runs every experiment (--full), prints its table,
writes its figure and repeats itself with the same seed; the default runs experiment 2
only; the per-frame baseline
really is blind to the order of frames while the video ViT is not; a pretrained
encoder is what the fine-tuned classifier starts from."""
import contextlib
import dataclasses
import io
import re
import subprocess
import sys
from pathlib import Path

import torch

from videomae import why, why_runs

REPO = Path(__file__).resolve().parents[1]
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _run(out: Path, seed: int = 0) -> list[str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert why.main(["--quick", "--full", "--out", str(out), "--seed", str(seed)]) == 0
    lines = buf.getvalue().splitlines()
    start = lines.index(why.HEADER) + 1
    return lines[start:start + len(why.EXPERIMENTS)]


def _numbers_without_seconds(row: str) -> list[str]:
    return NUMBER.findall(row)[:-1]  # the last column is wall-clock seconds


def test_quick_run_prints_every_row_writes_the_figure_and_repeats(tmp_path):
    first = _run(tmp_path / "a")
    second = _run(tmp_path / "b")
    assert len(first) == len(why.EXPERIMENTS) == 6
    for row, (experiment, kind, _, masking, ratio) in zip(first, why.EXPERIMENTS):
        assert row.startswith(experiment)
        assert ("per-frame ViT" if kind == "frames" else "video ViT") in row
        assert (f"{masking} {ratio:.0%}" in row) if masking else ("none" in row)
        assert re.search(r"\d+\.\d%", row), row  # a test accuracy
    assert [_numbers_without_seconds(r) for r in first] == [_numbers_without_seconds(r) for r in second]
    png = (tmp_path / "a" / "why_videomae.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_the_default_runs_the_default_experiments_and_checks_the_claims(tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert why.main(["--quick", "--out", str(tmp_path), "--no-figures"]) == 0
    lines = buf.getvalue().splitlines()
    rows = [line for line in lines if line[:1].isdigit() and line[1] == " "]
    assert {r.split()[0] for r in rows} == set(why.DEFAULT_EXPERIMENTS) == {"2"}
    assert not (tmp_path / "why_videomae.png").exists()  # --no-figures
    start = lines.index(next(line for line in lines if line.startswith("What docs/05 says")))
    claims = lines[start + 1:start + 1 + len(why.CLAIMS)]
    assert all(line.startswith("  not checked at this setting") for line in claims), claims  # --quick shows none


def test_a_different_seed_gives_different_numbers(tmp_path):
    rows0, rows1 = _run(tmp_path / "a", seed=0), _run(tmp_path / "b", seed=1)
    pretrained = [i for i, e in enumerate(why.EXPERIMENTS) if e[3]]
    assert any(_numbers_without_seconds(rows0[i]) != _numbers_without_seconds(rows1[i]) for i in pretrained)


def _setup():
    return why_runs.Setup(frames=4, size=16, patch=8, dim=16, depth=1, heads=2, decoder_dim=8)


def test_per_frame_vit_ignores_frame_order_and_video_vit_does_not():
    setup = _setup()
    video = torch.randn(2, 3, setup.frames, setup.size, setup.size, generator=torch.Generator().manual_seed(0))
    # whole tubelets swapped, so the video ViT sees the same cubes elsewhere in time
    shuffled = video[:, :, [2, 3, 0, 1]]
    frames, vvit = why_runs.build("frames", setup, 0).eval(), why_runs.build("video", setup, 0).eval()
    vvit.reset_head()
    torch.nn.init.normal_(vvit.head.weight)  # the fine-tuning init (x0.001) would hide a difference in ~1e-4 logits
    with torch.no_grad():
        torch.testing.assert_close(frames(shuffled), frames(video))
        assert (vvit(shuffled) - vvit(video)).abs().max() > 1e-3


def test_pretrained_encoder_is_copied_into_the_classifier_with_a_fresh_head():
    setup = _setup()
    clips = torch.randn(8, 3, setup.frames, setup.size, setup.size)
    mae, losses = why_runs.pretrain(dataclasses.replace(setup, pretrain_steps=2, batch=2), clips, "tube", 0.75, seed=0)
    assert len(losses) == 2
    fresh = why_runs.build("video", setup, 1)
    head_before = fresh.head.weight.clone()
    model = why_runs.copy_encoder(mae, fresh)
    torch.testing.assert_close(model.blocks[0].attn.qkv.weight, mae.encoder.blocks[0].attn.qkv.weight)
    torch.testing.assert_close(model.patch_embed.proj.weight, mae.encoder.patch_embed.proj.weight)
    torch.testing.assert_close(model.head.weight, head_before)


def test_module_runs_as_a_script():
    out = subprocess.run([sys.executable, "-m", "videomae.why", "--help"], cwd=REPO, capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0 and "--pretrain-steps" in out.stdout and "--quick" in out.stdout


def test_probe_features_keep_time_slices_apart_and_the_probe_learns_a_linear_rule():
    """videomae.why_probe: features are (B, T' * D), each slice's mean in its own block, and the
    probe reaches 100% on a rule that is linear in them (and chance on labels that are noise)."""
    from videomae.why_probe import linear_probe, slice_features
    from videomae.why_runs import Setup, build

    setup = Setup()
    model = build("video", setup, seed=0)
    video = torch.randn(5, 3, setup.frames, setup.size, setup.size)
    feats = slice_features(model, video)
    t = model.cfg.grid[0]
    assert feats.shape == (5, t * setup.dim)
    with torch.no_grad():
        tokens = model.forward_blocks(model.embed(video))  # (B, N, D)
    torch.testing.assert_close(feats[:, :setup.dim], tokens[:, : tokens.shape[1] // t].mean(1))  # slice 0 first

    g = torch.Generator().manual_seed(0)
    x, x_test = torch.randn(200, 12, generator=g), torch.randn(200, 12, generator=g)
    rule = lambda v: (v[:, 0] - v[:, 3] > 0).long()  # noqa: E731
    assert linear_probe((x, rule(x)), (x_test, rule(x_test))) > 0.95
    noise = torch.randint(0, 2, (200,), generator=g)
    assert linear_probe((x, torch.randint(0, 2, (200,), generator=g)), (x_test, noise)) < 0.65


def test_experiments_option_runs_only_the_chosen_rows_and_reports_the_pretraining_gain(tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert why.main(["--quick", "--experiments", "2", "--out", str(tmp_path)]) == 0
    lines = buf.getvalue().splitlines()
    rows = lines[lines.index(why.HEADER) + 1:lines.index(why.HEADER) + 3]
    assert [r.split()[0] for r in rows] == ["2", "2"] and "none" in rows[0] and "tube 90%" in rows[1]
    scratch, pretrained = (float(re.findall(r"(\d+\.\d)%", r)[-1]) for r in rows)  # the last: after fine-tuning
    gain = next(line for line in lines if line.startswith("pretraining with"))
    assert gain.endswith(f"({pretrained - scratch:+.1f} points)")  # the summary is the difference of the two rows
    assert not any(line.startswith(("1 ", "3 ", "4 ")) for line in lines)


def test_a_wrong_experiment_number_is_one_error_line():
    out = subprocess.run([sys.executable, "-m", "videomae.why", "--experiments", "2,7"], cwd=REPO,
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "error: argument --experiments: expected experiment numbers among 1,2,3,4" in out.stderr
    assert "'2,7'" in out.stderr


def test_pretraining_gain_is_tube_90_minus_scratch_and_absent_without_both_rows():
    def row(pretraining, masking, acc):
        return why_runs.Row("video ViT", pretraining, masking, 60, "1", None, acc, 1.0)
    rows = [("2 pretraining", row("none", "-", 0.60)), ("2 pretraining", row("VideoMAE", "tube 90%", 0.785)),
            ("3 masking", row("VideoMAE", "random 90%", 0.99))]
    assert why.pretraining_gain(rows) == "pretraining with 60 labels/class: 78.5% vs 60.0% from scratch (+18.5 points)"
    assert why.pretraining_gain(rows[1:]) is None
