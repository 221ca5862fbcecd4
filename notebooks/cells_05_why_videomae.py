"""The cells of notebooks/05_why_videomae.ipynb (written by make_notebooks.py): `python -m videomae.why`,
one experiment per cell.

The code cells call `videomae.why` and `videomae.why_runs` (the table's rows, `run_row`, the
figure, the claims) as `videomae.why.main` does; the Markdown is docs/05_why_videomae.md,
shortened, in English and Vietnamese (terms: docs/glossary.md).
"""
from videomae.why_claims import DEFAULT_EXPERIMENTS
from videomae.why_runs import Setup

DEFAULTS = Setup()

CELLS = [  # (cell id, "markdown" | "code", source)
    ("title", "markdown", """
# 5. Why VideoMAE: four small experiments on a CPU

The experiments of `python -m videomae.why` as a notebook, one per cell: small, seeded, fixed-step runs on the
synthetic action clips of `videomae.synthetic`, whose class is decided by motion only. The code cells call the
lesson's own functions (`videomae/why.py`, `videomae/why_runs.py`); the results, with two seeds, the label-count
sweep and what the toy scale cannot show: [docs/05_why_videomae.md](../docs/05_why_videomae.md).

1. **Time matters**: a per-frame image ViT vs a video ViT, both from scratch, same clips and steps.
2. **Pretraining matters (with few labels)**: a video ViT from scratch vs the same after VideoMAE pretraining.
3. **Tube vs random masking**, as the pretraining (Tong et al. 2022, Table 1).
4. **75% vs 90%** masking ratio (section 3.3).

**Tóm tắt (tiếng Việt).** Bốn thí nghiệm nhỏ, seed cố định, số bước cố định, trên các clip tổng hợp mà lớp chỉ do
chuyển động quyết định (`move_left` và `move_right`: lớp này là lớp kia phát ngược). (1) ViT ảnh chạy trên từng
khung hình so với ViT video có cơ chế chú ý (attention) không-thời gian; (2) ViT video học từ đầu so với ViT video
được tiền huấn luyện bằng VideoMAE rồi tinh chỉnh (fine-tune) với ít nhãn; (3) che theo ống so với che ngẫu nhiên;
(4) tỷ lệ che 90% so với 75%. Thuật ngữ Việt-Anh: [docs/glossary.md](../docs/glossary.md).
"""),
    ("parameters-md", "markdown", """
## Parameters

The defaults are the lesson's: `python -m videomae.why` runs experiment 2 only (a few minutes on 2 cores);
`EXPERIMENTS = "1,2,3,4"` is `--full`, all four (several times longer). Other step or label counts still run every
cell, and the claims then say "not checked at this setting": docs/05 measured them at these sizes. `QUICK = True`
(a few steps on a few clips) only checks that the cells run.

*Tiếng Việt.* Mặc định chỉ chạy thí nghiệm 2 (vài phút trên CPU 2 nhân); `EXPERIMENTS = "1,2,3,4"` chạy cả bốn, lâu
hơn nhiều. `QUICK = True` chỉ để kiểm tra các ô chạy được.
"""),
    ("parameters", "code", f"""
EXPERIMENTS = "{','.join(DEFAULT_EXPERIMENTS)}"  # which experiments to run (python -m videomae.why --experiments)
PRETRAIN_STEPS = {DEFAULTS.pretrain_steps}  # VideoMAE pretraining steps per pretrained row (--pretrain-steps)
FINETUNE_STEPS = {DEFAULTS.finetune_steps}  # supervised steps per row (--finetune-steps)
LABELS = {DEFAULTS.labels}  # labelled clips per class in the few-label rows (--labels)
SEED = 0  # every clip, weight and batch (--seed)
THREADS = 1  # torch CPU threads (--threads): tiny models run faster on one, and every number repeats
QUICK = False  # True: a few steps on a few clips, only to check that the cells run (--quick)
OUT = "outputs/why_videomae"  # where the figure is written (--out), then shown here
"""),
    ("setup-md", "markdown", """
## The data: two classes that only the order of frames separates

`move_left` played backwards is a `move_right`: a clip and its reversal have the same *set* of frames. 8 frames of
32 x 32 pixels, tubelets 2 x 8 x 8 (64 tokens); every model is tiny (width 64, 3 blocks, 4 heads) and every run
counts steps. All clips are generated once, in memory, from the seed: unlabelled ones for pretraining (their
labels are never read), many or few labelled ones for fine-tuning, and held-out test clips.

*Tiếng Việt.* `move_left` phát ngược chính là `move_right`: hai lớp có cùng tập khung hình, chỉ khác thứ tự. Mọi clip
được sinh một lần từ seed: clip không nhãn để tiền huấn luyện, clip có nhãn để tinh chỉnh, clip kiểm tra riêng.
"""),
    ("setup", "code", """
from dataclasses import replace
from pathlib import Path

import torch
from IPython.display import Image, display

from videomae import why, why_runs
from videomae.synthetic import ACTIONS
from videomae.why_claims import CLAIMS, row_numbers
from vit.steps import print_claims

out = Path(OUT)
out.mkdir(parents=True, exist_ok=True)
if THREADS:
    torch.set_num_threads(THREADS)
chosen = tuple(part.strip() for part in str(EXPERIMENTS).split(",") if part.strip())
if not chosen or not set(chosen) <= set(why.EXPERIMENT_NUMBERS):
    raise ValueError(f"EXPERIMENTS: expected experiment numbers among 1,2,3,4 separated by commas, got {EXPERIMENTS!r}")
defaults = why_runs.Setup()
setup = replace(defaults, pretrain_steps=PRETRAIN_STEPS, finetune_steps=FINETUNE_STEPS, labels=LABELS)
if QUICK:
    setup = replace(setup, **why.QUICK)
print(f"classes ({len(setup.classes)}): {', '.join(ACTIONS[c] for c in setup.classes)}")
print(f"clips {setup.frames}x{setup.size}x{setup.size}, tubelets 2x{setup.patch}x{setup.patch}; models "
      f"D={setup.dim} x {setup.depth} blocks; {setup.unlabelled} unlabelled clips, {setup.labels} or "
      f"{setup.labels_many} labelled per class, {setup.test} per class held out; seed {SEED}; "
      f"experiments {','.join(chosen)}")
data = why_runs.make_data(setup, SEED)
rows = []  # (experiment, why_runs.Row): the table, as the cells below fill it


def run_experiment(number):
    \"\"\"The table's rows of one experiment (why.EXPERIMENTS), as python -m videomae.why runs them.\"\"\"
    if number not in chosen:
        print(f"experiment {number} is not in EXPERIMENTS = {EXPERIMENTS!r}: skipped")
        return
    print(why.HEADER)
    for experiment, kind, labels, masking, ratio in why.EXPERIMENTS:
        if experiment.split()[0] == number:
            row = why_runs.run_row(setup, data, kind, labels, SEED, masking, ratio)
            rows.append((experiment, row))
            print(why.format_row(experiment, row), flush=True)
"""),
    ("exp1-md", "markdown", """
## 1. Time matters

`PerFrameViT` (a `vit.model.ViT` on each frame, logits averaged over the frames) vs `VideoViT` (tubelets, joint
space-time attention over all tokens), both from scratch on the same many labelled clips. A model that averages
per-frame outputs is a function of the *set* of frames, not their order, so it is at chance *by construction*,
however long it trains; a video ViT's token of one frame attends to the tokens of the others.

*Tiếng Việt.* ViT ảnh trên từng khung hình (lấy trung bình) không thấy thứ tự khung hình, nên chỉ đoán ngẫu nhiên
(50%); ViT video có cơ chế chú ý không-thời gian thì thấy được.
"""),
    ("exp1", "code", """
run_experiment("1")
"""),
    ("exp2-md", "markdown", """
## 2. Pretraining matters (with few labels)

A video ViT from scratch on few labelled clips vs the same after VideoMAE pretraining (90% tube masking) on the
unlabelled clips: its tubelet embedding and blocks are copied into the classifier (a fresh `fc_norm` and head, as
in the official fine-tuning), then the same fine-tuning steps. It holds in a *range* of label counts: with too few
every model stays near chance, with many the model from scratch finds the motion too (docs/05's sweep). One run of
a tiny model is one draw: the claims compare it with the spread docs/05 measured over seeds and thread counts.

*Tiếng Việt.* Tiền huấn luyện VideoMAE trên clip không nhãn rồi tinh chỉnh với ít nhãn, so với học từ đầu. Hiệu quả
chỉ rõ ở vùng "ít nhãn vừa phải"; một lần chạy chỉ là một lần rút thăm.
"""),
    ("exp2", "code", """
run_experiment("2")
"""),
    ("exp3-md", "markdown", """
## 3. Tube vs random masking

As 2, pretrained with 90% random masking instead of tubes. Watch the pretraining loss: random masking ends *lower*,
without a better encoder, because a hidden tubelet whose neighbour in time is visible can be copied from it (the
cheat measured in docs/03). Only the downstream accuracy tells encoders apart, never the pretraining loss.

*Tiếng Việt.* Che ngẫu nhiên cho hàm mất mát tiền huấn luyện thấp hơn (chép được từ khung hình bên cạnh) nhưng không
cho bộ mã hóa tốt hơn: chỉ độ chính xác sau tinh chỉnh mới so sánh được các bộ mã hóa.
"""),
    ("exp3", "code", """
run_experiment("3")
"""),
    ("exp4-md", "markdown", """
## 4. 75% vs 90%

As 2, pretrained with 75% tube masking. The paper finds 90% best with ViT-B on real video; at this scale each row
moves by several points from seed to seed, so read rows 3-4 as how to set the comparison up, and one draw of its
outcome.

*Tiếng Việt.* Tỷ lệ che 75% so với 90%: ở quy mô đồ chơi, mỗi hàng dao động vài điểm theo seed, nên đây là cách bố trí
thí nghiệm và một lần rút thăm, chưa phải kết luận.
"""),
    ("exp4", "code", """
run_experiment("4")
"""),
    ("figure-md", "markdown", """
## The table as a figure

Left: held-out accuracy after the same fine-tuning steps (grey: per-frame ViT; blue: video ViT from scratch; orange:
pretrained; red: chance). Right: the pretraining loss curves of the maskings that ran.

*Tiếng Việt.* Trái: độ chính xác trên tập kiểm tra; phải: đường hàm mất mát tiền huấn luyện.
"""),
    ("figure", "code", """
gain = why.pretraining_gain(rows)
if gain:
    print(gain)
why.plot(rows, 1 / len(setup.classes), out / "why_videomae.png", f"Why VideoMAE, on toy motion clips (seed {SEED})")
display(Image(filename=str(out / "why_videomae.png")))
"""),
    ("claims-md", "markdown", """
## The claims, checked on this run

What docs/05 says about these numbers, checked on this run: the claims that hold on every run (time matters; random
masking's lower pretraining loss), and whether this run's differences fall inside the spread docs/05 measured.

*Tiếng Việt.* Bài học kiểm tra các nhận định của docs/05 ngay trên lần chạy này của bạn.
"""),
    ("claims", "code", """
numbers = row_numbers(rows, setup == defaults)
verdicts = print_claims("docs/05", CLAIMS, numbers)
"""),
]
