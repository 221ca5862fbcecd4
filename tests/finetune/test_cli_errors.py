"""A user's mistake ends in ONE `error:` line and exit status 2, never a traceback.

Each test runs the real command line in a subprocess (`python -m finetune ...`,
`python -m vit ...`) the way a user would, and checks three things: the exit
status, one stderr line starting with `error:` that names the path or value at
fault, and no "Traceback" anywhere in the output. `--debug` and FINETUNE_DEBUG=1
bring the traceback back. One tiny real run is shared by the whole module.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from finetune import cli
from finetune.toy import write_toy_dataset

REPO = Path(__file__).resolve().parents[1]
TINY = ["model=tiny", "num_frames=4", "image_size=16", "resize=16", "num_workers=0", "batch_size=2", "epochs=1",
        "limit_train_batches=1", "val_fraction=0.2"]


def run_cli(args, cwd, module="finetune", **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (cli.DEBUG_ENV, "FINETUNE_PROGRESS")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", **env_extra)
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def train_args(data, out, *extra, weights=None) -> list:
    return (["train", "--data", data, "--out", out, "--preset", "exp1", "--device", "cpu"]
            + (["--weights", weights] if weights else []) + ["--set", *TINY] + list(extra))


def error_line(r: subprocess.CompletedProcess, *named: str, status: int = 2) -> str:
    """Assert the shape of a user error; return its `error:` line."""
    both = r.stdout + r.stderr
    assert "Traceback" not in both, both
    lines = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, f"expected one 'error:' line on stderr, found {len(lines)}:\n{r.stderr}"
    assert r.returncode == status, f"exit status {r.returncode}, expected {status}\n{both}"
    for name in named:
        assert str(name) in lines[0], f"{name!r} not named in {lines[0]!r}"
    return lines[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Toy data (3 classes), toy data of other classes (2), and a finished tiny run on the first."""
    top = tmp_path_factory.mktemp("cli_errors")
    small = dict(height=24, width=32, frames=(4, 6))  # what `make-toy-data` writes, at a size that loads fast
    write_toy_dataset(top / "data", classes=3, clips_per_class=3, test_clips=2, **small)
    write_toy_dataset(top / "other", classes=2, clips_per_class=1, test_clips=1, **small)
    trained = run_cli(train_args("data", "run"), top)
    assert trained.returncode == 0 and "Traceback" not in trained.stderr, trained.stdout + trained.stderr
    assert (top / "run" / "checkpoint.pt").exists()
    return top


# -- data ----------------------------------------------------------------------
def test_train_with_a_missing_data_folder(world, tmp_path):
    error_line(run_cli(train_args(tmp_path / "no_such_data", tmp_path / "r"), tmp_path), tmp_path / "no_such_data")


def test_check_data_with_a_missing_folder(tmp_path):
    error_line(run_cli(["check-data", tmp_path / "no_such_data"], tmp_path), tmp_path / "no_such_data")


def test_train_on_a_data_train_without_class_folders(world, tmp_path):
    (tmp_path / "empty" / "data_train").mkdir(parents=True)
    error_line(run_cli(train_args(tmp_path / "empty", tmp_path / "r"), tmp_path), tmp_path / "empty" / "data_train")


# -- weights -------------------------------------------------------------------
def test_train_weights_a_text_file_named_pth(world, tmp_path):
    fake = tmp_path / "x.pth"
    fake.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:0123\nsize 344865817\n")
    error_line(run_cli(train_args(world / "data", tmp_path / "r", weights=fake), tmp_path), fake)


def test_train_weights_a_missing_path(world, tmp_path):
    missing = tmp_path / "nowhere" / "videomae.pth"
    error_line(run_cli(train_args(world / "data", tmp_path / "r", weights=missing), tmp_path), missing)


def test_train_weights_a_folder_without_weights(world, tmp_path):
    folder = tmp_path / "weights_dir"
    folder.mkdir()
    (folder / "README.md").write_text("the weights were never downloaded\n")
    error_line(run_cli(train_args(world / "data", tmp_path / "r", weights=folder), tmp_path), folder)


# -- config --------------------------------------------------------------------
def test_set_without_equals(world, tmp_path):
    error_line(run_cli(train_args(world / "data", tmp_path / "r", "epochs"), tmp_path), "'epochs'", "name=value")
    assert not (tmp_path / "r").exists()  # refused before anything is written


def test_set_an_unknown_field_lists_the_fields(world, tmp_path):
    line = error_line(run_cli(train_args(world / "data", tmp_path / "r", "no_such_field=1"), tmp_path),
                      "no_such_field")
    assert "num_frames" in line and "label_smoothing" in line
    assert not (tmp_path / "r").exists()


def test_set_a_value_of_the_wrong_type(world, tmp_path):
    error_line(run_cli(train_args(world / "data", tmp_path / "r", "epochs=abc"), tmp_path), "epochs", "'abc'", "int")
    assert not (tmp_path / "r").exists()


def test_set_a_value_validate_refuses(world, tmp_path):
    error_line(run_cli(train_args(world / "data", tmp_path / "r", "precision=fp8"), tmp_path), "'fp8'", "precision")


def test_unknown_preset_is_an_argparse_usage_error(tmp_path):
    r = run_cli(["train", "--data", "d", "--out", "o", "--preset", "exp9"], tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stdout + r.stderr
    assert any("error:" in line and "'exp9'" in line for line in r.stderr.splitlines()), r.stderr


# -- runs ----------------------------------------------------------------------
def test_predict_from_a_folder_without_checkpoint(world, tmp_path):
    (tmp_path / "not_a_run").mkdir()
    error_line(run_cli(["predict", "--run", tmp_path / "not_a_run", "--data", world / "data", "--out",
                        tmp_path / "s.csv"], tmp_path), tmp_path / "not_a_run")


def test_train_into_an_out_that_already_holds_a_run(world, tmp_path):
    stamp = (world / "run" / "checkpoint.pt").stat().st_mtime_ns
    error_line(run_cli(train_args(world / "data", world / "run"), tmp_path), world / "run", "--resume")
    assert (world / "run" / "checkpoint.pt").stat().st_mtime_ns == stamp  # the run is left alone


def test_predict_with_a_run_trained_on_other_classes(world, tmp_path):
    error_line(run_cli(["predict", "--run", world / "run", "--data", world / "other", "--out", tmp_path / "s.csv"],
                       tmp_path), world / "run", world / "other")
    assert not (tmp_path / "s.csv").exists()


# -- --debug and FINETUNE_DEBUG show the traceback -----------------------------
def test_debug_flag_shows_the_traceback(world, tmp_path):
    r = run_cli(["--debug"] + train_args(world / "data", world / "run"), tmp_path)
    assert r.returncode == 2 and "Traceback (most recent call last)" in r.stderr
    assert r.stderr.rstrip().splitlines()[-1].startswith("error:")  # the one-line message still ends it


def test_debug_flag_goes_before_or_after_the_command():
    parser = cli.build_parser()
    assert parser.parse_args(["--debug", "check-data", "d"]).debug
    assert parser.parse_args(["check-data", "d", "--debug"]).debug
    assert not parser.parse_args(["check-data", "d"]).debug


def test_debug_environment_variable_shows_the_traceback(world, tmp_path):
    missing = tmp_path / "no_such_data"
    r = run_cli(train_args(missing, tmp_path / "r"), tmp_path, FINETUNE_DEBUG="1")
    assert r.returncode == 2 and "Traceback (most recent call last)" in r.stderr and str(missing) in r.stderr


# -- the ViT lesson's --weights ---------------------------------------------------
@pytest.mark.parametrize("kind", ["missing", "text file"])
def test_vit_lesson_bad_weights_fail_before_the_lesson(tmp_path, kind):
    weights = tmp_path / ("nowhere/vit.pth" if kind == "missing" else "vit.pth")
    if kind == "text file":
        weights.write_text("<html>404 Not Found</html>\n")
    out = tmp_path / "figures"
    r = run_cli(["--weights", weights, "--out", out], tmp_path, module="vit")
    error_line(r, weights)
    assert "I.1" not in r.stdout and not out.exists()  # nothing of the lesson ran


# -- in-process: how main() sorts what it catches ---------------------------------
def _main_with(monkeypatch, func, argv=("make-toy-data", "x")):
    """cli.main(argv) with the command's function replaced by `func`."""
    module = {"make-toy-data": "finetune.commands.make_toy_data", "train": "finetune.commands.train"}[argv[0]]
    monkeypatch.setattr(f"{module}._run", func)  # add_parser binds `_run` when main builds the parser
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    return cli.main(list(argv))


def test_a_bug_keeps_its_traceback_and_asks_for_a_report(monkeypatch, capsys):
    def buggy(args):
        return {}["missing key"]

    assert _main_with(monkeypatch, buggy) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError" in err
    assert "bug" in err.splitlines()[-1] and "report" in err.splitlines()[-1]


def test_ctrl_c_is_one_line_and_status_130(monkeypatch, capsys, tmp_path):
    def interrupted(args):
        raise KeyboardInterrupt

    assert _main_with(monkeypatch, interrupted) == 130
    assert capsys.readouterr().err == "interrupted\n"
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"")
    argv = ["train", "--data", "d", "--out", str(tmp_path / "run")]
    assert _main_with(monkeypatch, interrupted, argv) == 130
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(tmp_path / "run" / "checkpoint.pt") in err and "--resume" in err


def test_error_messages_read_as_one_line():
    from finetune.errors import DataError

    assert cli.describe_error(FileNotFoundError(2, "No such file or directory", "/data/x")) == \
        "No such file or directory: /data/x"
    wrapped = DataError("Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                        "last):\n  File \"/x/dataset.py\", line 3, in load\n    raise DataError(msg)\n"
                        "finetune.errors.DataError: /data/c/clip_1: no frames\n")
    assert cli.describe_error(wrapped) == "/data/c/clip_1: no frames"
