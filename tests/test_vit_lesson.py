"""The ViT lesson (`python -m vit`) is reproducible and its toy task is what docs/01_vit.md
says it is: two runs with the same seed print the same numbers and draw the same
figures, another seed prints other numbers; the label is the odd square's colour and
the quarter that holds it; the position summary measures what its columns say."""
import torch

from vit import lesson, odd_square

FIGURES = ["patch_grid.png", "attention_cls.png", "position_similarity.png", "loss.png"]


def run(tmp_path, capsys, name, seed):
    out = tmp_path / name
    assert lesson.main(["--out", str(out), "--steps", "3", "--norm-steps", "2", "--seed", str(seed)]) == 0
    printed = capsys.readouterr().out
    # timings vary, and the figure line names the folder: everything else must repeat
    return [line for line in printed.splitlines() if "time:" not in line and "Figures in" not in line], out


def test_same_seed_same_numbers_and_figures_other_seed_other_numbers(tmp_path, capsys):
    first, out_a = run(tmp_path, capsys, "a", seed=0)
    again, out_b = run(tmp_path, capsys, "b", seed=0)
    other, _ = run(tmp_path, capsys, "c", seed=1)
    assert first == again
    assert any("held-out accuracy" in line for line in first) and any("block 4:" in line for line in first)
    changed = [a for a, b in zip(first, other) if a != b]
    assert any("held-out accuracy" in line for line in changed), changed  # the training numbers moved
    assert any("max difference" in line for line in changed)  # so did the random ViT-S's
    for name in FIGURES:
        assert (out_a / name).stat().st_size > 2_000, name  # a drawn figure, not an empty file
    for name in ["attention_cls.png", "position_similarity.png", "loss.png"]:
        assert (out_a / name).read_bytes() == (out_b / name).read_bytes(), name


def test_odd_square_label_is_colour_and_quarter():
    images, labels, odd = odd_square.odd_square_images(40, torch.Generator().manual_seed(3))
    assert images.shape == (40, 3, 48, 48) and labels.shape == odd.shape == (40,)
    pixels = images * lesson.STD + lesson.MEAN  # back to [0, 1]
    for img, label, cell in zip(pixels, labels.tolist(), odd.tolist()):
        row, col = divmod(cell, 6)
        square = img[:, row * 8 : (row + 1) * 8, col * 8 : (col + 1) * 8]  # (3, 8, 8), one patch
        assert torch.allclose(square, square[:, :1, :1].expand_as(square))  # a flat square, exactly one patch
        assert int(square[:, 0, 0].argmax()) == label // 4  # its colour: red, green, blue = 0, 1, 2
        assert label % 4 == {(0, 0): 0, (0, 1): 1, (1, 0): 2, (1, 1): 3}[(row >= 3, col >= 3)]
    assert set(labels.tolist()) > {0, 5, 10} and len(set(labels.tolist())) >= 8  # many classes in 40 draws


def test_position_summary_columns():
    # patches of a quarter share one vector; the four quarters' vectors are orthogonal
    quarter = [2 * (r >= 3) + (c >= 3) for r in range(6) for c in range(6)]
    table = torch.eye(64)[quarter][None]  # (1, 36, 64), no cls row
    near, same, other = odd_square.position_summary(table, 6)
    # 60 pairs of neighbours; 12 of them (6 across each middle line) cross a quarter border
    assert abs(near - 48 / 60) < 1e-6 and abs(same - 1.0) < 1e-6 and abs(other) < 1e-6
    with_cls = torch.cat([torch.ones(1, 1, 64), table], dim=1)  # a cls row first is skipped
    assert odd_square.position_summary(with_cls, 6) == (near, same, other)
