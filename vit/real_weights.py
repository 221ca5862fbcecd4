"""The optional last section of notebooks/01_vit.ipynb: the lesson's walk-through with a
real pretrained ViT, and where its [class] token looks on a real photo.

The file is timm's `vit_small_patch16_224`, the organizers' baseline (the
`model.safetensors` of huggingface.co/timm/vit_small_patch16_224.augreg_in21k_ft_in1k,
or timm's `.pth` of it), or anything `ViT.from_pretrained` reads. Its path comes from
the notebook's parameter cell, which reads the environment variable VIT_WEIGHTS.
Without one, `section` prints ONE line saying what file to put where, and nothing else.
With one, it runs the lesson's own `--weights` path (`python -m vit --weights FILE`):
`vit.lesson.load_weights`, then `vit.lesson.walk_through` on matplotlib's photo of
Grace Hopper, which prints I.1-I.4 with the file's shapes and draws the last block's
[class] token attention per head (Dosovitskiy et al. 2021, section 4.5) and the file's
learned position table beside a 2-D sin-cos one.

`skip_line` and `missing` are shared with `imagemae.real_weights` and
`videomae.real_weights`, the same section of notebooks 02 and 03.
"""
from pathlib import Path

from . import lesson

ENV = "VIT_WEIGHTS"
WANTED = ("timm's vit_small_patch16_224 file (model.safetensors from "
          "huggingface.co/timm/vit_small_patch16_224.augreg_in21k_ft_in1k, or its .pth)")
FIGURES = ("attention_photo.png", "position_similarity_weights.png")  # what walk_through draws with weights


def skip_line(wanted: str, env: str) -> str:
    """The one line a section prints when no weights are set."""
    return (f"skipped, no weights set: to run this section, download {wanted} and set {env} to its path "
            "(in the parameter cell at the top, or as an environment variable)")


def missing(path, env: str) -> bool:
    """True, after one line saying so, when `path` (set by `env`) does not exist."""
    if Path(path).expanduser().exists():
        return False
    print(f"skipped: {env} = {str(path)!r} does not exist (a typo, or the file is not downloaded yet)")
    return True


def section(path, out) -> list[Path]:
    """Run the lesson's --weights path with the file at `path` (None or "": print the
    skip line) and write its figures to `out`; returns the figures' paths ([] when
    skipped, or after the lesson's one `error:` line for a file it cannot read)."""
    if not path:
        print(skip_line(WANTED, ENV))
        return []
    if missing(path, ENV):
        return []
    model = lesson.load_weights(Path(path).expanduser())  # None after one error: line on stderr
    if model is None:
        return []
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{path}: a ViT with D = {model.cfg.dim}, {len(model.blocks)} blocks, {model.cfg.heads} heads, "
          f"{model.cfg.num_classes} classes; the lesson's walk-through with these weights:")
    lesson.walk_through(model.eval(), lesson.load_photo(), out, pretrained=True)
    return [out / name for name in FIGURES]
