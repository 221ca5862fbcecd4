"""The exercises' grader: it passes the reference answers, fails the stubs, and catches real mistakes.

Every wrong answer below is a solution with ONE plausible slip (made by replacing a line of the
solution's text), graded like a student's file: the grader must FAIL it and say what is wrong.
"""
import subprocess
import sys
from pathlib import Path

import pytest

from exercises import BY_NAME, EXERCISES
from exercises.grade import grade

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "exercises" / "solutions"
STUBS = ROOT / "exercises"
NAMES = [e.name for e in EXERCISES]


def test_every_exercise_has_a_stub_a_solution_and_a_doc_page():
    assert list(BY_NAME) == NAMES and len(NAMES) == 8
    for e in EXERCISES:
        assert (STUBS / f"{e.name}.py").is_file() and (SOLUTIONS / f"{e.name}.py").is_file()
        assert (ROOT / e.doc.split()[0]).is_file(), e.doc


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name, one_thread):
    result = grade(name, SOLUTIONS)
    assert result.passed, result.lines()
    assert result.lines() == [f"PASS {name}"]


@pytest.mark.parametrize("name", NAMES)
def test_stub_fails_as_not_written(name, one_thread):
    if f"exercise {name}: write me" not in (STUBS / f"{name}.py").read_text():
        # a student's own answer is in the file: `python -m exercises check` grades it; this test is for a clean clone
        pytest.skip(f"exercises/{name}.py is filled in (check it with `python -m exercises check {name}`)")
    result = grade(name, STUBS)
    assert not result.passed
    (line,) = result.lines()
    assert line.startswith(f"FAIL {name}: not written yet: ") and f"exercise {name}: write me" in line


def wrong(tmp_path: Path, name: str, old: str, new: str, solution: str | None = None) -> Path:
    """A copy of the solution `name` with `old` replaced by `new`, in tmp_path; returns the folder."""
    text = solution or (SOLUTIONS / f"{name}.py").read_text()
    assert old in text, f"the solution of {name} no longer contains {old!r}: update this test"
    (tmp_path / f"{name}.py").write_text(text.replace(old, new))
    return tmp_path


# (exercise, line of the solution, the slip, words the FAIL line must contain)
MISTAKES = [
    ("patch_embed", "(ph pw c)", "(c ph pw)", ["patchify", "channel must vary fastest"]),
    ("attention", "/ d**0.5", "",
     ["attention output: differs from vit.blocks.Attention", "forget to divide", "sqrt(head_dim)"]),
    ("attention", "d = q.shape[-1]", "d = q.shape[-1] * self.heads", ["1/sqrt(head_dim), not 1/sqrt(dim)"]),
    ("block", "x = x + self.attn(self.norm1(x))", "x = self.norm1(x + self.attn(x))",
     ["the attention line is post-norm", "x = x + f(norm(x))"]),
    ("block", "x = x + self.mlp(self.norm2(x))", "x = self.mlp(self.norm2(x))",
     ["differs from vit.blocks.Block", "the MLP line is without its residual"]),
    ("random_masking", "ids_restore = ids_shuffle.argsort(dim=1)", "ids_restore = ids_shuffle",
     ["ids_restore", "inverse"]),
    ("random_masking", "return visible, mask, ids_restore", "return visible, ~mask, ids_restore",
     ["True = masked"]),
    ("mae_loss", "return (per_patch * mask).sum() / mask.sum()", "return per_patch.mean()",
     ["mae_loss: differs from imagemae.MAE.forward_loss", "ALL patches", "masked patches only"]),
    ("mae_loss", "target.var(dim=-1, keepdim=True)", "target.var(dim=-1, unbiased=False, keepdim=True)",
     ["mae_target(norm_pix=True): differs", "unbiased"]),
    ("tubelet_embed", "-> b (t h w) (pt ph pw c)", "-> b (t h w) (c pt ph pw)", ["channel must vary fastest"]),
    ("tube_mask", 'return repeat(one_slice, "b hw -> b (t hw)", t=t)',
     'return repeat(one_slice, "b hw -> b (hw t)", t=t)', ["time slice 1 hides other places than slice 0"]),
    ("mixup", "t_mixed = lam * t + (1 - lam) * t.flip(0)", "t_mixed = t", ["forgot to mix the labels"]),
    ("mixup", "x.flip(0)", "x.roll(1, 0)", ["x.flip(0)"]),
]


@pytest.mark.parametrize("name, old, new, words", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_grader_catches_a_plausible_mistake(name, old, new, words, tmp_path, one_thread):
    result = grade(name, wrong(tmp_path, name, old, new))
    assert not result.passed
    text = "\n".join(result.lines())
    assert text.startswith(f"FAIL {name}: ")
    for w in words:
        assert w in text, text


def test_tube_mask_that_differs_between_slices_fails(tmp_path, one_thread):
    """A random mask with the tube's count (fresh places in every slice): the copy-from-the-neighbour leak."""
    source = (
        "import torch\n"
        "def tube_mask(batch, grid, ratio=0.9, generator=None):\n"
        "    t, h, w = grid\n"
        "    k = int(ratio * h * w)\n"
        "    slices = [torch.rand(batch, h * w, generator=generator).argsort(1).argsort(1) < k for _ in range(t)]\n"
        "    return torch.cat(slices, dim=1)\n"
    )
    (tmp_path / "tube_mask.py").write_text(source)
    (line,) = grade("tube_mask", tmp_path).lines()
    assert line.startswith("FAIL tube_mask: sample 0: time slice 1 hides other places than slice 0"), line


def test_attention_must_be_written_by_hand(tmp_path, one_thread):
    old = "        scores = q @ k.transpose(-2, -1) / d**0.5"
    text = (SOLUTIONS / "attention.py").read_text()
    fused = text.replace(old, "        out = torch.nn.functional.scaled_dot_product_attention(q, k, v)\n"
                                "        scores = q @ k.transpose(-2, -1) / d**0.5")
    (line,) = grade("attention", wrong(tmp_path, "attention", old, old, solution=fused)).lines()
    assert "F.scaled_dot_product_attention" in line and line.startswith("FAIL attention: ")


def test_an_exception_in_student_code_is_a_fail_line_not_a_crash(tmp_path, one_thread):
    folder = wrong(tmp_path, "block", "return x", "return x.view(-1, 3, 7)")
    (line,) = grade("block", folder).lines()
    assert line.startswith("FAIL block: your code raised RuntimeError: shape '[-1, 3, 7]'"), line
    assert "(at block.py:" in line and "x.view(-1, 3, 7)" in line

    (tmp_path / "mixup.py").write_text("def mixup(x, y, lam, num_classes:\n")  # a syntax error
    (line,) = grade("mixup", tmp_path).lines()
    assert line.startswith("FAIL mixup: could not import") and "SyntaxError" in line, line


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "exercises", *args], check=False, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_cli_exit_codes(tmp_path):
    ok = run_cli("check", "--solutions")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert [ln.split()[:2] for ln in ok.stdout.splitlines()[:8]] == [["PASS", n] for n in NAMES]
    assert "8 of 8 pass" in ok.stdout

    for name in NAMES:  # the solutions with one slip: mixup pairs every clip with itself
        (tmp_path / f"{name}.py").write_text((SOLUTIONS / f"{name}.py").read_text())
    wrong(tmp_path, "mixup", "x.flip(0)", "x")
    one_wrong = run_cli("check", "--from", str(tmp_path))
    assert one_wrong.returncode == 1, one_wrong.stdout + one_wrong.stderr
    assert "FAIL mixup" in one_wrong.stdout and "7 of 8 pass" in one_wrong.stdout

    listing = run_cli("list")
    assert listing.returncode == 0
    order = [ln.split()[1] for ln in listing.stdout.splitlines()[1:9]]
    assert order == NAMES and "docs/03_videomae.md" in listing.stdout


def test_cli_grades_another_folder(tmp_path, capsys, one_thread):
    """--from DIR: exit 0 when every exercise named passes, 1 as soon as one fails."""
    from exercises.__main__ import main

    for name in ("tube_mask", "mixup"):
        (tmp_path / f"{name}.py").write_text((SOLUTIONS / f"{name}.py").read_text())
    assert main(["check", "--from", str(tmp_path), "tube_mask", "mixup"]) == 0
    wrong(tmp_path, "mixup", "x.flip(0)", "x")
    assert main(["check", "--from", str(tmp_path), "tube_mask", "mixup"]) == 1
    out = capsys.readouterr().out
    assert "PASS tube_mask" in out and "FAIL mixup: x_mixed" in out and "1 of 2 pass" in out
