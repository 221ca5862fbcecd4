"""The cells of notebooks/01_vit.ipynb (written by make_notebooks.py): `python -m vit`, cell by cell.

The code cells call `vit.lesson`'s functions in the order its `main` calls them; the
Markdown is docs/01_vit.md, shortened, in English and Vietnamese (terms: docs/glossary.md).
"""
from vit.lesson_claims import NORM_STEPS, STEPS

CELLS = [  # (cell id, "markdown" | "code", source)
    ("title", "markdown", """
# 1. ViT: an image is a sentence of 16x16 patches

The lesson `python -m vit` as a notebook (Dosovitskiy et al. 2021, *An Image is Worth 16x16 Words*; section I of
the course notes). The code cells call the lesson's own functions (`vit/lesson.py`), in the order
`python -m vit` runs them, so with the same parameters they print the same numbers; the figures are shown
below the cells. The whole story, with every number explained: [docs/01_vit.md](../docs/01_vit.md).

You will cut a photo into 196 patches, follow it through a ViT-S tensor by tensor, measure why attention divides
by sqrt(d) and why the block normalises before each branch, train a tiny ViT on a task where both *what* a patch
shows and *where* it sits decide the class, and look at where its [class] token looks and what its position table
learned. The last section (optional) does the same with real pretrained weights.

**Tóm tắt (tiếng Việt).** Bài này là `python -m vit` dưới dạng notebook: cắt ảnh 224x224 thành 14x14 = 196
mảnh ảnh (patch) 16x16, chiếu mỗi mảnh thành một véc-tơ nhúng, cộng nhúng vị trí (position embedding), thêm token
lớp ([class] token), cho qua bộ mã hóa Transformer (Transformer Encoder), tức một chồng khối Transformer (cơ chế
chú ý đa đầu, MLP, chuẩn hóa tầng (Layer Norm), kết nối tắt), và đầu phân loại (MLP Head). Các ô code gọi đúng
các hàm của bài học (`vit/lesson.py`), nên in ra cùng những con số; hình hiện ngay dưới ô. Thuật ngữ
Việt-Anh: [docs/glossary.md](../docs/glossary.md).
"""),
    ("parameters-md", "markdown", """
## Parameters

The defaults are the lesson's (`python -m vit`): with them the printed numbers are the ones docs/01 quotes, and the
claims at the end are checked. On a slow machine, lower `STEPS` and `NORM_STEPS` (e.g. 50 and 10): every cell
still runs, and the claims about training say "not checked at this setting". `VIT_WEIGHTS` is for the last
section only.

*Tiếng Việt.* Giá trị mặc định là của bài học. Máy chậm thì giảm `STEPS`, `NORM_STEPS`: mọi ô vẫn chạy, chỉ các
nhận định về huấn luyện sẽ báo "not checked at this setting". `VIT_WEIGHTS` chỉ dùng cho phần cuối.
"""),
    ("parameters", "code", f"""
import os

STEPS = {STEPS}  # training steps of the tiny ViT (python -m vit --steps)
NORM_STEPS = {NORM_STEPS}  # training steps of the pre-norm / post-norm comparison (--norm-steps)
SEED = 0  # every random draw of the lesson (--seed)
THREADS = 1  # torch CPU threads (--threads): 1 prints the same numbers on every run; 0 = torch's choice
OUT = "outputs/vit"  # where the figures are written (--out), then shown here
VIT_WEIGHTS = os.environ.get("VIT_WEIGHTS", "")  # last section: a timm vit_small_patch16_224 file (optional)
"""),
    ("setup", "code", """
from pathlib import Path

import torch
from IPython.display import Image, display

from vit import lesson
from vit.lesson_claims import CLAIMS
from vit.model import vit_small
from vit.steps import print_claims

out = Path(OUT)
out.mkdir(parents=True, exist_ok=True)
if THREADS:
    torch.set_num_threads(THREADS)


def show(name):
    display(Image(filename=str(out / name)))


numbers = {}  # what the lesson measures: the claims at the end are checked on it
torch.manual_seed(SEED)  # the ViT-S's random weights, as python -m vit draws them
model = vit_small(num_classes=1000).eval()
"""),
    ("walk-md", "markdown", """
## I.1-I.4 One photo through a ViT-S, shape by shape

- **I.1 Patches.** Attention over 224 x 224 = 50,176 pixels would compare 2.5 billion pairs per layer; ViT cuts the
  image into a 14 x 14 grid of 16 x 16 patches instead: 196 "words" of 16 * 16 * 3 = 768 numbers, numbered row
  by row (`vit/patches.py`, one einops pattern: `"b c (h ph) (w pw) -> b (h w) (ph pw c)"`).
- **I.2 Linear projection, [class] token, position embedding.** Each patch goes through the same
  `Linear(768, D)`, which every implementation runs as a `Conv2d` with kernel = stride = 16 (the same function:
  the cell prints the difference). A learned [class] token is put in front; a position embedding is added to
  every token, because attention alone treats its input as a set.
- **I.3 Transformer encoder.** Each block is two residual lines, `x = x + attn(norm1(x))` and
  `x = x + mlp(norm2(x))` (`vit/blocks.py`); attention is `softmax(Q K^T / sqrt(d)) V`, one `qkv` matmul for
  all heads.
- **I.4 MLP head.** The head reads the [class] token only. The weights here are random, so its scores mean
  nothing yet.

*Tiếng Việt.* **I.1** Cắt ảnh thành lưới 14 x 14 mảnh ảnh 16 x 16: 196 "từ", mỗi từ 768 số. **I.2** Mỗi mảnh qua
cùng một phép chiếu tuyến tính (thực chất là `Conv2d` có kernel = stride = 16, ô code in ra sai khác giữa hai
cách); thêm token lớp ở đầu và cộng nhúng vị trí vào mọi token, vì cơ chế chú ý tự nó không biết thứ tự. **I.3**
Mỗi khối Transformer gồm hai dòng có kết nối tắt: chuẩn hóa tầng rồi chú ý đa đầu, chuẩn hóa tầng rồi MLP.
**I.4** Đầu phân loại chỉ đọc token lớp; trọng số còn ngẫu nhiên nên điểm số chưa có nghĩa.
"""),
    ("walk", "code", """
numbers["conv_vs_linear"] = lesson.walk_through(model, lesson.load_photo(), out, pretrained=False)
show("patch_grid.png")
"""),
    ("why-md", "markdown", """
## I.3, measured: why divide by sqrt(d), and why pre-norm

**sqrt(d).** A query and a key of d numbers of variance 1 have a dot product of variance d: at d = 768 the scores
spread over about +-28, softmax gives nearly all the weight to one key, and an almost one-hot softmax passes almost
no gradient back. Dividing by sqrt(d) (Vaswani et al. 2017, section 3.2.1) keeps the softmax in the same regime at
every width. **Pre-norm.** The block normalises each branch's *input* and adds its output to a stream that is
never normalised, so the gradient reaches block 1 through the plain sum; the original Transformer's post-norm,
`LayerNorm(x + f(x))`, passes a LayerNorm after every block, and without a warm-up the first blocks of a deep
stack stop learning (Xiong et al. 2020). The cell measures both (`vit/why_block.py`).

*Tiếng Việt.* **Chia cho sqrt(d):** tích vô hướng của hai véc-tơ d chiều có phương sai d; không chia thì softmax gần
như one-hot và gradient gần như bằng 0. **Pre-norm:** chuẩn hóa tầng đặt trước mỗi nhánh, còn dòng chính chỉ là
tổng (kết nối tắt), nên gradient tới được khối đầu tiên; post-norm thì khối đầu gần như ngừng học nếu không có
khởi động (warm-up). Ô dưới đo cả hai.
"""),
    ("why", "code", """
lesson.why_the_block(SEED, NORM_STEPS, numbers)
"""),
    ("toy-md", "markdown", """
## A tiny ViT learns what and where

A random ViT's attention and position table mean nothing, so the lesson trains a tiny ViT (48 x 48 images, 6 x 6
patches of 8 x 8, D = 64, 4 blocks of 4 heads) on a task where a token needs both of its parts: each noisy gray
image holds one coloured square (red, green or blue) and three gray ones, each exactly one patch; the class is the
coloured square's colour *and* the quarter that holds it (12 classes). The colour is in the patch's pixels; the
quarter is not (the square looks the same everywhere), so only the position embedding can tell it. Watch the loss
learn the two one after the other: first the colour (down to ln 4, "colour known, quarter guessed"), then, after
a plateau, the quarter.

*Tiếng Việt.* Bài toán đồ chơi: ảnh xám có một ô màu (đỏ, lục, lam) và ba ô xám; lớp = màu của ô lạ *và* góc phần
tư chứa nó (12 lớp). Màu nằm trong pixel của mảnh ảnh, còn góc phần tư thì chỉ nhúng vị trí mới cho biết. Hàm mất
mát giảm hai đợt: trước học màu (tới ln 4), sau một vùng nằm ngang (plateau) mới học vị trí.
"""),
    ("toy", "code", """
lesson.toy_task(STEPS, SEED, out, numbers)
show("loss.png")
"""),
    ("attention-md", "markdown", """
### Where the [class] token looks

Row 0 of each block's attention map is the [class] token's query: how much it takes from each patch, per head. No
single head looks at the odd square in every image; the heads divide the colours between them, so the figure
draws one image of each colour with the block that holds its colour's head (red box: the odd square). The mean
over the heads dilutes what a single head does.

*Tiếng Việt.* Bản đồ chú ý của token lớp, theo từng đầu: không đầu nào nhìn ô lạ trong mọi ảnh, các đầu chia nhau
các màu; trung bình các đầu làm mờ điều một đầu làm.
"""),
    ("attention", "code", """
show("attention_cls.png")
"""),
    ("position-md", "markdown", """
### What the position table learned

Tile (i, j) of each panel is the cosine similarity between patch (i, j)'s position embedding and every patch's
(the layout of the ViT paper's Fig. 7). At initialisation: noise. After training: bright over the quarter that
holds (i, j), dark elsewhere: the table learned exactly what the label needs, which quarter, and nothing finer.
The fixed 2-D sin-cos table (MAE's) is near-means-similar by construction.

*Tiếng Việt.* Mỗi ô (i, j) là độ tương đồng cosin giữa nhúng vị trí của mảnh (i, j) và mọi mảnh. Sau huấn luyện,
bảng học đúng điều nhãn cần (góc phần tư), không hơn; bảng sin-cos cố định của MAE thì "gần nhau là giống nhau" ngay
từ đầu.
"""),
    ("position", "code", """
show("position_similarity.png")
"""),
    ("claims-md", "markdown", """
## The claims, checked on this run

A training number depends on the order in which floats are added (thread count, CPU), so the lesson does not ask
you to trust its digits: it checks what docs/01 says about them on the run you just made, one line per claim,
"as docs/01 says" or "unlike docs/01", with this run's numbers.

*Tiếng Việt.* Con số huấn luyện đổi theo số luồng và CPU; vì vậy bài học kiểm tra các nhận định của docs/01 ngay
trên lần chạy này của bạn.
"""),
    ("claims", "code", """
verdicts = print_claims("docs/01", CLAIMS, numbers)
"""),
    ("weights-md", "markdown", """
## Optional: a real pretrained ViT

With timm's `vit_small_patch16_224` (the organizers' baseline: the `model.safetensors` of
[timm/vit_small_patch16_224.augreg_in21k_ft_in1k](https://huggingface.co/timm/vit_small_patch16_224.augreg_in21k_ft_in1k))
set as `VIT_WEIGHTS` (parameter cell, or the environment variable), this runs the lesson's `--weights` path
(`python -m vit --weights FILE`): the walk-through again with the file's shapes, the last block's [class] token
attention on the photo per head, and the file's learned position table next to a sin-cos one. What to look for:
whether the heads pick out the face or spread over the background, and whether the table shows the ViT paper's
structure (near patches similar, rows and columns visible) rather than the toy's quarters. Without the file, one
line says what to put where.

*Tiếng Việt.* Có file trọng số đã tiền huấn luyện (pretrained) `vit_small_patch16_224` (đặt đường dẫn vào
`VIT_WEIGHTS`) thì phần này vẽ bản đồ chú ý của token lớp trên ảnh thật và bảng nhúng vị trí đã học; không có file
thì chỉ in một dòng hướng dẫn.
"""),
    ("weights", "code", """
from vit import real_weights

for figure in real_weights.section(VIT_WEIGHTS, OUT):
    display(Image(filename=str(figure)))
"""),
]
