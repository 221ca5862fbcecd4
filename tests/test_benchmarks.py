"""Every benchmark runs as `python -m benchmarks.<name>` from the repository root (benchmarks/__init__.py),
says so in its usage line, and none reaches its imports by editing `sys.path`. Only `--help` runs here:
the benchmarks themselves take minutes (docs/benchmarks.md has their commands and results)."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = ["activation_memory", "cpu_kernels", "gpu_check", "imagemae_encoder", "loader_speed",
              "videomae_vs_hf"]


def test_the_list_is_every_benchmark_and_the_package_docstring_names_each():
    files = sorted(p.stem for p in (REPO / "benchmarks").glob("*.py") if p.stem != "__init__")
    assert files == BENCHMARKS
    package_doc = (REPO / "benchmarks" / "__init__.py").read_text()
    for name in BENCHMARKS:
        assert f"python -m benchmarks.{name}" in package_doc


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_help_runs_as_a_module(name):
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=False, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: python -m benchmarks.{name} ")


def test_no_benchmark_edits_sys_path_or_is_run_as_a_script():
    for path in (REPO / "benchmarks").glob("*.py"):
        text = path.read_text()
        assert "sys.path" not in text, path.name
        assert f"python benchmarks/{path.name}" not in text, path.name
    for doc in [REPO / "README.md", *(REPO / "docs").glob("*.md")]:
        assert "python benchmarks/" not in doc.read_text(), doc.name
