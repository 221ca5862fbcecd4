"""The ViT lesson (course notes, section I), step by step on a real photo, then a tiny
ViT trained for 80 steps so its attention and position embeddings mean something.

Run: `python -m vit [--out outputs/vit] [--weights HF_DIR_OR_TIMM_FILE] [--steps 80]`.
Every step prints the tensor shape and what it means (`vit.steps.print_step`);
figures go to --out. Dosovitskiy et al. 2021, section 3.1; the prose is docs/01_vit.md.
"""
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from einops import rearrange  # noqa: E402
from matplotlib import cbook  # noqa: E402
from PIL import Image  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from .checkpoint import CheckpointError  # noqa: E402
from .model import ViT, ViTConfig, vit_small  # noqa: E402
from .patches import linear_from_conv, patchify  # noqa: E402
from .pos_embed import sincos_2d  # noqa: E402
from .steps import lesson_parser, print_step  # noqa: E402

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


def figure_patch_grid(photo: torch.Tensor, patch: int, out: Path) -> None:
    grid = photo.shape[-1] // patch
    tiles = rearrange(photo, "c (h ph) (w pw) -> h w ph pw c", ph=patch, pw=patch)  # (14, 14, 16, 16, 3)
    gapped = F.pad(tiles, (0, 0, 0, 3, 0, 3), value=1.0)  # a white gap right of and below every patch
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    axes[0].imshow(photo.permute(1, 2, 0).numpy())
    for k in range(1, grid):
        axes[0].axhline(k * patch - 0.5, color="w", lw=0.6), axes[0].axvline(k * patch - 0.5, color="w", lw=0.6)
    axes[0].set_title(f"{photo.shape[-1]}x{photo.shape[-1]} image, {grid}x{grid} = {grid * grid} patches of {patch}x{patch}")
    axes[1].imshow(rearrange(gapped, "h w ph pw c -> (h ph) (w pw) c").numpy())
    axes[1].set_title("the same patches as separate tokens (row-major order)")
    for a in axes:
        a.axis("off")
    fig.tight_layout(), fig.savefig(out / "patch_grid.png", dpi=80), plt.close(fig)


# -- a toy task the cls token can only solve by looking at the right patch -------------
COLOURS = ("red", "green", "blue")


def square_images(n: int, size: int, patch: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy gray images with one coloured square and two gray squares (each one
    patch large) at random cells; the label is the square's colour (red, green,
    blue). The [class] token has to find the one coloured patch among 36."""
    grid = size // patch
    images = 0.5 + 0.15 * torch.randn(n, 3, size, size, generator=gen)  # (n, 3, S, S)
    cells = torch.rand(n, grid * grid, generator=gen).argsort(dim=1)[:, :3]  # 3 distinct cells per image
    labels = torch.randint(0, 3, (n,), generator=gen)
    fills = torch.rand(n, 3, generator=gen)[:, :, None].expand(n, 3, 3).clone()  # gray levels (n, square, rgb)
    fills[:, 0] = 0.15 + 0.7 * torch.eye(3)[labels]  # square 0 is coloured
    for k in range(n):
        for s in range(3):
            r, c = divmod(int(cells[k, s]), grid)
            images[k, :, r * patch : (r + 1) * patch, c * patch : (c + 1) * patch] = fills[k, s][:, None, None]
    return (images.clamp(0, 1) - MEAN) / STD, labels


def train_tiny(steps: int, gen: torch.Generator) -> tuple[ViT, torch.Tensor, list[float]]:
    cfg = ViTConfig(image_size=48, patch_size=8, num_classes=3, dim=64, depth=4, heads=4, mlp_ratio=2.0)
    model = ViT(cfg)
    init_pos = model.pos_embed.detach().clone()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    losses = []
    for step in range(1, steps + 1):
        images, labels = square_images(64, 48, 8, gen)
        loss = F.cross_entropy(model(images), labels)
        opt.zero_grad(), loss.backward(), opt.step()
        losses.append(loss.item())
        if step % 25 == 0:
            print(f"    step {step:4d}  loss {np.mean(losses[-25:]):.3f}")
    return model.eval(), init_pos, losses


def cls_attention(model: ViT, images: torch.Tensor) -> torch.Tensor:
    """Last block's attention of the cls token to each patch, averaged over heads:
    (B, grid, grid)."""
    attn = model.attention_maps(images)[-1]  # (B, heads, 1+N, 1+N)
    grid = model.cfg.grid
    return rearrange(attn[:, :, 0, 1:].mean(1), "b (h w) -> b h w", h=grid[0], w=grid[1])


def figure_attention(images, maps, labels, preds, out: Path, name: str) -> None:
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(2.2 * n, 4.6))
    for k in range(n):
        img = (images[k] * STD + MEAN).clamp(0, 1).permute(1, 2, 0).numpy()
        axes[0, k].imshow(img), axes[0, k].set_title(f"{labels[k]}, predicted {preds[k]}", fontsize=8)
        axes[1, k].imshow(img), axes[1, k].imshow(
            F.interpolate(maps[k][None, None], size=img.shape[:2], mode="nearest")[0, 0].numpy(), alpha=0.6, cmap="inferno")
    for a in axes.flat:
        a.axis("off")
    fig.suptitle("cls token attention (last block, mean over heads)")
    fig.tight_layout(), fig.savefig(out / name, dpi=90), plt.close(fig)


def figure_positions(tables: dict[str, torch.Tensor], grid: int, out: Path, name: str) -> None:
    """ViT paper Fig. 7 (centre): tile (i, j) shows the cosine similarity of the
    embedding of patch (i, j) with the embedding of every other patch."""
    fig, axes = plt.subplots(1, len(tables), figsize=(4.6 * len(tables), 4.8))
    for ax, (title, table) in zip(axes, tables.items()):
        t = F.normalize(table[0, -grid * grid :], dim=-1)  # (N, D), patch rows only
        sim = rearrange(t @ t.T, "(i j) (h w) -> (i h) (j w)", i=grid, h=grid)  # tiles of similarity maps
        ax.imshow(sim.numpy(), cmap="viridis")  # own colour scale per panel: sin-cos similarities are all > 0
        for k in range(1, grid):
            ax.axhline(k * grid - 0.5, color="w", lw=0.8), ax.axvline(k * grid - 0.5, color="w", lw=0.8)
        ax.set_title(title), ax.axis("off")
    fig.tight_layout(), fig.savefig(out / name, dpi=90), plt.close(fig)


def load_weights(path) -> ViT | None:
    """`ViT.from_pretrained(path)`, or None after one `error:` line on stderr when `path`
    is missing or is not a ViT checkpoint: a wrong path is the user's to fix, not a traceback."""
    try:
        return ViT.from_pretrained(path)
    except (CheckpointError, OSError) as err:
        first, *more = (str(err).strip() or type(err).__name__).splitlines()
        where = "" if str(path) in first else f"{path}: "
        print("\n".join([f"error: --weights {where}{first}"] + [f"  {line}" for line in more]), file=sys.stderr)
        return None


def main(argv=None) -> int:
    """Parse the arguments (`argv`, default sys.argv), run the lesson, return the exit
    status: 0, or 2 when --weights cannot be read (checked before any work)."""
    parser = lesson_parser("vit", __doc__)
    parser.add_argument("--weights", help="optional ViT checkpoint (HF directory or timm .pth) to run on the photo")
    parser.add_argument("--steps", type=int, default=80, help="training steps of the tiny ViT (default: %(default)s)")
    args = parser.parse_args(argv)
    pretrained = load_weights(args.weights) if args.weights else None  # before any work: a bad path fails at once
    if args.weights and pretrained is None:
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)
    t0 = time.time()

    print("I.1  Cut the image into patches")
    photo = load_photo()
    print_step("photo", photo.shape, "RGB, 224 x 224 pixels")
    patches = patchify(photo[None], 16)[0]
    print_step("patchify(photo, 16)", patches.shape, "196 patches (14 x 14), each 16*16*3 = 768 numbers: the 'words'")
    figure_patch_grid(photo, 16, args.out)

    print("I.2  Linear projection, [class] token, position embedding")
    model = pretrained if pretrained is not None else vit_small(num_classes=1000)
    model.eval()
    d = model.cfg.dim
    x = ((photo - MEAN) / STD)[None]
    tokens = model.patch_embed(x)
    print_step("patch_embed(x)  (Conv2d k=s=16)", tokens.shape, f"196 tokens of D = {d}")
    linear = linear_from_conv(model.patch_embed.proj)
    same = (linear(patchify(x, 16)) - tokens).abs().max().item()
    print_step("Linear(patchify(x))", tokens.shape, f"the same tokens: max difference {same:.1e}")
    x_tok = model.prepend_cls(model.patch_embed(x) + model.pos_embed[:, 1:])
    print_step("[cls] + tokens, + pos_embed", x_tok.shape, "row 0 is the [class] token; positions added to every row")

    print("I.3  Transformer encoder")
    blk = model.blocks[0]
    qkv = blk.attn.qkv(blk.norm1(x_tok))
    print_step("qkv = Linear(LayerNorm(x))", qkv.shape, f"query, key, value side by side (3 x {d})")
    heads = blk.attn.heads
    with torch.no_grad():
        attn = blk.attn.attention_map(blk.norm1(x_tok))
        print_step("softmax(QK^T / sqrt(d))", attn.shape, f"{heads} heads: how much each token looks at each other")
        feats = model.forward_blocks(x_tok)
    print_step(f"{len(model.blocks)} blocks + LayerNorm", feats.shape, "same shape in and out: tokens exchanged information")

    print("I.4  MLP head")
    print_step("feats[:, 0]  ([class] token)", feats[:, 0].shape, "one vector summarising the image")
    logits = model.forward_head(feats)
    print_step("head(...)", logits.shape, f"one score per class ({'pretrained' if args.weights else 'random weights: meaningless yet'})")
    if args.weights:
        figure_attention(x, cls_attention(model, x), ["-"], [int(logits.argmax())], args.out, "attention_photo.png")

    print(f"Training a tiny ViT ({args.steps} steps of 64 images): what colour is the square among the gray ones?")
    t_train = time.time()
    gen = torch.Generator().manual_seed(args.seed)
    tiny, init_pos, losses = train_tiny(args.steps, gen)
    images, labels = square_images(512, 48, 8, gen)
    with torch.no_grad():
        preds = tiny(images).argmax(-1)
    acc = (preds == labels).float().mean().item()
    print(f"  loss {np.mean(losses[:10]):.3f} -> {np.mean(losses[-10:]):.3f} in {time.time() - t_train:.0f} s; "
          f"held-out accuracy {acc:.1%} (chance 33%)")
    names = lambda idx: [COLOURS[i] for i in idx]  # noqa: E731
    figure_attention(images[:6], cls_attention(tiny, images[:6]), names(labels[:6]), names(preds[:6]),
                     args.out, "attention_cls.png")
    figure_positions({"learned, at initialisation (random)": init_pos,
                      f"learned, after {args.steps} steps on this task": tiny.pos_embed.detach(),
                      "fixed 2-D sin-cos (MAE)": sincos_2d(64, (6, 6), cls_token=True)}, 6, args.out,
                     "position_similarity.png")
    if args.weights and isinstance(model.pos_embed, torch.nn.Parameter):  # a trained table, its own grid
        figure_positions({"learned, from --weights": model.pos_embed.detach(),
                          "fixed 2-D sin-cos": sincos_2d(model.cfg.dim, model.cfg.grid, True)},
                         model.cfg.grid[0], args.out, "position_similarity_weights.png")
    print(f"Figures in {args.out}/: patch_grid.png, attention_cls.png, position_similarity.png "
          f"({time.time() - t0:.0f} s in all)")
    return 0
