"""The lessons' notebooks (notebooks/0N_*.ipynb, written by notebooks/make_notebooks.py).

Each committed notebook must equal its generator's output. Each is executed top to bottom
with nbclient (a fresh kernel, no network), with tiny step counts injected after its
parameter cell as papermill does: it must run without an error, show an image in every
figure cell, print what its lesson prints at that setting (the same numbers, line for
line), and end with the one skip line of its real-weights section. The real-weights
sections (vit/imagemae/videomae `real_weights.py`) then run again, alone, on random
weights saved in the real files' layouts: a timm state dict, an official MAE .pth with its
decoder, a transformers VideoMAE folder with id2label.
"""
import contextlib
import importlib
import io
import json
import os
import re
import runpy
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

# notebook -> (injected parameters, the lesson's arguments at that setting, cells that must show images,
#              text its run must print, its real-weights environment variable)
CASES = {
    "01_vit.ipynb": ("STEPS = 3\nNORM_STEPS = 3", ["vit", "--steps", "3", "--norm-steps", "3"],
                     {"walk": 1, "toy": 1, "attention": 1, "position": 1},
                     ["(1, 197, 384)", "(1, 6, 197, 197)", "as docs/01 says"], "VIT_WEIGHTS"),
    "02_imagemae.ipynb": ("STEPS = 3", ["imagemae", "--steps", "3"],
                          {"walk": 1, "pretrain": 1, "reconstruction": 2},
                          ["147 masked, 49 visible", "HELD OUT", "docs/02"], "MAE_WEIGHTS"),
    "03_videomae.ipynb": ("STEPS = 3", ["videomae", "--steps", "3"], {"masks": 1, "pretrain": 2},
                          ["1408 masked, 160 visible", "256/288 = 88.9%", "held-out clip", "docs/03"],
                          "VIDEOMAE_WEIGHTS"),
    "05_why_videomae.ipynb": ("QUICK = True\nEXPERIMENTS = '1,2,3,4'",
                              ["videomae.why", "--quick", "--experiments", "1,2,3,4"], {"figure": 1},
                              ["per-frame ViT", "random 90%", "tube 75%", "docs/05"], None),
}


def _generator():
    return runpy.run_path(str(NOTEBOOKS / "make_notebooks.py"))


def test_committed_notebooks_are_the_generators_output():
    gen = _generator()
    assert sorted(gen["NOTEBOOKS"]) == sorted(CASES)
    for name in CASES:
        assert (NOTEBOOKS / name).read_text() == gen["render"](name), \
            f"run `python notebooks/make_notebooks.py` ({name} differs from its cells)"


def test_parameter_cells_hold_the_lessons_defaults():
    from imagemae import lesson_claims as mae_claims
    from videomae import lesson_claims as video_claims
    from videomae.why_claims import DEFAULT_EXPERIMENTS
    from videomae.why_runs import Setup
    from vit import lesson_claims as vit_claims

    def params(name):
        nb = json.loads((NOTEBOOKS / name).read_text())
        cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
        scope = {}
        exec("".join(cell["source"]), scope)
        return scope

    assert (params("01_vit.ipynb")["STEPS"], params("01_vit.ipynb")["NORM_STEPS"]) == (vit_claims.STEPS,
                                                                                       vit_claims.NORM_STEPS)
    assert params("02_imagemae.ipynb")["STEPS"] == mae_claims.STEPS
    assert params("03_videomae.ipynb")["STEPS"] == video_claims.STEPS
    why, setup = params("05_why_videomae.ipynb"), Setup()
    assert (why["EXPERIMENTS"], why["PRETRAIN_STEPS"], why["FINETUNE_STEPS"], why["LABELS"], why["QUICK"]) == (
        ",".join(DEFAULT_EXPERIMENTS), setup.pretrain_steps, setup.finetune_steps, setup.labels, False)


def test_install_cell_picks_the_clone_the_kaggle_wheels_or_the_repo_url(tmp_path, capsys):
    scope = {}
    exec(_generator()["INSTALL"], scope)  # here the package is importable: nothing is installed
    assert "nothing to install" in capsys.readouterr().out
    assert scope["install_plan"]("", tmp_path) is None
    scope["package_importable"] = lambda: False  # as on Colab or Kaggle before the install

    clone = tmp_path / "clone"
    (clone / "notebooks").mkdir(parents=True)
    (clone / "setup.cfg").write_text("[metadata]\nname = videomae-from-scratch\n")
    assert scope["install_plan"]("", clone / "notebooks") == (f"the clone at {clone}",
                                                              ["install", "-q", "-e", str(clone)])

    other = tmp_path / "other"  # another project's clone is not ours
    other.mkdir()
    (other / "setup.cfg").write_text("[metadata]\nname = something-else\n")
    kaggle = tmp_path / "input"
    wheels = kaggle / "videomae-wheels" / "wheels"
    wheels.mkdir(parents=True)
    assert scope["kaggle_wheels"](kaggle) is None  # a folder named wheels, without our wheel
    (wheels / "videomae_from_scratch-0.1.0-py3-none-any.whl").touch()
    source, args = scope["install_plan"]("", other, kaggle_root=kaggle)
    assert source == f"the Kaggle dataset {wheels}"
    assert args == ["install", "-q", "--no-index", "--find-links", str(wheels), "videomae-from-scratch"]

    url = "https://example.org/someone/videomae-from-scratch.git"
    assert scope["install_plan"](url, other, kaggle_root=tmp_path / "none") == (url, ["install", "-q", f"git+{url}"])
    with pytest.raises(RuntimeError, match="Set REPO_URL at the top of this cell"):
        scope["install_plan"]("  ", other, kaggle_root=tmp_path / "none")


def _run(cells, tmp_path, monkeypatch, env=None):
    """Execute `cells` in a fresh kernel whose working folder is tmp_path; returns them with their outputs."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for name in ("VIT_WEIGHTS", "MAE_WEIGHTS", "VIDEOMAE_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
                        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                        **(env or {})}.items():
        monkeypatch.setenv(name, str(value))  # the kernel inherits these
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}})
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=300,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    return {c.get("id"): c for c in nb.cells if c.cell_type == "code"}


def _cells(name, params, only=None):
    """The notebook's cells, `params` injected after its parameter cell (papermill's way); `only`: these ids."""
    import nbformat

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    cells = []
    for cell in nb.cells:
        if only is None or cell.get("id") in only:
            cells.append(cell)
        if "parameters" in cell.metadata.get("tags", []):
            cells.append(nbformat.v4.new_code_cell(params, id="injected-parameters"))
    return cells


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def _images(cell) -> int:
    return sum("image/png" in o.get("data", {}) for o in cell.outputs)


def _numbers(text: str, ignore=()) -> list[str]:
    """The lines that carry a lesson's numbers: neither times (which vary) nor paths, the why table's rows
    without their seconds column."""
    out = []
    for line in text.splitlines():
        line = line.rstrip()
        if not re.search(r"\d", line) or line.startswith("time:") or any(s in line for s in ignore):
            continue
        out.append(re.sub(r"\s+\d+\.\d$", "", line) if re.match(r"\d \w+ +(per-frame|video) ViT", line) else line)
    return out


def _lesson_output(argv) -> str:
    """What `python -m <lesson> ARGS --no-figures` prints (the same numbers as with figures)."""
    module = importlib.import_module(f"{argv[0]}.lesson" if argv[0] != "videomae.why" else argv[0])
    with contextlib.redirect_stdout(io.StringIO()) as text:
        assert module.main([*argv[1:], "--no-figures"]) == 0
    return text.getvalue()


@pytest.mark.parametrize("name", CASES)
def test_notebook_runs_shows_its_figures_prints_the_lessons_numbers_and_skips_the_weights(name, tmp_path,
                                                                                          monkeypatch):
    params, argv, figures, printed, env = CASES[name]
    cells = _run(_cells(name, params), tmp_path, monkeypatch)
    assert "nothing to install" in _text(cells["install"])
    for cell_id, count in figures.items():
        assert _images(cells[cell_id]) == count, cell_id
    lesson_cells = [c for cid, c in cells.items() if cid not in ("install", "weights")]
    text = "\n".join(_text(c) for c in lesson_cells)
    for expected in printed:
        assert expected in text, expected
    if env:  # the real-weights section: one line, what to put where
        skip = _text(cells["weights"]).splitlines()
        assert len(skip) == 1 and skip[0].startswith("skipped, no weights set") and env in skip[0], skip
        assert _images(cells["weights"]) == 0
    # the same functions print the same numbers: the notebook's lines, in the lesson's order
    import videomae.why

    ignore = (str(tmp_path), videomae.why.HEADER)
    ours, lesson = _numbers(text, ignore), _numbers(_lesson_output(argv), ignore)
    it = iter(lesson)
    missing = [line for line in ours if line not in it]
    assert len(ours) > 5 and not missing, missing[:3]


# -- the real-weights sections, on random weights in the real files' layouts ------------------
@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """{env variable: path}: timm's vit_small layout, the official MAE .pth with its decoder, and a transformers
    VideoMAE classifier folder with Kinetics-like id2label, all tiny and random, at released widths where the
    file stores no head count (as the real files do not)."""
    from safetensors.torch import load_file, save_file
    from test_imagemae import _official_pth  # the official facebookresearch/mae names, written by hand
    from test_vit import timm_state_from_hf  # the timm names, written by hand from transformers'
    from transformers import VideoMAEConfig as HFVideoConfig
    from transformers import VideoMAEForVideoClassification, ViTConfig, ViTForImageClassification

    from imagemae import MAE
    from imagemae.config import MAEConfig

    root = tmp_path_factory.mktemp("real_weights")
    torch.manual_seed(0)
    hf_vit = ViTForImageClassification(ViTConfig(hidden_size=192, num_hidden_layers=1, num_attention_heads=3,
                                                 intermediate_size=384, image_size=32, patch_size=16, num_labels=7))
    hf_vit.save_pretrained(root / "hf_vit")
    timm = timm_state_from_hf(load_file(str(root / "hf_vit" / "model.safetensors")), depth=1)
    save_file({k: v.contiguous() for k, v in timm.items()}, root / "vit_small_patch16_224.safetensors")

    mae = MAE(MAEConfig(image_size=224, patch_size=16, dim=192, depth=1, heads=3, decoder_dim=512, decoder_depth=1,
                        decoder_heads=16))
    _official_pth(mae, root / "mae_visualize_vit_base.pth")

    labels = ["abseiling", "air drumming", "answering questions", "applauding", "applying cream"]
    cfg = HFVideoConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=48,
                        num_hidden_layers=1, num_attention_heads=3, intermediate_size=96, num_labels=len(labels),
                        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    VideoMAEForVideoClassification(cfg).save_pretrained(root / "videomae-base-finetuned-kinetics")
    return {"VIT_WEIGHTS": root / "vit_small_patch16_224.safetensors",
            "MAE_WEIGHTS": root / "mae_visualize_vit_base.pth",
            "VIDEOMAE_WEIGHTS": root / "videomae-base-finetuned-kinetics", "labels": labels}


# what each section prints with the random weights, and how many figures it shows
SECTIONS = {
    "01_vit.ipynb": ("VIT_WEIGHTS", ["the lesson's walk-through with these weights", "(1, 197, 192)",
                                     "(1, 3, 197, 197)", "(pretrained)"], 2),
    "02_imagemae.ipynb": ("MAE_WEIGHTS", ["147 of 196 patches hidden (75%)", "grace_hopper.jpg: MSE"], 1),
    "03_videomae.ipynb": ("VIDEOMAE_WEIGHTS", ["5 classes, clips of 4 frames at 32x32", "zoom (a still photo",
                                               "move_right (a synthetic shape"], 1),
}


@pytest.mark.parametrize("name", SECTIONS)
def test_real_weights_section_runs_on_a_file_in_the_real_layout(name, random_weights, tmp_path, monkeypatch):
    env, printed, figures = SECTIONS[name]
    cells = _run(_cells(name, "", only={"install", "parameters", "setup", "weights"}), tmp_path, monkeypatch,
                 env={env: random_weights[env]})
    text = _text(cells["weights"])
    for expected in printed:
        assert expected in text, (expected, text)
    assert "skipped" not in text and "error" not in text
    assert _images(cells["weights"]) == figures
    if env == "VIDEOMAE_WEIGHTS":  # the top 5 are named from config.json's id2label
        top = next(line for line in text.splitlines() if line.startswith("zoom ("))
        assert sum(label in top for label in random_weights["labels"]) == 5


def test_real_weights_sections_say_in_one_line_what_is_wrong(random_weights, tmp_path, capsys):
    from imagemae import real_weights as mae_section
    from videomae import real_weights as video_section
    from vit import real_weights as vit_section

    for section, env in ((vit_section, "VIT_WEIGHTS"), (mae_section, "MAE_WEIGHTS"),
                         (video_section, "VIDEOMAE_WEIGHTS")):
        assert not section.section("", tmp_path)
        assert not section.section(tmp_path / "not-downloaded.pth", tmp_path)
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2 and lines[0] == vit_section.skip_line(section.WANTED, env)
        assert lines[1].startswith(f"skipped: {env} = ") and "does not exist" in lines[1]
    # an encoder-only MAE file (mae_pretrain_vit_base.pth) has no decoder to paint with
    state = torch.load(random_weights["MAE_WEIGHTS"], weights_only=False)["model"]
    encoder_only = {k: v for k, v in state.items() if not k.startswith(("decoder", "mask_token"))}
    torch.save({"model": encoder_only}, tmp_path / "mae_pretrain_vit_base.pth")
    assert mae_section.section(tmp_path / "mae_pretrain_vit_base.pth", tmp_path) is None
    # an image model is not a video classifier
    assert video_section.section(random_weights["VIT_WEIGHTS"], tmp_path) is None
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "vit.ViT.from_pretrained" in lines[0] and lines[0].startswith("error: MAE_WEIGHTS: ")
    assert lines[1].startswith("error: VIDEOMAE_WEIGHTS: ")
