"""The cells of notebooks/03_videomae.ipynb (written by make_notebooks.py): `python -m videomae`, cell by cell.

The code cells call `videomae.lesson`'s functions in the order its `main` calls them; the
Markdown is docs/03_videomae.md, shortened, in English and Vietnamese (terms: docs/glossary.md).
"""
from videomae.lesson_claims import STEPS

CELLS = [  # (cell id, "markdown" | "code", source)
    ("title", "markdown", """
# 3. VideoMAE: tubelets, tube masking at 90%, pretraining

The lesson `python -m videomae` as a notebook (Tong et al. 2022, *VideoMAE: Masked Autoencoders are Data-Efficient
Learners for Self-Supervised Video Pre-Training*; section III of the course notes). The code cells call the
lesson's own functions (`videomae/lesson.py`) in the order `python -m videomae` runs them, so with the same
parameters they print the same numbers; the figures are shown below the cells. The whole story:
[docs/03_videomae.md](../docs/03_videomae.md).

You will cut a 16-frame clip into 1568 tubelets, hide 90% of them three ways (tube, random, frame), measure the
"copy from the neighbouring frame" cheat that tube masking blocks, count what the visible-only encoder saves, and
pretrain a tiny VideoMAE on synthetic clips. The last section (optional) asks the real Kinetics-400 VideoMAE-B,
the competition's starting point, what it sees in two clips.

**Tóm tắt (tiếng Việt).** Cắt clip 16 khung hình 224x224 thành các khối video (tubelet) 2x16x16, tức 8x14x14 = 1568
token, rồi che theo ống (tube masking) 90%: cùng vị trí bị che trên mọi khung hình, để mô hình không thể chép pixel
từ khung hình bên cạnh. Bộ mã hóa chỉ xử lý khoảng 10% token nhìn thấy, bộ giải mã nhẹ tái tạo phần bị che. Các ô
code gọi đúng các hàm của bài học (`videomae/lesson.py`). Thuật ngữ Việt-Anh:
[docs/glossary.md](../docs/glossary.md).
"""),
    ("parameters-md", "markdown", """
## Parameters

The defaults are the lesson's (`python -m videomae`): with them the numbers are the ones docs/03 quotes and the
claims at the end are checked. On a slow machine, lower `STEPS` (e.g. 200): every cell still runs, and the claims
about pretraining say "not checked at this setting". `VIDEOMAE_WEIGHTS` is for the last section only.

*Tiếng Việt.* Máy chậm thì giảm `STEPS`: mọi ô vẫn chạy. `VIDEOMAE_WEIGHTS` chỉ dùng cho phần cuối.
"""),
    ("parameters", "code", f"""
import os

STEPS = {STEPS}  # pretraining steps of the tiny VideoMAE (python -m videomae --steps)
SEED = 0  # every random draw of the lesson (--seed)
THREADS = 1  # torch CPU threads (--threads): 1 prints the same numbers on every run; 0 = torch's choice
OUT = "outputs/videomae"  # where the figures are written (--out), then shown here
VIDEOMAE_WEIGHTS = os.environ.get("VIDEOMAE_WEIGHTS", "")  # last section: the K400 VideoMAE-B folder (optional)
"""),
    ("setup", "code", """
from pathlib import Path

import torch
from IPython.display import Image, display

from videomae import lesson
from videomae.lesson_claims import CLAIMS
from vit.steps import print_claims

out = Path(OUT)
out.mkdir(parents=True, exist_ok=True)
if THREADS:
    torch.set_num_threads(THREADS)
torch.manual_seed(SEED)  # the untrained layers of steps 1-2, as python -m videomae draws them


def show(name):
    display(Image(filename=str(out / name)))
"""),
    ("tubelets-md", "markdown", """
## 1. Tubelets (III.1)

A clip is a tensor `(B, C, T, H, W)`. VideoMAE cuts it into cubes of 2 frames x 16 x 16 pixels, the video version
of ViT's patches: one einops pattern, `'b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw c)'`, and an embedding the
checkpoints store as `Conv3d(3, 768, kernel = stride = (2, 16, 16))`: the paper's "linear projection", the same
function (the cell prints the difference). A 16 x 224 x 224 clip gives 8 x 14 x 14 = 1568 tokens; tube masking at
0.9 leaves 160 of them to the encoder. The cell also counts, in multiply-adds, what that saves, and reads the
papers' "180 GFLOPs" for the classifier.

*Tiếng Việt.* Clip được cắt thành các khối video 2 khung hình x 16 x 16 pixel; phép chiếu tuyến tính của bài báo
chính là `Conv3d` trong checkpoint. Clip 16 x 224 x 224 cho 1568 token; che theo ống 90% chỉ để lại 160 token cho
bộ mã hóa. Ô code đếm phép nhân-cộng tiết kiệm được.
"""),
    ("tubelets", "code", """
numbers = lesson.step_tubelets()
"""),
    ("masks-md", "markdown", """
## 2. Three ways to hide 90% (III.2)

`tube_mask` hides the same positions in every time slice (a tube through time); `random_mask` hides tubelets
anywhere; `frame_mask` hides whole slices. A mask hides a whole number of tubelets and each rounds down its own
count, so "90%" is rarely exactly 90%: each row of the figure is labelled with the share it really hides.

*Tiếng Việt.* Che theo ống: cùng vị trí bị che ở mọi khung hình. Che ngẫu nhiên: che bất kỳ đâu. Che cả khung hình:
che nguyên các khung hình. Số khối bị che là số nguyên, nên "90%" hiếm khi đúng 90%.
"""),
    ("masks", "code", """
lesson.step_masks(out, SEED)
show("masking.png")
"""),
    ("copy-md", "markdown", """
### Why tubes: the copy-from-the-neighbour cheat

The course notes' argument: with random masking "AI dễ dàng copy pixel từ khung hình bên cạnh". The cell measures
it with no learning at all: each hidden tubelet copies the same place from the nearest time slice where it is
visible, or guesses the clip's average colour. Random masking leaves a copy for about half of the holes, a real
shortcut a network could learn and stop at; tube masking leaves none, so the model must reason about content and
motion.

*Tiếng Việt.* Mẹo "chép từ khung hình bên cạnh", đo không cần học: che ngẫu nhiên để lại bản sao cho khoảng một nửa
số ô bị che; che theo ống không để lại bản sao nào, nên mô hình phải hiểu nội dung và chuyển động.
"""),
    ("copy", "code", """
numbers["copy_cheat"] = lesson.step_copy_cheat(SEED)
"""),
    ("pretrain-md", "markdown", """
## 3. Pretraining a tiny VideoMAE (III.3-III.4)

`videomae_tiny` (encoder 192 x 4 blocks, decoder 96 x 2) on 256 synthetic clips of 8 x 48 x 48 (4 x 6 x 6 = 144
tubelets; the tube mask leaves 16 visible), a fixed number of steps, AdamW (0.9, 0.95). It predicts raw pixels: the
synthetic backgrounds are nearly flat, and a flat patch normalised per patch (the paper's target) is pure sensor
noise. The figure shows one training clip and one held-out clip: the clip, what the encoder sees, and the
reconstruction (visible tubelets pasted back) before and after training.

*Tiếng Việt.* Tiền huấn luyện một VideoMAE nhỏ trên clip tổng hợp, số bước cố định; mục tiêu là pixel thô. Hình so
sánh một clip huấn luyện và một clip chưa từng thấy: 256 clip đa dạng dạy được một quy tắc dùng lại được cho clip mới
cùng loại.
"""),
    ("pretrain", "code", """
numbers.update(lesson.step_pretrain(out, STEPS, SEED))
show("reconstruction.png")
show("loss.png")
"""),
    ("claims-md", "markdown", """
## The claims, checked on this run

The lesson checks what docs/03 says about its numbers on the run you just made: "as docs/03 says" or "unlike
docs/03", with this run's numbers.

*Tiếng Việt.* Bài học kiểm tra các nhận định của docs/03 ngay trên lần chạy này của bạn.
"""),
    ("claims", "code", """
verdicts = print_claims("docs/03", CLAIMS, numbers)
"""),
    ("weights-md", "markdown", """
## Optional: the real Kinetics-400 VideoMAE-B

With the folder of [MCG-NJU/videomae-base-finetuned-kinetics](https://huggingface.co/MCG-NJU/videomae-base-finetuned-kinetics)
(`config.json` with the 400 class names + `model.safetensors`; the weights docs/04 fine-tunes for the competition)
set as `VIDEOMAE_WEIGHTS`, the hand-written `VideoViT` loads it and names the top 5 of its 400 Kinetics actions for
two clips made here: matplotlib's photo of Grace Hopper with the camera zooming in (nobody moves), and one
synthetic clip of a shape sliding right. Neither is a Kinetics action, and that is the point: the model must still
spread its probability over its 400 classes, so its top 5 say what the clip resembles to it. Without the folder,
one line says what to put where.

*Tiếng Việt.* Có thư mục trọng số Kinetics-400 thật thì `VideoViT` viết tay nạp nó và in 5 hành động có xác suất cao
nhất cho hai clip (ảnh tĩnh được phóng to dần, và một clip tổng hợp); không clip nào là hành động của Kinetics.
Không có thư mục thì chỉ in một dòng hướng dẫn.
"""),
    ("weights", "code", """
from videomae import real_weights

figure = real_weights.section(VIDEOMAE_WEIGHTS, OUT)
if figure is not None:
    display(Image(filename=str(figure)))
"""),
]
