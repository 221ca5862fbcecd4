"""The three lessons (`python -m vit`, `python -m imagemae`, `python -m videomae`) have
one shape: `<package>.lesson.main(argv) -> int`, a two-line `__main__.py`, one step
printer (`vit.steps.print_step`); ImageNet's statistics are written once
(`vit.imagenet`). The ViT lesson's --weights errors are in tests/finetune/test_cli_errors.py."""
import importlib
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["vit", "imagemae", "videomae"])
def test_lesson_main_module_is_two_lines(package):
    lines = (REPO / package / "__main__.py").read_text().splitlines()
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
    "vit": (["--steps", "3"], ["(196, 768)", "(1, 197, 384)", "(1, 6, 197, 197)"],
            ["patch_grid.png", "attention_cls.png", "position_similarity.png"]),
    "imagemae": (["--seconds", "30", "--max-steps", "3"], ["147 masked, 49 visible", "(1, 50, 192)", "(1, 196, 768)"],
                 ["masking.png", "reconstruction_start.png", "reconstruction_end.png", "loss.png"]),
    "videomae": (["--seconds", "20", "--steps", "3"], ["(1, 1568, 1536)", "(1, 1568, 768)", "1408 masked, 160 visible"],
                 ["masking.png", "reconstruction.png", "loss.png"]),
}


@pytest.mark.parametrize("package", LESSONS)
def test_lesson_runs_prints_its_shapes_and_writes_its_figures(package, tmp_path, capsys):
    main = importlib.import_module(f"{package}.lesson").main
    args, printed, figures = LESSONS[package]
    threads = torch.get_num_threads()
    assert main(["--out", str(tmp_path), *args]) == 0
    assert torch.get_num_threads() == threads  # a lesson's one thread does not leak into the caller
    out = capsys.readouterr().out
    for text in printed:
        assert text in out, text
    for name in figures:
        assert (tmp_path / name).stat().st_size > 2_000, name  # a drawn figure, not an empty file
