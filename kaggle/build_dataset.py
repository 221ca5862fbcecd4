"""Build what to upload as a Kaggle dataset, so a notebook with the internet OFF can install this package.

    python kaggle/build_dataset.py --out dist/kaggle-dataset      (`make kaggle-dataset`)

    OUT/
      wheels/videomae_from_scratch-0.1.0-py3-none-any.whl   this package (weights, vit, imagemae, videomae, finetune)
      wheels/einops-*.whl, safetensors-*.whl, tqdm-*.whl, av-*.whl
                                  run-time dependencies a Kaggle image may lack, for CPython 3.10 and 3.11
                                  on manylinux x86_64 (Kaggle's machines), downloaded from the package registry
      dataset-metadata.json       Kaggle's dataset format (title, id, licenses): edit the id before uploading
      README.md                   how to upload the folder and install from it in a notebook

In the notebook (kaggle/project71.ipynb does this):

    pip install --no-index --find-links /kaggle/input/<dataset>/wheels videomae-from-scratch

Why these dependencies and not the others: torch, numpy, matplotlib and Pillow
are part of Kaggle's Python image, and its torch is the CUDA build that matches
its drivers (replacing it would break the GPU), so they are never downloaded;
`pip --no-index` then finds them already installed. einops, safetensors, tqdm
and PyAV (the `video` extra: only for raw .avi/.mp4 clips) may be missing, and
cost a few MB (PyAV ~30 MB per Python version: it bundles FFmpeg).

`--no-deps-download` builds the package's wheel only (no network needed): for a
quick check, or when the image already has the dependencies.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "videomae-from-scratch"
DEPENDENCIES = ["einops>=0.7", "safetensors", "tqdm", "av>=12"]  # each has no dependencies of its own
PYTHONS = ["3.10", "3.11"]
# Kaggle's image is a recent Ubuntu (glibc well above 2.28): any of these wheel tags runs there
PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"]
SOURCES = ["pyproject.toml", "setup.cfg", "README.md", "weights", "vit", "imagemae", "videomae", "finetune"]
ID_PLACEHOLDER = "YOUR_KAGGLE_USERNAME/videomae-from-scratch-wheels"


def pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", *args]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def build_wheel(wheels: Path) -> Path:
    """This package's wheel, built from a clean copy of its sources: a stale build/ folder of the
    repository (setuptools keeps deleted modules there) can then never slip into the wheel."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        for name in SOURCES:
            path = REPO / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                src.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, src / name)
        # setuptools installed: build with it, no isolated build environment (nothing downloaded, seconds
        # instead of many); setuptools >= 70.1 makes wheels without the separate `wheel` package
        no_isolation = ["--no-build-isolation"] if _has("setuptools") else []
        pip("wheel", "--no-deps", "--quiet", *no_isolation, "--wheel-dir", str(wheels), str(src))
    found = sorted(wheels.glob(PACKAGE.replace("-", "_") + "-*.whl"))
    if len(found) != 1:
        raise RuntimeError(f"expected one {PACKAGE} wheel in {wheels}, found {[p.name for p in found]}")
    return found[0]


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def download_dependencies(wheels: Path, pythons: list[str]) -> None:
    """Binary wheels of DEPENDENCIES for each CPython version, Linux x86_64 (not for this machine)."""
    platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
    for version in pythons:
        pip("download", "--quiet", "--no-deps", "--only-binary", ":all:", *platforms, "--implementation", "cp",
            "--python-version", version, "--dest", str(wheels), *DEPENDENCIES)


def metadata(dataset_id: str, pythons: list[str], with_deps: bool) -> dict:
    """dataset-metadata.json as the Kaggle API reads it (Kaggle/kaggle-api, docs/datasets_metadata.md):
    title 6-50 characters, subtitle 20-80, id `owner/slug`, exactly one license. Kaggle's list has no
    MIT: "other", with the licenses named in the description."""
    deps = f" plus {', '.join(DEPENDENCIES)} for CPython {' and '.join(pythons)}" if with_deps else ""
    return {
        "title": "videomae-from-scratch wheels",
        "subtitle": "Offline pip install of the VideoMAE fine-tuning package",
        "description": (f"Wheels of {PACKAGE} (MIT license){deps}, manylinux x86_64; each wheel keeps its own "
                        "license (einops MIT, safetensors Apache-2.0, tqdm MPL-2.0 and MIT, PyAV BSD-3-Clause with "
                        "FFmpeg under the LGPL). Install with the internet off: pip install --no-index "
                        f"--find-links /kaggle/input/<this dataset>/wheels {PACKAGE}"),
        "id": dataset_id,
        "licenses": [{"name": "other"}],
    }


README = """# {package} wheels (a Kaggle dataset)

Built by `make kaggle-dataset` (`kaggle/build_dataset.py`). Contents of `wheels/`:

{listing}

## Upload (once, and again after every change to the code)

1. Edit `dataset-metadata.json`: replace `YOUR_KAGGLE_USERNAME` in `id` with your Kaggle user name.
2. Either the web page: kaggle.com -> Datasets -> New Dataset -> drag this whole folder in;
   or the Kaggle command line (`pip install kaggle`, an API token in `~/.kaggle/kaggle.json`):

       kaggle datasets create -p {out} --dir-mode zip          # the first time
       kaggle datasets version -p {out} --dir-mode zip -m "new code"   # later versions

   (`--dir-mode zip` uploads the `wheels/` folder; without it the command skips folders.)

## Use in a notebook

Notebook -> Add Input -> your dataset. With the internet off:

    pip install --no-index --find-links /kaggle/input/<dataset>/wheels {package}

`kaggle/project71.ipynb` finds the folder by itself (any folder under /kaggle/input holding the
`{wheel_prefix}-*.whl` file) and does this for you. torch, numpy, matplotlib and Pillow come from
Kaggle's image and are not in this dataset.
"""


def build(out: Path, download: bool = True, pythons: list[str] = PYTHONS, dataset_id: str = ID_PLACEHOLDER) -> Path:
    out = Path(out)
    wheels = out / "wheels"
    if wheels.exists():
        shutil.rmtree(wheels)  # ours: an old version of the package's wheel must not stay beside the new one
    wheels.mkdir(parents=True)
    wheel = build_wheel(wheels)
    if download:
        download_dependencies(wheels, pythons)
    (out / "dataset-metadata.json").write_text(json.dumps(metadata(dataset_id, pythons, download), indent=2) + "\n")
    listing = "\n".join(f"- `{p.name}` ({p.stat().st_size / 1e6:.1f} MB)" for p in sorted(wheels.glob("*.whl")))
    (out / "README.md").write_text(README.format(package=PACKAGE, listing=listing, out=out,
                                                 wheel_prefix=PACKAGE.replace("-", "_")))
    total = sum(p.stat().st_size for p in wheels.glob("*.whl")) / 1e6
    print(f"built {out}: {wheel.name} and {len(list(wheels.glob('*.whl'))) - 1} dependency wheel(s), {total:.1f} MB"
          + ("" if download else " (--no-deps-download: the package only)"))
    return wheel


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="dist/kaggle-dataset", help="folder to write (default dist/kaggle-dataset)")
    p.add_argument("--no-deps-download", action="store_true",
                   help="build the package's wheel only: no network needed")
    p.add_argument("--python-versions", nargs="+", default=PYTHONS, metavar="X.Y",
                   help=f"CPython versions to download dependency wheels for (default {' '.join(PYTHONS)})")
    p.add_argument("--id", default=ID_PLACEHOLDER, help="the Kaggle dataset id, owner/slug (default: a placeholder)")
    args = p.parse_args(argv)
    try:
        build(Path(args.out), not args.no_deps_download, args.python_versions, args.id)
    except subprocess.CalledProcessError as err:
        print(f"error: {' '.join(err.cmd[:4])} ... failed with exit status {err.returncode} (see pip's output "
              "above); without network, use --no-deps-download", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
