"""`python -m finetune check-data` / `make-toy-data`: every planted problem reported by path, exit codes."""
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from finetune.cli import main


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    assert main(["make-toy-data", str(out), "--classes", "2", "--clips-per-class", "2", "--test-clips", "2"]) == 0
    return out


def test_make_toy_data_layout(clean):
    clips = sorted(p.relative_to(clean).as_posix() for p in (clean / "data_train").glob("*/*"))
    assert len(clips) == 4 and all(c.split("/")[1] in ("appear", "grow") for c in clips)
    frames = sorted((clean / "test" / "0").iterdir())
    assert frames[0].name == "10000.jpg" and 5 <= len(frames) <= 20
    assert Image.open(frames[0]).size == (320, 240)
    assert (clean / "test_labels.csv").read_text().splitlines()[0] == "id,class"


def test_clean_dataset_exits_zero_with_summary(clean):
    r = subprocess.run([sys.executable, "-m", "finetune", "check-data", str(clean), "--min-clips", "2"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "classes: 2" in r.stdout and "train clips: 4" in r.stdout and "min/median/max" in r.stdout
    assert "0 errors, 0 warnings" in r.stdout


def test_broken_dataset_reports_each_problem_by_path(clean, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(clean, data)
    clip0, clip1 = sorted((data / "data_train" / "appear").iterdir())[:2]
    empty = data / "data_train" / "grow" / "Empty_grow_u_nm_np1_fr_med_0"
    empty.mkdir()
    truncated = clip0 / "10001.jpg"
    truncated.write_bytes(truncated.read_bytes()[:500])
    grey = clip1 / "10000.jpg"
    Image.fromarray(np.full((240, 320), 128, np.uint8)).save(grey)
    stray = clip1 / "notes.txt"
    stray.write_bytes(b"junk")
    litter = clip1 / ".DS_Store"                                # OS litter: skipped, not a warning
    litter.write_bytes(b"junk")
    rc = main(["check-data", str(tmp_path)])                   # the `data/` parent is accepted
    out = capsys.readouterr().out
    assert rc == 1
    lines = out.splitlines()

    def reported(level, path, words):
        return any(line.startswith(level) and f"{path}:" in line and words in line for line in lines)

    assert reported("ERROR", empty, "empty clip")
    assert reported("ERROR", truncated, "truncated")
    assert reported("WARNING", grey, "grayscale")
    assert reported("WARNING", stray, "stray file")
    assert not any(f"{litter}:" in line for line in lines)
    assert "FAIL" in out


def test_missing_training_folder_fails(tmp_path, capsys):
    (tmp_path / "test" / "0").mkdir(parents=True)
    assert main(["check-data", str(tmp_path)]) == 1
    assert "missing training folder" in capsys.readouterr().out
