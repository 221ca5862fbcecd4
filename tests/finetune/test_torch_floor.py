"""setup.cfg's `torch>=X.Y` is true: no code of the package calls a torch API newer than X.Y.

The tests run on one torch (2.13 here), which has every API, so a call that
appeared in a later release than the floor passes them and breaks only on a
user's older torch (a Kaggle image, a university module). Two checks:

- the source of every package setup.cfg installs is parsed (code only, not
  comments or docstrings), and every torch name it uses that is in FIRST_RELEASE
  must be no newer than the floor;
- the optimizer step's gradient norm, once `torch.nn.utils.get_total_norm`
  (torch 2.6) has been taken away, still works and gives the same number.
"""
import ast
import configparser
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from finetune.training.engine import fused_backends, grad_norm, sdpa_backend

REPO = Path(__file__).resolve().parents[2]

# The first torch release of APIs newer than 2.1, from the PyTorch docs and pull requests:
FIRST_RELEASE = {
    "torch.nn.utils.get_total_norm": (2, 6),  # pytorch/pytorch PR 139662 (Nov 2024), first in the 2.6 docs
    "torch.nn.utils.clip_grads_with_norm_": (2, 6),  # the same PR
    "torch.serialization.safe_globals": (2, 5),  # the context manager; add_safe_globals came in 2.4
    "torch.serialization.add_safe_globals": (2, 4),
    "torch.nn.attention.flex_attention": (2, 5),
    "torch.nn.attention.sdpa_kernel": (2, 3),  # torch.nn.attention: first in the 2.3 docs (sdp_kernel before)
    "torch.nn.attention.SDPBackend": (2, 3),
    "torch.amp.GradScaler": (2, 3),  # the device-generic scaler; torch.cuda.amp.GradScaler before
    "torch.nn.RMSNorm": (2, 4),
    "torch.nn.Buffer": (2, 5),
    "torch.accelerator": (2, 6),
}


def torch_floor() -> tuple[int, int]:
    """(major, minor) of setup.cfg's `torch>=X.Y`."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    m = re.search(r"^\s*torch\s*>=\s*(\d+)\.(\d+)", cfg["options"]["install_requires"], re.MULTILINE)
    assert m, "setup.cfg: expected a line 'torch>=X.Y' in [options] install_requires"
    return int(m.group(1)), int(m.group(2))


def installed_packages() -> list[Path]:
    """The package folders setup.cfg puts in the wheel ([options.packages.find] include)."""
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    names = {n.strip().split(".")[0] for n in cfg["options.packages.find"]["include"].split(",")}
    return [REPO / n for n in sorted(names)]


def torch_names(source: str) -> set[str]:
    """Every dotted name the code uses, spelt from the module root: `nn.utils.x` after `from torch import nn`
    is `torch.nn.utils.x`; `from torch.nn.attention import sdpa_kernel` gives `torch.nn.attention.sdpa_kernel`."""
    tree = ast.parse(source)
    alias: dict[str, str] = {}
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                alias[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                names.add(a.name)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                alias[a.asname or a.name] = f"{node.module}.{a.name}"
                names.add(f"{node.module}.{a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts = []
            while isinstance(node, ast.Attribute):
                parts.append(node.attr)
                node = node.value
            if isinstance(node, ast.Name):
                names.add(".".join([alias.get(node.id, node.id), *reversed(parts)]))
    return names


def test_names_are_read_from_code_not_from_comments():
    code = ("from torch import nn\nimport torch.nn.functional as F\nfrom torch.nn.attention import sdpa_kernel\n"
            "x = nn.utils.get_total_norm(g)  # torch.serialization.safe_globals in a comment\n"
            "y = F.relu(x)\n'''torch.accelerator in a docstring'''\n")
    names = torch_names(code)
    assert {"torch.nn.utils.get_total_norm", "torch.nn.functional.relu", "torch.nn.attention.sdpa_kernel"} <= names
    assert not any(n.startswith(("torch.serialization", "torch.accelerator")) for n in names)


def test_setup_cfg_floor_covers_every_torch_api_the_package_calls():
    floor = torch_floor()
    too_new = []
    for package in installed_packages():
        for path in sorted(package.rglob("*.py")):
            for name in torch_names(path.read_text()):
                for api, first in FIRST_RELEASE.items():
                    if (name == api or name.startswith(api + ".")) and first > floor:
                        too_new.append(f"{path.relative_to(REPO)}: {api} (torch {first[0]}.{first[1]})")
    assert not too_new, (f"setup.cfg promises torch>={floor[0]}.{floor[1]}, but the package calls newer APIs: "
                         + "; ".join(sorted(set(too_new))) + ". Write them for the floor or raise it (with why).")


def test_the_installed_torch_meets_the_floor():
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", torch.__version__).groups())
    assert (major, minor) >= torch_floor()


def test_grad_norm_needs_no_get_total_norm(monkeypatch):
    """The optimizer step's finiteness test, on a torch without get_total_norm (older than 2.6)."""
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(7)), torch.nn.Parameter(
        torch.randn(2))]
    for p in params[:2]:
        p.grad = torch.randn_like(p)
    want = torch.cat([p.grad.flatten() for p in params[:2]]).norm()
    monkeypatch.delattr(torch.nn.utils, "get_total_norm", raising=False)
    got = grad_norm(params, max_norm=0.0)  # params[2] has no gradient: left out, as the optimizer does
    torch.testing.assert_close(got, want)
    params[1].grad[0] = float("nan")
    assert not torch.isfinite(grad_norm(params, 0.0))  # what makes the step skip
    assert grad_norm([torch.nn.Parameter(torch.ones(2))], 0.0) == 0  # no gradients at all


def test_attention_kernels_without_the_cudnn_member():
    """SDPBackend.CUDNN_ATTENTION is newer than the rest of the enum: a torch without it is not an error."""
    from torch.nn.attention import SDPBackend

    older = SimpleNamespace(FLASH_ATTENTION="flash", EFFICIENT_ATTENTION="efficient")  # the members it had
    assert fused_backends(older) == ["flash", "efficient"]
    assert fused_backends(SDPBackend)[-1] == SDPBackend.CUDNN_ATTENTION
    assert isinstance(sdpa_backend(torch.device("cpu"), None), str)


@pytest.mark.parametrize("doc", ["README.md", "docs/04_project71.md"])
def test_docs_name_the_floor_and_the_torch_the_tests_ran_on(doc):
    text = (REPO / doc).read_text()
    major, minor = torch_floor()
    assert f"torch >= {major}.{minor}" in text, f"{doc}: expected the floor 'torch >= {major}.{minor}'"
    assert re.search(r"tested on\s+torch\s+\d+\.\d+\.\d+", text), f"{doc}: expected 'tested on torch X.Y.Z'"
