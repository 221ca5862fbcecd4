"""Write the lessons' notebooks (notebooks/0N_*.ipynb) from the cells kept as Python strings.

    python notebooks/make_notebooks.py            # (re)write the four notebooks
    python notebooks/make_notebooks.py --check    # exit 1 if a committed notebook differs from its cells

One notebook per lesson: 01_vit (python -m vit, docs/01), 02_imagemae (python -m
imagemae, docs/02), 03_videomae (python -m videomae, docs/03), 05_why_videomae (python -m
videomae.why, docs/05). Each notebook's cells are in `cells_0N_*.py` beside this file,
as plain strings, so a review reads them like code (a .ipynb diff is JSON).

A notebook never copies a lesson: its code cells call the lesson's own functions, in
the order the lesson's `main` calls them (`vit.lesson.walk_through`, `toy_task`, ...),
and show the figures those functions write. Its parameter cell holds the lesson's
default step counts, read from the lesson here when the notebook is written, so a
changed default is a notebook that no longer matches its cells (`--check`, and
tests/test_notebooks.py, which also executes every notebook with tiny step counts).

Every notebook has the same first code cell (`INSTALL`, below): it installs this
package if the notebook runs where it is not importable yet (inside a clone, on Kaggle
from the wheels of `make kaggle-dataset`, or from the repository's address).
"""
import argparse
import runpy
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
NOTEBOOKS = {  # notebook -> the file of its cells
    "01_vit.ipynb": "cells_01_vit.py",
    "02_imagemae.ipynb": "cells_02_imagemae.py",
    "03_videomae.ipynb": "cells_03_videomae.py",
    "05_why_videomae.ipynb": "cells_05_why_videomae.py",
}

INSTALL_MD = """
**Install.** The next cell installs this repository's package (`vit`, `imagemae`, `videomae`) if this Python
cannot import it yet: inside a clone of the repository, `pip install -e` of the clone; on Kaggle, from an attached
dataset of wheels built by `make kaggle-dataset` (docs/kaggle.md; the internet may stay off); elsewhere (Colab),
`pip install git+REPO_URL`, where you set `REPO_URL` in the cell to the repository's address.

*Tiếng Việt.* Ô tiếp theo cài gói của repository này nếu Python chưa import được: trong bản clone thì
`pip install -e`; trên Kaggle thì từ dataset wheel (`make kaggle-dataset`); trên Colab thì
`pip install git+REPO_URL`, với `REPO_URL` là địa chỉ repository do bạn điền vào ô.
"""

INSTALL = '''
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

# The repository has no fixed public address yet: set REPO_URL to the one you cloned or forked it from,
# e.g. "https://github.com/<owner>/<repository>". Only needed where the package is neither importable, nor in a
# clone above this folder, nor in a Kaggle dataset of wheels (Colab, or Kaggle without that dataset).
REPO_URL = ""

def package_importable():
    return all(importlib.util.find_spec(name) is not None for name in ("vit", "imagemae", "videomae"))

def find_clone(start):
    """The folder at or above `start` whose setup.cfg names this package: the notebook runs in a clone."""
    for folder in (start, *start.parents):
        cfg = folder / "setup.cfg"
        if cfg.is_file() and "name = videomae-from-scratch" in cfg.read_text(errors="replace"):
            return folder
    return None

def kaggle_wheels(root):
    """The folder of videomae_from_scratch-*.whl in an attached Kaggle dataset (`make kaggle-dataset`)."""
    for pattern in ("*/wheels", "*/*/wheels", "*/*/*/wheels"):
        for folder in sorted(Path(root).glob(pattern)):
            if any(folder.glob("videomae_from_scratch-*.whl")):
                return folder
    return None

def install_plan(repo_url, start, kaggle_root="/kaggle/input"):
    """(where from, pip's arguments), or None when the package is importable already."""
    if package_importable():
        return None
    clone = find_clone(Path(start).resolve())
    if clone is not None:
        return f"the clone at {clone}", ["install", "-q", "-e", str(clone)]
    wheels = kaggle_wheels(kaggle_root)
    if wheels is not None:  # --no-index: pip never tries the internet
        return f"the Kaggle dataset {wheels}", ["install", "-q", "--no-index", "--find-links", str(wheels),
                                                "videomae-from-scratch"]
    if repo_url.strip():
        return repo_url.strip(), ["install", "-q", f"git+{repo_url.strip()}"]
    raise RuntimeError("cannot install the package: this notebook is not inside a clone of the repository, and "
                       "no Kaggle dataset of its wheels is attached. Set REPO_URL at the top of this cell to the "
                       "repository's address (it has no fixed public URL yet) and run the cell again, or clone "
                       "the repository and open the notebook from its notebooks/ folder.")

def pip(args):
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)
    print(done.stdout[-2000:], done.stderr[-2000:])  # a notebook does not show what a subprocess writes itself
    return done.returncode

plan = install_plan(REPO_URL, Path.cwd())
if plan is None:
    print("the package is importable, nothing to install:", Path(importlib.util.find_spec("vit").origin).parent)
else:
    source, args = plan
    print("installing from", source, flush=True)
    rc = pip(args)
    if rc != 0 and "--no-index" in args:  # Kaggle: a package of the image whose requirements pip cannot meet
        # offline; install ours, and what the image lacks, without dependency resolution (as kaggle/project71.ipynb)
        missing = [m for m in ("einops", "safetensors", "tqdm") if importlib.util.find_spec(m) is None]
        rc = pip([*args[:-1], "--no-deps", args[-1], *missing])
    if rc != 0:
        raise RuntimeError(f"pip {' '.join(args)} failed (its output is above)")
    if "-e" in args:  # an editable install is seen by a new Python; this one gets the clone on its path
        sys.path.insert(0, args[-1])
    importlib.invalidate_caches()
import vit  # noqa: E402,F401  (fails here, with the reason, if the install did not work)
'''


def load_cells(name: str) -> list[tuple[str, str, str]]:
    """The cells of one notebook from its cells file, the shared install cells put after its title."""
    if str(REPO) not in sys.path:  # the cells files read the lessons' defaults
        sys.path.insert(0, str(REPO))
    cells = runpy.run_path(str(HERE / NOTEBOOKS[name]))["CELLS"]
    return [cells[0], ("install-md", "markdown", INSTALL_MD), ("install", "code", INSTALL), *cells[1:]]


def build(name: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    make = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = []
    for cell_id, kind, source in load_cells(name):  # ids are fixed so that regenerating gives the same file
        cell = make[kind](source.strip("\n"), id=cell_id)
        if cell_id == "parameters":
            cell.metadata["tags"] = ["parameters"]  # papermill's mark: `papermill NB OUT -p STEPS 50`
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its cells")
    args = p.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path, text = HERE / name, render(name)
        if args.check:
            same = path.exists() and path.read_text() == text
            print(f"{path}: {'up to date' if same else 'differs from its cells: run notebooks/make_notebooks.py'}")
            stale += [] if same else [name]
        else:
            path.write_text(text)
            print(f"wrote {path} ({len(build(name).cells)} cells)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
