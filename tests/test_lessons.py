"""The three lessons (`python -m vit`, `python -m imagemae`, `python -m videomae`) have
one shape: `<package>.lesson.main(argv) -> int`, a two-line `__main__.py`, one step
printer (`vit.steps.print_step`); ImageNet's statistics are written once
(`vit.imagenet`). The ViT lesson's --weights errors are in tests/finetune/test_cli_errors.py."""
import contextlib
import importlib
import io
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["vit", "imagemae", "videomae"])
def test_lesson_main_module_is_two_lines(package):
    lines = [line for line in (REPO / package / "__main__.py").read_text().splitlines() if line]  # isort's blank line
    assert lines == [f"from {package}.lesson import main", "raise SystemExit(main())"]


def test_lesson_step_printer_columns(capsys):
    from vit.steps import print_step

    print_step("patchify(image, 16)", torch.zeros(1, 196, 768), "196 patches")
    print_step("mask", (1, 196), "bool")
    first, second = capsys.readouterr().out.splitlines()
    assert first.startswith("  patchify(image, 16)") and first.endswith("(1, 196, 768)      196 patches")
    assert first.index("(1, 196, 768)") == second.index("(1, 196)") == 2 + 36 + 1  # one column for every lesson


def test_lesson_threads_are_put_back():
    from vit.steps import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_imagenet_stats_written_once_and_shaped_for_images_and_videos():
    import videomae.config
    from vit import imagenet

    assert videomae.config.IMAGENET_MEAN is imagenet.IMAGENET_MEAN  # re-exported, not a copy
    assert videomae.config.imagenet_stats is imagenet.imagenet_stats
    video = torch.rand(2, 3, 4, 8, 8)
    mean, std = imagenet.imagenet_stats(video)
    assert mean.shape == std.shape == (1, 3, 1, 1, 1)
    assert imagenet.imagenet_stats(video[0, :, 0], channel_dim=-3)[0].shape == (3, 1, 1)
    torch.testing.assert_close(imagenet.unnormalize(imagenet.normalize(video)), video)
    torch.testing.assert_close(imagenet.normalize(video)[:, 1], (video[:, 1] - 0.456) / 0.224)


# arguments that make each lesson short, shapes and counts it must print, its figures
LESSONS = {
    "vit": (["--steps", "3", "--norm-steps", "10"], ["(196, 768)", "(1, 197, 384)", "(1, 6, 197, 197)",
                                                     "why divide by sqrt(d)?", "why pre-norm?"],
            ["patch_grid.png", "attention_cls.png", "position_similarity.png"]),
    "imagemae": (["--steps", "3"], ["147 masked, 49 visible", "(1, 50, 192)", "(1, 196, 768)", "HELD OUT"],
                 ["masking.png", "reconstruction_start.png", "reconstruction_end.png", "loss.png"]),
    "videomae": (["--steps", "3"], ["(1, 1568, 1536)", "(1, 1568, 768)", "1408 masked, 160 visible",
                                    "96.0x fewer", "12.7x fewer", "256/288 = 88.9%", "held-out clip",
                                    "180.3 G multiply-adds = 360.7 GFLOPs", "as docs/03 says: the ViT-B classifier"],
                 ["masking.png", "reconstruction.png", "loss.png"]),
}


@pytest.fixture(scope="module")
def lesson_run(tmp_path_factory):
    """run(package) -> (out folder, printed text) of `main(--out folder, *short args)`;
    the first run of each package is kept, so the tests below share it."""
    done = {}

    def run(package, fresh=False):
        if package in done and not fresh:
            return done[package]
        out = tmp_path_factory.mktemp(package)
        threads = torch.get_num_threads()
        with contextlib.redirect_stdout(io.StringIO()) as text:
            assert importlib.import_module(f"{package}.lesson").main(["--out", str(out), *LESSONS[package][0]]) == 0
        assert torch.get_num_threads() == threads  # a lesson's one thread does not leak into the caller
        if not fresh:
            done[package] = (out, text.getvalue())
        return out, text.getvalue()

    return run


@pytest.mark.parametrize("package", LESSONS)
def test_lesson_runs_prints_its_shapes_and_writes_its_figures(package, lesson_run):
    tmp_path, out = lesson_run(package)
    printed, figures = LESSONS[package][1:]
    for text in printed:
        assert text in out, text
    for name in figures:
        assert (tmp_path / name).stat().st_size > 2_000, name  # a drawn figure, not an empty file


@pytest.mark.parametrize("package", ["imagemae", "videomae"])
def test_lesson_prints_the_same_numbers_on_two_runs_with_the_same_seed(package, lesson_run):
    """Fixed step counts, seeded draws, one thread: only the "time:" lines may differ."""
    def numbers(run):
        folder, text = run
        lines = [line.replace(str(folder), "<out>") for line in text.splitlines()]
        kept = [line for line in lines if not line.startswith("time:")]
        assert len(kept) < len(lines) and len(kept) > 20  # the timings were there, and much else besides
        return kept

    first, second = numbers(lesson_run(package)), numbers(lesson_run(package, fresh=True))
    assert any("loss" in line for line in first)
    assert first == second


def test_copy_neighbour_cheat_copies_from_the_nearest_visible_slice():
    """videomae/copy_baseline.py on 4 time slices x 2 places of one pixel each (value level[t] + place/100):
    place 0 is hidden at t=0, 1 and visible at t=2, 3 -> both copy t=2; place 1 is hidden at t=1 only
    -> t=0 and t=2 are equally near, the earlier wins; a place hidden in every slice has no copy."""
    from videomae.copy_baseline import copy_neighbour_loss

    level = torch.tensor([0.0, 0.1, 0.4, 0.5])
    pixels = level[:, None] + torch.tensor([0.0, 0.01])  # (T=4, place=2)
    video = pixels[None, None, :, None, :].repeat(1, 3, 1, 1, 1)  # (1, 3, T=4, H=1, W=2), grey
    hidden = torch.tensor([[True, False], [True, True], [False, False], [False, False]])  # (t, place)
    r = copy_neighbour_loss(video, hidden.reshape(1, 8), (1, 1, 1), (4, 1, 2))
    # t=0 place 0 copies 0.40 (true 0.00); t=1 place 0 copies 0.40 (true 0.10); t=1 place 1 copies 0.01 (true 0.11)
    assert r["with_copy"] == 1.0
    assert r["copy_mse"] == pytest.approx((0.4**2 + 0.3**2 + 0.1**2) / 3)
    colour = (0.01 + 0.40 + 0.41 + 0.50 + 0.51) / 5  # the visible pixels' mean
    assert r["mean_colour_mse"] == pytest.approx(((colour - 0.0) ** 2 + (colour - 0.1) ** 2 + (colour - 0.11) ** 2) / 3)
    tube = copy_neighbour_loss(video, torch.tensor([[True, False] * 4]), (1, 1, 1), (4, 1, 2))
    assert tube["with_copy"] == 0.0 and tube["copy_mse"] == pytest.approx(tube["mean_colour_mse"])


def test_multiply_add_count_matches_the_blocks_weights_and_the_attention_shapes():
    """videomae/cost.py: the linear part is every Linear weight of the real blocks once per token;
    attention is QK^T (N x N x D) plus AV (N x N x D) per block; the lesson's ViT-B ratios follow."""
    from videomae.cost import multiply_adds
    from vit.blocks import build_blocks

    tokens, dim, depth = 7, 24, 3
    blocks = build_blocks(depth, dim, heads=4)
    weights = sum(m.weight.numel() for m in blocks.modules() if isinstance(m, torch.nn.Linear))
    linear, attention = multiply_adds(tokens, dim, depth)
    assert linear == tokens * weights
    assert attention == depth * 2 * tokens * tokens * dim
    full, visible = multiply_adds(1568, 768, 12), multiply_adds(160, 768, 12)
    assert full[1] / visible[1] == pytest.approx((1568 / 160) ** 2)  # only attention shrinks 96x
    assert full[0] / visible[0] == pytest.approx(1568 / 160)  # the linear layers 9.8x
    assert 12 < sum(full) / sum(visible) < 13


def test_lesson_parser_gives_a_fixed_step_count_not_a_time_budget():
    from vit.steps import lesson_parser

    parser = lesson_parser("videomae", "doc", budget=(7, "why"))
    args = parser.parse_args([])
    assert (args.steps, args.threads, args.seed) == (7, 1, 0)
    for wrong in (["--steps", "0"], ["--seconds", "60"]):  # no empty run, no wall-clock budget
        with pytest.raises(SystemExit):
            parser.parse_args(wrong)
    plain = lesson_parser("vit", "doc").parse_args([])  # without a budget: --out and --seed only
    assert not hasattr(plain, "steps") and not hasattr(plain, "threads")
