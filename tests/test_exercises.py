"""The exercises' grader: it passes the reference answers, fails the stubs, and catches real mistakes.

Every wrong answer below is a solution with ONE plausible slip (made by replacing a line of the
solution's text), graded like a student's file: the grader must FAIL it and say what is wrong.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_docs_vietnamese import old_style_tones

from exercises import BY_NAME, EXERCISES
from exercises.grade import grade
from exercises.hints import HINTS
from exercises.questions import FINISHED, QUESTIONS

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


# the tube mask flattened place-major, (h w t): named as that, not as the generic "slice 1 differs from slice 0"
HW_T_MASK = ["FAIL tube_mask: your tokens are in (h w t) order", "t, then h, then w",
             "as the tubelet embedding lays tokens out"]

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
     'return repeat(one_slice, "b hw -> b (hw t)", t=t)', HW_T_MASK),
    ("tube_mask", 'return repeat(one_slice, "b hw -> b (t hw)", t=t)', "return one_slice.repeat_interleave(t, dim=1)",
     HW_T_MASK),
    ("tubelet_embed", "-> b (t h w) (pt ph pw c)", "-> b (h w t) (pt ph pw c)",
     ["patchify(video, (2, 4, 4)): differs", "tokens are ordered t, then h, then w"]),
    ("tubelet_embed", '"b d t h w -> b (t h w) d"', '"b d t h w -> b (h w t) d"',
     ["TubeletEmbed output: differs", "tokens are ordered t, then h, then w"]),
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


# -- hints in steps, and what a PASS teaches ------------------------------------------------------------------
# Code, as a hint must not show it at the first level: a call (`softmax(`), a matmul, an einops pattern, a backtick.
CODE = re.compile(r"[A-Za-z_][\w.]*\(|@|->|`")


def vietnamese(text: str) -> bool:
    return bool(re.search(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", text.lower()))


@pytest.mark.parametrize("name", NAMES)
def test_hints_go_from_the_idea_to_the_code(name):
    hints = HINTS[name]
    assert len(hints) >= 3
    order = ["the idea", "the approach", "the code"]
    assert [h.stage for h in hints] == sorted((h.stage for h in hints), key=order.index)
    first, last = hints[0], hints[-1]
    assert first.stage == "the idea" and not first.code
    for text in (first.en, first.vi):
        assert not CODE.search(text), f"{name}'s first hint shows code: {CODE.search(text)[0]!r} in {text!r}"
        assert "softmax(" not in text and "@" not in text and "->" not in text
    assert last.stage == "the code" and last.code
    assert any(CODE.search(line) for line in last.code), last.code
    for h in hints:
        assert h.en.isascii() and vietnamese(h.vi), (name, h.stage)


@pytest.mark.parametrize("name", NAMES)
def test_the_code_moved_from_the_stub_to_the_last_hint(name):
    """Every einops pattern and every line of the answer is in the last hint, and none is in the stub."""
    stub, solution = (STUBS / f"{name}.py").read_text(), (SOLUTIONS / f"{name}.py").read_text()
    last = "\n".join(HINTS[name][-1].code)
    for pattern in re.findall(r"[\"']([\w ()]+->[\w ()]+)[\"']", solution):
        assert pattern not in stub, f"exercises/{name}.py gives the pattern {pattern!r} away"
        assert pattern in last, f"the last hint of {name} lacks the pattern {pattern!r}"
    answer = {ln.split("#")[0].strip() for ln in solution.splitlines()}
    answer -= {ln.split("#")[0].strip() for ln in stub.splitlines()}  # what the stub gives: the layers
    for line in answer:
        if len(line) > 12 and not line.startswith(("def ", '"""', "import", "from")):
            assert line not in stub, f"exercises/{name}.py gives the line {line!r} away"
    assert "argsort(1).argsort(1)" not in stub and f"python -m exercises hint {name}" in stub


def test_hints_and_questions_spell_as_the_glossary_says():
    assert "hóa, hòa, khóa" in (ROOT / "docs" / "glossary.md").read_text()
    texts = [t for hs in HINTS.values() for h in hs for t in (h.en, h.vi)]
    texts += [t for q in [*QUESTIONS.values(), FINISHED] for t in (q.en, q.vi)]
    texts += [path.read_text() for path in [*STUBS.glob("*.py"), STUBS / "README.md"]]
    for text in texts:
        assert not old_style_tones(text), old_style_tones(text)  # the glossary's rule, as the pages check it
    assert all(q.en.isascii() and vietnamese(q.vi) for q in QUESTIONS.values()) and set(QUESTIONS) == set(NAMES)


@pytest.fixture
def hints_file(tmp_path, monkeypatch):
    path = tmp_path / "cache" / "hints.json"
    monkeypatch.setenv("EXERCISES_HINTS_FILE", str(path))
    return path


def test_hint_command_shows_the_next_hint_each_time(hints_file, capsys):
    from exercises.__main__ import main

    n = len(HINTS["attention"])
    assert main(["hint", "attention"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("attention, hint 1 of 4: the idea\n") and "python -m exercises hint attention" in out
    assert not CODE.search(out.split("\n\n")[0].split("\n", 1)[1]) and "softmax(" not in out and "rearrange" not in out
    assert json.loads(hints_file.read_text()) == {"attention": 1}
    main(["hint", "attention"])
    assert capsys.readouterr().out.startswith("attention, hint 2 of 4: the approach\n")
    main(["hint", "attention", "--level", str(n)])
    out = capsys.readouterr().out
    assert out.startswith(f"attention, hint {n} of {n}: the code\n") and "'b n (three h d) -> three b h n d'" in out
    main(["hint", "attention"])  # past the last: the last again, and where the answer is
    out = capsys.readouterr().out
    assert f"hint {n} of {n}" in out and "exercises/solutions/attention.py" in out
    main(["hint", "tube_mask", "--all"])
    out = capsys.readouterr().out
    assert [f"tube_mask, hint {i} of 4" in out for i in range(1, 5)] == [True] * 4
    assert "argsort(1).argsort(1) < k" in out and "'b hw -> b (t hw)'" in out
    main(["hint"])
    assert "attention       4 of 4 hints seen" in capsys.readouterr().out

    assert main(["hint", "attention", "--reset"]) == 0
    assert json.loads(hints_file.read_text()) == {"tube_mask": 4}
    assert capsys.readouterr().out == "the hints of attention start again from hint 1\n"
    main(["hint", "attention"])
    assert capsys.readouterr().out.startswith("attention, hint 1 of 4")
    assert main(["hint", "--reset"]) == 0 and not hints_file.exists()
    with pytest.raises(SystemExit) as exit_:
        main(["hint", "attention", "--level", "9"])
    assert exit_.value.code == 2 and "--level 1 to 4" in capsys.readouterr().err


def test_a_hint_is_shown_even_where_it_cannot_be_remembered(tmp_path, monkeypatch, capsys):
    (tmp_path / "a file").write_text("")
    monkeypatch.setenv("EXERCISES_HINTS_FILE", str(tmp_path / "a file" / "hints.json"))  # a folder that is a file
    from exercises.__main__ import main

    assert main(["hint", "mixup"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("mixup, hint 1 of 3: the idea") and "could not remember" in captured.err


def test_a_pass_asks_a_question_and_names_the_next_exercise(hints_file, tmp_path, capsys, one_thread):
    from exercises.__main__ import main

    for name in NAMES:
        (tmp_path / f"{name}.py").write_text((SOLUTIONS / f"{name}.py").read_text())
    assert main(["check", "--from", str(tmp_path), "attention", "mixup"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "PASS attention" and lines[1].startswith("  think: What happens to the softmax")
    assert "  next: exercise 3 of 8, block (the pre-norm transformer block: two residual lines): " \
           "python -m exercises check block" in lines
    after_mixup = out[out.index("PASS mixup"):]
    assert "mixup was the last exercise" in after_mixup and "make demo" in after_mixup
    assert "docs/04_project71.md" in after_mixup and lines[-1].startswith("2 of 2 pass")
    for name in NAMES:  # every exercise: its own question, in both languages
        main(["check", "--from", str(tmp_path), name])
        out = capsys.readouterr().out
        assert f"PASS {name}\n  think: " in out and QUESTIONS[name].vi.split()[0] in out

    wrong(tmp_path, "block", "x = x + self.mlp(self.norm2(x))", "x = self.mlp(self.norm2(x))")
    assert main(["check", "--from", str(tmp_path), "block"]) == 1
    out = capsys.readouterr().out
    assert "think:" not in out and "  stuck? hint 1 of 3: python -m exercises hint block" in out

    assert main(["check", "--from", str(tmp_path)]) == 1  # all eight: the first one left to do
    out = capsys.readouterr().out
    assert "think:" not in out and out.splitlines()[-1] == (
        "next: exercise 3, block: python -m exercises check block (a hint: python -m exercises hint block)")

    assert main(["check", "--solutions", "attention"]) == 0  # not the student's code: no question
    assert capsys.readouterr().out.splitlines()[:1] == ["PASS attention"]
    assert main(["check", "--solutions"]) == 0
    assert "think:" not in capsys.readouterr().out


def test_the_readme_lists_the_exercises_in_reading_order():
    text = (STUBS / "README.md").read_text()
    assert re.findall(r"^\| \d \| `(\w+)\.py`", text, flags=re.M) == NAMES
    assert "python -m exercises hint" in text and "python -m exercises hint" in (ROOT / "README.md").read_text()
