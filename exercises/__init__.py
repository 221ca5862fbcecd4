"""Exercises: write each core idea of the course once by hand, graded against the real code.

Every file `exercises/<name>.py` is a stub: a docstring that teaches the idea and a
body that raises NotImplementedError. Write the body, then

    python -m exercises check <name>      # PASS and a question, or FAIL lines that say what is wrong
    python -m exercises hint <name>       # the next hint: the idea first, the code last
    python -m exercises list              # the exercises in reading order

The grader (`exercises/grade.py`) compares your code with the project's own
implementation on random inputs. Reference answers are in `exercises/solutions/`
(look after trying). See exercises/README.md.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    name: str  # the file: exercises/<name>.py and exercises/solutions/<name>.py
    lesson: str  # which lesson it belongs to
    doc: str  # the page (and section) that explains it
    what: str  # one line: what you write
    real: str  # the project's implementation the grader compares with


# Reading order: the order the lessons introduce the ideas.
EXERCISES = [
    Exercise("patch_embed", "1 ViT", "docs/01_vit.md (I.1-I.2)",
             "patchify an image and embed every patch as a token", "vit/patches.py"),
    Exercise("attention", "1 ViT", "docs/01_vit.md (I.3)",
             "multi-head attention softmax(QK^T/sqrt(d))V from one qkv Linear", "vit/blocks.py: Attention"),
    Exercise("block", "1 ViT", "docs/01_vit.md (I.3)",
             "the pre-norm transformer block: two residual lines", "vit/blocks.py: Block"),
    Exercise("random_masking", "2 ImageMAE", "docs/02_imagemae.md (II.1)",
             "MAE's random masking: keep 25%, mask, ids_restore", "imagemae/masking.py"),
    Exercise("mae_loss", "2 ImageMAE", "docs/02_imagemae.md (II.3)",
             "the normalised-pixel target and the loss on masked patches only", "imagemae/model.py: MAE.forward_loss"),
    Exercise("tubelet_embed", "3 VideoMAE", "docs/03_videomae.md (1. Tubelets)",
             "cut a clip into 2x16x16 tubelets and embed them", "videomae/tubelets.py"),
    Exercise("tube_mask", "3 VideoMAE", "docs/03_videomae.md (2. Extreme tube masking)",
             "the tube mask: the same hidden places in every time slice", "videomae/masking.py: tube_mask"),
    Exercise("mixup", "4 Project 7.1", "docs/04_project71.md (What each knob does: Mixup)",
             "Mixup of a batch with its reverse, and the mixed labels", "finetune/training/mixup.py: mixup"),
]

BY_NAME = {e.name: e for e in EXERCISES}
