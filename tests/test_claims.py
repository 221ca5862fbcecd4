"""`python -m claims` and the claim lines every lesson prints: on the small setting (every
lesson shortened, 3 seeds x threads 1 and 2) each claim a short run can show holds on
every run, or this fails; each page says, word for word, the claims its lesson checks;
`vit.steps.print_claims` prints "as docs/0N says" / "unlike docs/0N" / "not checked".
The real settings take about an hour (`python -m claims --full`) and are not run here."""
import contextlib
import importlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from claims import runner
from vit.steps import Claim, print_claims, save_results

REPO = Path(__file__).resolve().parents[1]
PAGES = {name: lesson.page for name, lesson in runner.LESSONS.items()}


def test_small_setting_every_checkable_claim_holds_on_every_seed_and_thread_count():
    """`python -m claims` as a student runs it: all four lessons shortened, seeds 0,1,2 x threads 1,2."""
    out = subprocess.run([sys.executable, "-m", "claims"], cwd=REPO, capture_output=True, text=True, check=False)
    text = out.stdout
    assert out.returncode == 0, text + out.stderr[-3000:]
    assert "every claim checked held on every run" in text
    for name, lesson in runner.LESSONS.items():
        assert f"== {name} ({lesson.page})" in text
        claims = importlib.import_module(lesson.claims).CLAIMS
        for claim in claims:  # each claim gets one verdict line, none fails
            line = next(line for line in text.splitlines() if line.endswith(claim.says))
            assert line.startswith(("  holds on 6 of 6 runs", "  not checked at this setting")), line
    # the claims a short run can show are really checked there, not skipped
    for name, count in {"vit": 3, "videomae": 4}.items():
        block = text.split(f"== {name} (")[1].split("\n== ")[0]
        assert block.count("holds on 6 of 6 runs") == count, block


@pytest.mark.parametrize("name", list(runner.LESSONS))
def test_each_page_says_the_claims_its_lesson_checks_word_for_word(name):
    lesson = runner.LESSONS[name]
    page = " ".join((REPO / lesson.page).read_text().split())  # line breaks of the markdown do not count
    for claim in importlib.import_module(lesson.claims).CLAIMS:
        assert " ".join(claim.says.split()) in page, f"{lesson.page} does not say: {claim.says}"
    assert "python -m claims" in page


def test_print_claims_says_which_held_which_did_not_and_which_this_setting_cannot_show(capsys):
    claims = (Claim("a", "x is small", lambda n: n["x"] < 1, lambda n: f"x = {n['x']}"),
              Claim("b", "y is large", lambda n: n["y"] > 1, lambda n: f"y = {n['y']}"),
              Claim("c", "z is learnt", lambda n: True, lambda n: "", applies=lambda n: n["steps"] == 250,
                    needs="the default --steps 250"))
    verdicts = print_claims("docs/09", claims, {"x": 0.5, "y": 0.5, "steps": 3})
    lines = capsys.readouterr().out.splitlines()
    assert verdicts == {"a": True, "b": False, "c": None}
    assert lines[-3] == "  as docs/09 says: x is small (this run: x = 0.5)"
    assert lines[-2] == "  unlike docs/09, which says y is large: this run shows y = 0.5"
    assert lines[-1] == "  not checked at this setting (it needs the default --steps 250): z is learnt"


def test_results_file_holds_the_numbers_and_the_verdicts(tmp_path):
    class Args:
        seed, threads = 3, 2

    save_results(tmp_path / "r.json", "vit", Args, {"x": 0.5}, {"a": True})
    assert json.loads((tmp_path / "r.json").read_text()) == {"lesson": "vit", "seed": 3, "threads": 2,
                                                            "numbers": {"x": 0.5}, "claims": {"a": True}}
    save_results(None, "vit", Args, {}, {})  # nothing asked, nothing written


def test_no_figures_prints_the_same_numbers_and_writes_no_figure(tmp_path):
    from imagemae import lesson

    def printed(*extra):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert lesson.main(["--steps", "2", "--out", str(tmp_path / "out"), *extra]) == 0
        return [line for line in buf.getvalue().splitlines()  # the figures' line and its blank line aside
                if line and not line.startswith("time:") and "figures in" not in line]

    without = printed("--no-figures")
    assert not (tmp_path / "out").exists()
    assert printed() == without
    assert (tmp_path / "out" / "loss.png").exists()


def test_runner_arguments_are_checked():
    for wrong in (["--lessons", "vit,nope"], ["--seeds", "a"], ["--env", "NOVALUE"]):
        with pytest.raises(SystemExit):
            runner.main(wrong)


def test_the_docs_name_the_commands_and_the_ranges_the_claims_quote():
    """docs/05 quotes the spreads `videomae.why_claims.MEASURED` holds (the lesson prints them)."""
    from videomae.why_claims import MEASURED

    page = " ".join((REPO / "docs/05_why_videomae.md").read_text().split())  # line breaks do not count
    for low, high in MEASURED.values():
        assert f"{low:+.1f} to {high:+.1f} points" in page, (low, high)


TIME_PAGES = {"vit": "docs/01_vit.md", "imagemae": "docs/02_imagemae.md", "videomae": "docs/03_videomae.md",
              "why_videomae": "docs/05_why_videomae.md", "why_videomae --full": "docs/05_why_videomae.md"}
HELP = {"vit": "vit", "imagemae": "imagemae", "videomae": "videomae", "why_videomae": "videomae.why",
        "why_videomae --full": "videomae.why"}


@pytest.mark.parametrize("name", list(TIME_PAGES))
def test_each_lesson_time_is_one_number_in_help_readme_and_page(name):
    """vit.steps.LESSON_TIMES is the one measured time of each lesson: --help prints it, the README
    and the lesson's page quote it, and no page promises "about a minute" any more."""
    from vit.steps import LESSON_TIMES, lesson_time

    assert set(LESSON_TIMES) == set(TIME_PAGES)
    text = lesson_time(name)
    assert all(isinstance(v, int) for v in LESSON_TIMES[name]), LESSON_TIMES[name]
    page = " ".join((REPO / TIME_PAGES[name]).read_text().split())
    readme = " ".join((REPO / "README.md").read_text().split())
    assert text in page and text in readme, text
    out = subprocess.run([sys.executable, "-m", HELP[name], "--help"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert text in " ".join(out.split())
    assert "about a minute" not in page and "khoảng một phút" not in page
