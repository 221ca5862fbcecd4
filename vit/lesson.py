"""The ViT lesson (course notes, section I), step by step on a real photo, then a tiny
ViT trained on a task where both WHAT a patch shows and WHERE it is matter, so its
attention and its learned position embeddings mean something.

Section I.3 also measures why the block is written as it is (`vit.why_block`): the
1/sqrt(d) inside the softmax, and the LayerNorm before each branch.

Run: `python -m vit [--out outputs/vit] [--weights HF_DIR_OR_TIMM_FILE] [--steps 250] [--seed 0]`
(its measured time is at the end of --help).
Every step prints the tensor shape and what it means (`vit.steps.print_step`);
figures go to --out (drawn by `vit.figures`). A fixed number of steps, seeded, on one
thread by default: two runs with the same seed print the same numbers (only the
`time:` lines vary); another seed, thread count or CPU prints other training numbers,
and the lesson ends by checking docs/01's claims on this run (`vit.lesson_claims`).
Dosovitskiy et al. 2021, section 3.1; the prose is docs/01_vit.md.
"""
import math
import sys
import time

import numpy as np
import torch
from einops import rearrange
from matplotlib import cbook
from PIL import Image

from weights import CheckpointError

from . import figures, why_block
from .lesson_claims import CLAIMS, NORM_STEPS, STEPS
from .model import ViT, vit_small
from .odd_square import (
    COLOURS,
    PATCH,
    QUARTERS,
    SIZE,
    class_name,
    colour_and_quarter,
    odd_square_images,
    position_summary,
    train_tiny,
)
from .patches import linear_from_conv, patchify
from .pos_embed import sincos_2d
from .steps import figures_folder, lesson_parser, print_claims, print_step, print_time, save_results, torch_threads

# Inputs in [-1, 1]: mean and std 0.5, the normalisation of timm's `vit_small_patch16_224`
# (the organizers' baseline), not ImageNet's statistics.
MEAN, STD = torch.tensor([0.5, 0.5, 0.5])[:, None, None], torch.tensor([0.5, 0.5, 0.5])[:, None, None]


def load_photo(size: int = 224) -> torch.Tensor:
    """matplotlib's sample photo of Grace Hopper, centre-cropped, as (3, size, size) in [0, 1]."""
    img = Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    side = min(img.size)
    left, top = (img.width - side) // 2, (img.height - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255  # (H, W, 3) -> (3, H, W)


def cls_attention(model: ViT, images: torch.Tensor) -> torch.Tensor:
    """Every block's attention of the [class] token to each patch:
    (B, 3, H, W) -> (blocks, B, heads, grid, grid)."""
    maps = torch.stack([a[:, :, 0, 1:] for a in model.attention_maps(images)])  # (blocks, B, heads, N)
    return rearrange(maps, "k b h (gh gw) -> k b h gh gw", gh=model.cfg.grid[0])


def why_the_block(seed: int, norm_steps: int, numbers: dict) -> None:
    """I.3's two whys, measured (`vit.why_block`): the 1/sqrt(d) and pre-norm. Their own
    generators and seeds: the toy task below draws the same numbers with or without them."""
    table = why_block.softmax_scale_table(torch.Generator().manual_seed(seed))
    why_block.print_softmax_scale(table)
    numbers["softmax"] = table
    norms = why_block.norm_placement(odd_square_images, seed, steps=norm_steps)
    why_block.print_norm_placement(norms, norm_steps)
    numbers.update(norm_placement=norms, norm_steps=norm_steps)


def load_weights(path) -> ViT | None:
    """`ViT.from_pretrained(path)`, or None after one `error:` line on stderr when `path`
    is missing or is not a ViT checkpoint: a wrong path is the user's to fix, not a traceback."""
    try:
        return ViT.from_pretrained(path, image_size=224)  # the photo's size; another table is resized
    except (CheckpointError, OSError) as err:
        first, *more = (str(err).strip() or type(err).__name__).splitlines()
        where = "" if str(path) in first else f"{path}: "
        print("\n".join([f"error: --weights {where}{first}"] + [f"  {line}" for line in more]), file=sys.stderr)
        return None


def walk_through(model: ViT, photo: torch.Tensor, out, pretrained: bool) -> float:
    """I.1-I.4 on the photo: every shape, from pixels to class scores. `out` None: no
    figures. Returns the largest difference between the conv and the Linear tokens."""
    print("I.1  Cut the image into patches")
    print_step("photo", photo.shape, "RGB, 224 x 224 pixels")
    patches = patchify(photo[None], 16)[0]
    print_step("patchify(photo, 16)", patches.shape, "196 patches (14 x 14), each 16*16*3 = 768 numbers: the 'words'")
    if out:
        figures.patch_grid(photo, 16, out / "patch_grid.png")

    print("I.2  Linear projection, [class] token, position embedding")
    d, p = model.cfg.dim, model.cfg.patch_size
    x = ((photo - MEAN) / STD)[None]
    tokens = model.patch_embed(x)
    print_step(f"patch_embed(x)  (Conv2d k=s={p})", tokens.shape, f"{tokens.shape[1]} tokens of D = {d}")
    same = (linear_from_conv(model.patch_embed.proj)(patchify(x, p)) - tokens).abs().max().item()
    print_step("Linear(patchify(x))", tokens.shape, f"the same tokens: max difference {same:.1e}")
    x_tok = model.prepend_cls(tokens + model.pos_embed[:, 1:])
    print_step("[cls] + tokens, + pos_embed", x_tok.shape, "row 0 is the [class] token; positions added to every row")

    print("I.3  Transformer encoder")
    blk = model.blocks[0]
    qkv = blk.attn.qkv(blk.norm1(x_tok))
    print_step("qkv = Linear(LayerNorm(x))", qkv.shape, f"query, key, value side by side (3 x {d})")
    with torch.no_grad():
        attn = blk.attention_map(x_tok)
        print_step("softmax(QK^T / sqrt(d))", attn.shape,
                   f"{blk.attn.heads} heads: how much each token looks at each other")
        feats = model.forward_blocks(x_tok)
    print_step(f"{len(model.blocks)} blocks + LayerNorm", feats.shape,
               "same shape in and out: tokens exchanged information")

    print("I.4  MLP head")
    print_step("feats[:, 0]  ([class] token)", feats[:, 0].shape, "one vector summarising the image")
    logits = model.forward_head(feats)
    print_step("head(...)", logits.shape,
               f"one score per class ({'pretrained' if pretrained else 'random weights: meaningless yet'})")
    if pretrained and out:
        maps = cls_attention(model, x)[-1, 0]  # last block: (heads, 14, 14)
        depth = len(model.blocks)
        figures.cls_attention_photo(photo, maps, out / "attention_photo.png", f"last block, {depth} of {depth}",
                                    f"--weights, top class {int(logits.argmax())}")
        figures.position_similarity({"learned, from --weights": model.pos_embed.detach(),
                                     "fixed 2-D sin-cos": sincos_2d(d, model.cfg.grid, True)},
                                    model.cfg.grid[0], out / "position_similarity_weights.png")
    return same


def toy_task(steps: int, seed: int, out, numbers: dict) -> None:
    """Train the tiny ViT, then measure and draw where its [class] token looks and
    what its position table learned; the numbers the claims check go to `numbers`."""
    n_cls = len(COLOURS) * len(QUARTERS)
    print(f"Training a tiny ViT ({steps} steps of 64 images, seed {seed}): "
          f"what colour is the odd square, and which quarter holds it?")
    print(f"  {n_cls} classes = {len(COLOURS)} colours x {len(QUARTERS)} quarters; chance {1 / n_cls:.1%}, "
          f"loss at chance ln {n_cls} = {math.log(n_cls):.2f}")
    t_train = time.time()
    torch.manual_seed(seed)  # the tiny model's init: the same with or without --weights
    gen = torch.Generator().manual_seed(seed)
    probe = odd_square_images(512, torch.Generator().manual_seed(seed + 1000))[:2]  # its own draw: gen untouched
    tiny, init_pos, losses, at_probe = train_tiny(steps, gen, probe)
    seconds = time.time() - t_train
    images, labels, odd = odd_square_images(512, gen)  # held out: drawn after training
    with torch.no_grad():
        preds = tiny(images).argmax(-1)
        maps = cls_attention(tiny, images)  # (blocks, 512, heads, 6, 6)
    acc, colour, quarter = colour_and_quarter(tiny, images, labels)
    print(f"  loss {np.mean(losses[:10]):.3f} (first 10 steps) -> {np.mean(losses[-10:]):.4f} (last 10); "
          f"held-out accuracy {acc:.1%}: colour {colour:.1%}, quarter {quarter:.1%}")
    print_time("training the tiny ViT:", seconds)
    numbers.update(steps=steps, loss_first=float(np.mean(losses[:10])), loss_last=float(np.mean(losses[-10:])),
                   loss_by_50={str(s): float(np.mean(losses[s - 50:s])) for s in range(50, steps + 1, 50)},
                   accuracy=acc, colour=colour, quarter=quarter,
                   probe_colour=at_probe[1] if at_probe else None, probe_quarter=at_probe[2] if at_probe else None)

    numbers["attention"] = attention_report(maps, images, labels, preds, odd, out)
    grid = SIZE // PATCH
    tables = {"learned, at initialisation (random)": init_pos,
              f"learned, after {steps} steps on this task": tiny.pos_embed.detach(),
              "fixed 2-D sin-cos (MAE)": sincos_2d(64, (grid, grid), cls_token=True)}
    print("Position embeddings: mean cosine similarity of two patches' embeddings")
    print(f"  {'':<44} {'neighbours':>10} {'same quarter':>13} {'other quarter':>14}")
    for (title, table), key in zip(tables.items(), ("initial", "learned", "sincos")):
        near, same, other = position_summary(table, grid)
        numbers[f"position_{key}"] = [near, same, other]
        print(f"  {title:<44} {near:>10.2f} {same:>13.2f} {other:>14.2f}")
    if out:
        figures.position_similarity(tables, grid, out / "position_similarity.png")
        figures.loss_curve(losses, out / "loss.png", f"tiny ViT on the odd-square task, seed {seed}",
                           "cross-entropy loss (log scale)",
                           {f"chance: ln {n_cls}": math.log(n_cls), "colour known, quarter guessed: ln 4": math.log(4)})


def attention_report(maps, images, labels, preds, odd, out) -> dict:
    """Print how much weight each block's heads put on the odd square (held-out mean),
    and which head does it for each colour; draw one image of each colour with the block
    that holds its colour's head. maps (blocks, B, heads, gh, gw). Returns the largest
    head mean over all images and, per colour, the weight of that colour's best head."""
    n_tok = 1 + maps.shape[-1] * maps.shape[-2]
    print(f"[class] token's attention on the odd square (held-out mean; {1 / n_tok:.3f} "
          f"if spread evenly over {n_tok} tokens)")
    flat = rearrange(maps, "k b h gh gw -> b k h (gh gw)")
    on_odd = flat[torch.arange(len(odd)), :, :, odd]  # image b's weight on its own odd cell: (B, blocks, heads)
    for k, row in enumerate(on_odd.mean(0)):
        print(f"  block {k + 1}:  heads " + "  ".join(f"{v:.3f}" for v in row) + f"   mean {row.mean():.3f}")
    print("  the head that looks most at the odd square, by the square's colour (held-out mean):")
    rows, blocks, best, q = [], [], [], len(QUARTERS)
    for c, name in enumerate(COLOURS):
        mean = on_odd[labels // q == c].mean(0)  # (blocks, heads)
        k, h = divmod(int(mean.argmax()), mean.shape[1])
        print(f"    {name:<6} block {k + 1}, head {h + 1}: {mean[k, h]:.3f}")
        rows.append(int((labels // q == c).nonzero()[0]))  # the first held-out image of this colour
        blocks.append(k)
        best.append(mean[k, h].item())
    result = {"even": 1 / n_tok, "largest_head_mean": on_odd.mean(0).max().item(), "best_head_by_colour": best}
    if not out:
        return result
    titles = [f"block {k + 1} of {len(maps)}\ntrue: {class_name(int(labels[i]))}\n"
              f"predicted: {class_name(int(preds[i]))}"
              for i, k in zip(rows, blocks)]
    figures.cls_attention_rows((images[rows] * STD + MEAN).clamp(0, 1), maps[blocks, rows], odd[rows], titles,
                               out / "attention_cls.png", "each row from the block whose head looks most at squares "
                               "of that colour")
    return result


def main(argv=None) -> int:
    """Parse the arguments (`argv`, default sys.argv), run the lesson, return the exit
    status: 0, or 2 when --weights cannot be read (checked before any work)."""
    parser = lesson_parser("vit", __doc__)
    parser.add_argument("--weights", help="optional ViT checkpoint (HF directory or timm .pth) to run on the photo")
    parser.add_argument("--steps", type=int, default=STEPS,
                        help="training steps of the tiny ViT (default: %(default)s)")
    parser.add_argument("--norm-steps", type=int, default=NORM_STEPS,
                        help="training steps of the pre-norm / post-norm comparison (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads; 1 by default: the same numbers on every run, and no slow-down "
                             "when other programs share the cores (0 = torch's choice)")
    args = parser.parse_args(argv)
    pretrained = load_weights(args.weights) if args.weights else None  # before any work: a bad path fails at once
    if args.weights and pretrained is None:
        return 2
    out = figures_folder(args)
    t0 = time.time()
    numbers = {}
    with torch_threads(args.threads):
        torch.manual_seed(args.seed)
        model = pretrained if pretrained is not None else vit_small(num_classes=1000)
        numbers["conv_vs_linear"] = walk_through(model.eval(), load_photo(), out, pretrained is not None)
        why_the_block(args.seed, args.norm_steps, numbers)
        toy_task(args.steps, args.seed, out, numbers)
    if out:
        extra = ", attention_photo.png, position_similarity_weights.png" if pretrained is not None else ""
        print(f"Figures in {out}/: patch_grid.png, attention_cls.png, position_similarity.png, loss.png{extra}")
    verdicts = print_claims("docs/01", CLAIMS, numbers)
    save_results(args.results, "vit", args, numbers, verdicts)
    print_time("the whole lesson:", time.time() - t0)
    return 0
