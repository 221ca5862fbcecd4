"""The cells of notebooks/02_imagemae.ipynb (written by make_notebooks.py): `python -m imagemae`, cell by cell.

The code cells call `imagemae.lesson`'s functions in the order its `main` calls them; the
Markdown is docs/02_imagemae.md, shortened, in English and Vietnamese (terms: docs/glossary.md).
"""
from imagemae.lesson_claims import STEPS

CELLS = [  # (cell id, "markdown" | "code", source)
    ("title", "markdown", """
# 2. ImageMAE: hide 75% of the image, encode the rest, paint it back

The lesson `python -m imagemae` as a notebook (He et al. 2022, *Masked Autoencoders Are Scalable Vision
Learners*; section II of the course notes). The code cells call the lesson's own functions
(`imagemae/lesson.py`) in the order `python -m imagemae` runs them, so with the same parameters they print the same
numbers; the figures are shown below the cells. The whole story: [docs/02_imagemae.md](../docs/02_imagemae.md).

You will hide 147 of a photo's 196 patches at random, see that the encoder (a plain ViT) never receives a masked
patch, follow the light decoder that paints the pixels back, then pretrain a tiny MAE on two photos and compare
its reconstructions of a training photo with those of an image it never saw. The last section (optional) lets the
official MAE ViT-B reconstruct the same photo.

**Tóm tắt (tiếng Việt).** Che ngẫu nhiên 75% mảnh ảnh (147 trên 196), bộ mã hóa (một ViT) chỉ xử lý 49 mảnh còn
nhìn thấy, rồi bộ giải mã nhẹ chèn các mảnh trống (mask token) vào đúng chỗ và tái tạo pixel phần bị che; hàm mất
mát MSE chỉ tính trên phần bị che. Các ô code gọi đúng các hàm của bài học (`imagemae/lesson.py`). Thuật ngữ
Việt-Anh: [docs/glossary.md](../docs/glossary.md).
"""),
    ("parameters-md", "markdown", """
## Parameters

The defaults are the lesson's (`python -m imagemae`): with them the numbers are the ones docs/02 quotes and the
claims at the end are checked. On a slow machine, lower `STEPS` (e.g. 100): every cell still runs, the
reconstructions are blurrier, and the claims about training say "not checked at this setting" or "unlike docs/02".
`MAE_WEIGHTS` is for the last section only.

*Tiếng Việt.* Máy chậm thì giảm `STEPS`: mọi ô vẫn chạy, ảnh tái tạo mờ hơn. `MAE_WEIGHTS` chỉ dùng cho phần cuối.
"""),
    ("parameters", "code", f"""
import os

STEPS = {STEPS}  # pretraining steps of the tiny MAE (python -m imagemae --steps)
SEED = 0  # every random draw: weights, crops, flips, masks (--seed)
THREADS = 1  # torch CPU threads (--threads): 1 prints the same numbers on every run; 0 = torch's choice
OUT = "outputs/imagemae"  # where the figures are written (--out), then shown here
MAE_WEIGHTS = os.environ.get("MAE_WEIGHTS", "")  # last section: the official mae_visualize_vit_base.pth (optional)
"""),
    ("setup", "code", """
from pathlib import Path

import torch
from IPython.display import Image, display

from imagemae import lesson
from imagemae.data import held_out_image, load_photos
from imagemae.lesson_claims import CLAIMS
from vit.steps import print_claims

out = Path(OUT)
out.mkdir(parents=True, exist_ok=True)
if THREADS:
    torch.set_num_threads(THREADS)


def show(name):
    display(Image(filename=str(out / name)))


torch.manual_seed(SEED)  # the models' initial weights, as python -m imagemae draws them
gen = torch.Generator().manual_seed(SEED)  # every mask, crop and flip
photos = load_photos()  # matplotlib's sample photos: no download
"""),
    ("walk-md", "markdown", """
## II.1-II.3 Masking, the encoder on the visible patches, the decoder

- **II.1 Masking.** 196 patches, `int(196 * (1 - 0.75)) = 49` kept, 147 hidden, per image in one batched operation:
  draw one uniform number per patch, `argsort`, keep the first 49; `ids_restore`, the inverse permutation, later
  puts every token back in place. The mask is boolean, True = masked. Why 75%, far more than BERT's 15%? Images are
  redundant: with few patches hidden, a missing one is the average of its neighbours.
- **II.2 Encoder.** The project's `vit.ViT`, called step by step with the masking in between: positions are added
  *before* masking, and no mask token ever enters the encoder, which runs on 1 + 49 tokens instead of 1 + 196
  (about 4x cheaper; the cell times it on a `time:` line, which varies).
- **II.3 Decoder.** Narrow and shallow (thrown away after pretraining): it appends one learned mask token per hidden
  patch, unshuffles with `ids_restore`, adds its own position table and predicts 16 * 16 * 3 pixels per patch.
  The loss is the MSE on the hidden patches only.

*Tiếng Việt.* **II.1** Che ngẫu nhiên: giữ 49, che 147 mảnh ảnh; mặt nạ kiểu bool, True = bị che. Ảnh có nhiều sự
dư thừa nên tỷ lệ che phải cao (75%). **II.2** Bộ mã hóa là ViT của bài 01, chỉ chạy trên 49 mảnh nhìn thấy, không
có mảnh trống nào đi vào, nên rẻ hơn khoảng 4 lần. **II.3** Bộ giải mã nhẹ chèn mảnh trống vào đúng chỗ và tái tạo
pixel; hàm mất mát MSE chỉ tính trên các mảnh bị che.
"""),
    ("walk", "code", """
speedup = lesson.walk_through(photos[0], out, gen)
show("masking.png")
"""),
    ("pretrain-md", "markdown", """
## Pretraining a tiny MAE

`mae_tiny` (2.3M parameters) on random resized crops of the two sample photos (scale 0.2-1, random flips: MAE's
only augmentations) at 112 x 112 with 8 x 8 patches: still 196 patches, 49 visible, at a sixth of the cost. AdamW
with MAE's betas (0.9, 0.95), a warm-up then a cosine; plain pixels as targets so the reconstructions can be shown
as they are. A fixed number of steps, never a time budget: a slower machine takes longer but prints the same
numbers.

*Tiếng Việt.* Tiền huấn luyện một MAE nhỏ trên các mảnh cắt ngẫu nhiên của hai ảnh mẫu, số bước cố định: máy chậm
chạy lâu hơn nhưng in cùng con số.
"""),
    ("pretrain", "code", """
numbers = lesson.pretrain(photos, held_out_image(), out, STEPS, gen)
numbers["encoder_speedup"] = speedup  # a time ratio: it varies from run to run
show("loss.png")
"""),
    ("reconstruction-md", "markdown", """
### Before and after: two training photos and one held-out image

The same images and masks, before and after training (columns: original, masked, reconstruction, reconstruction
with the visible patches pasted back, as in the official demo). Before training the decoder paints noise. After,
the training photos' hidden patches carry the right colours and rough layout, blurred (a squared error rewards the
average of the plausible patches). The held-out image, a shaded-relief map the model never saw, gains far less:
on two photos an MAE can only memorise them; MAE learns useful features from a million images.

*Tiếng Việt.* Trước huấn luyện, bộ giải mã vẽ nhiễu. Sau huấn luyện, ảnh huấn luyện được tái tạo đúng màu và bố cục
(mờ); ảnh chưa từng thấy thì cải thiện rất ít: với hai ảnh, mô hình chỉ học thuộc ("học vẹt"), chưa có tính tổng quát.
"""),
    ("reconstruction", "code", """
show("reconstruction_start.png")
show("reconstruction_end.png")
"""),
    ("claims-md", "markdown", """
## The claims, checked on this run

Another thread count or CPU prints other training numbers (a few units in the third digit), so the lesson checks
what docs/02 says about them on the run you just made: "as docs/02 says" or "unlike docs/02", with this run's
numbers.

*Tiếng Việt.* Bài học kiểm tra các nhận định của docs/02 ngay trên lần chạy này của bạn.
"""),
    ("claims", "code", """
verdicts = print_claims("docs/02", CLAIMS, numbers)
"""),
    ("weights-md", "markdown", """
## Optional: the official MAE ViT-B reconstructs the photo

With facebookresearch/mae's `mae_visualize_vit_base.pth` (the ViT-B *with its decoder* that the official demo
loads, trained on plain pixels: https://dl.fbaipublicfiles.com/mae/visualize/mae_visualize_vit_base.pth) set as
`MAE_WEIGHTS`, the photos are cut at 224 x 224, 75% of their 196 patches hidden, and painted back by a model
pretrained on ImageNet-1k: compare with the tiny MAE above. (`mae_pretrain_vit_base.pth` has no decoder: it is
for fine-tuning, with `vit.ViT.from_pretrained`.) Without the file, one line says what to put where.

*Tiếng Việt.* Có file `mae_visualize_vit_base.pth` (có bộ giải mã) thì MAE ViT-B thật tái tạo ảnh với 75% bị che;
không có thì chỉ in một dòng hướng dẫn.
"""),
    ("weights", "code", """
from imagemae import real_weights

figure = real_weights.section(MAE_WEIGHTS, OUT)
if figure is not None:
    display(Image(filename=str(figure)))
"""),
]
