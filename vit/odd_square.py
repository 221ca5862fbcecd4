"""The ViT lesson's toy task: what colour is the odd square, and which quarter holds it?

A 48x48 image of noise holds four squares, each exactly one 8x8 patch: three gray and
one red, green or blue. The label (12 classes) is the colour AND the quarter of the
image the coloured square sits in. The colour is in the patch's pixels; the quarter is
not (a square looks the same everywhere), so only the position embedding can tell it:
a tiny ViT has to learn both WHAT a patch shows and WHERE it is, and its attention and
its learned position table then mean something (`python -m vit`, docs/01_vit.md).
"""
import numpy as np
import torch
from torch.nn import functional as F

from .model import ViT, ViTConfig

COLOURS = ("red", "green", "blue")
QUARTERS = ("top-left", "top-right", "bottom-left", "bottom-right")
SIZE, PATCH, GRAYS = 48, 8, 3  # 6 x 6 patches; 3 gray squares beside the coloured one


def odd_square_images(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Noisy gray images (n, 3, 48, 48), normalised, with one coloured square and three
    gray ones, each exactly one patch, at distinct random cells. Label = colour * 4 +
    quarter (12 classes): the colour is in the patch's pixels, but the quarter is not
    (the square looks the same everywhere), so only the position embedding can tell it.
    Returns images, labels (n,) and the odd square's cell (n,), a flat patch index."""
    grid = SIZE // PATCH
    images = 0.5 + 0.15 * torch.randn(n, 3, SIZE, SIZE, generator=gen)  # (n, 3, S, S)
    cells = torch.rand(n, grid * grid, generator=gen).argsort(dim=1)[:, : 1 + GRAYS]  # distinct cells; [:, 0] is odd
    colour = torch.randint(0, len(COLOURS), (n,), generator=gen)
    fills = torch.rand(n, 1 + GRAYS, generator=gen)[:, :, None].expand(-1, -1, 3).clone()  # grays (n, square, rgb)
    fills[:, 0] = 0.15 + 0.7 * torch.eye(3)[colour]  # square 0 is red, green or blue
    for k in range(n):
        for s in range(1 + GRAYS):
            r, c = divmod(int(cells[k, s]), grid)
            images[k, :, r * PATCH : (r + 1) * PATCH, c * PATCH : (c + 1) * PATCH] = fills[k, s][:, None, None]
    row, col = cells[:, 0] // grid, cells[:, 0] % grid
    quarter = 2 * (row >= grid // 2).long() + (col >= grid // 2).long()
    images = (images.clamp(0, 1) - 0.5) / 0.5  # to [-1, 1], as the lesson's photo (mean and std 0.5)
    return images, colour * len(QUARTERS) + quarter, cells[:, 0]


def class_name(label: int) -> str:
    return f"{COLOURS[label // len(QUARTERS)]}, {QUARTERS[label % len(QUARTERS)]}"


def colour_and_quarter(model: ViT, images, labels) -> tuple[float, float, float]:
    """Held-out accuracy of the whole label, of its colour and of its quarter."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        preds = model(images).argmax(-1)
    model.train(was_training)
    q = len(QUARTERS)
    return tuple((a == b).float().mean().item() for a, b in [(preds, labels), (preds // q, labels // q),
                                                             (preds % q, labels % q)])


def train_tiny(steps: int, gen: torch.Generator, probe=None, probe_step: int = 100):
    """A 4-block ViT (D 64, 4 heads) trained `steps` steps of 64 fresh images each.
    `probe` = (images, labels): held-out images scored at step `probe_step` (their
    accuracy, colour, quarter are returned; None if training stops before it)."""
    cfg = ViTConfig(image_size=SIZE, patch_size=PATCH, num_classes=len(COLOURS) * len(QUARTERS),
                    dim=64, depth=4, heads=4, mlp_ratio=2.0)
    model = ViT(cfg)
    init_pos = model.pos_embed.detach().clone()
    rest = [p for name, p in model.named_parameters() if name != "pos_embed"]
    # The table starts at std 0.02: its rows are 20x shorter than a noisy patch's token
    # and 45x shorter than the coloured square's, and Adam moves an entry by about lr per
    # step. A 10x rate for the table alone lets 250 steps learn the quarter (one rate of
    # 1e-3 to 3e-3 did not in 400). No weight decay on it, as in timm's ViT
    # (`no_weight_decay`): decay would pull the positions back to zero.
    opt = torch.optim.AdamW([{"params": rest, "lr": 1e-3, "weight_decay": 0.05},
                             {"params": [model.pos_embed], "lr": 1e-2, "weight_decay": 0.0}])
    base = [g["lr"] for g in opt.param_groups]
    losses, at_probe = [], None
    for step in range(1, steps + 1):
        for group, lr in zip(opt.param_groups, base):
            group["lr"] = lr * min(1.0, step / 20)  # 20 steps of linear warm-up
        images, labels, _ = odd_square_images(64, gen)
        loss = F.cross_entropy(model(images), labels)
        opt.zero_grad(), loss.backward(), opt.step()
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"    step {step:4d}  loss {np.mean(losses[-50:]):.3f}  (mean of the last 50 steps)")
        if probe is not None and step == probe_step:
            at_probe = colour_and_quarter(model, *probe)
            print(f"    step {step:4d}  held-out colour {at_probe[1]:.1%}, quarter {at_probe[2]:.1%} "
                  f"(512 other held-out images)")
    return model.eval(), init_pos, losses, at_probe


def position_summary(table: torch.Tensor, grid: int) -> tuple[float, float, float]:
    """Mean cosine similarity of the position embeddings (1, [1+]N, D) of two patches
    that are neighbours (share an edge), in the same quarter, in different quarters."""
    t = F.normalize(table[0, -grid * grid:].float(), dim=-1)  # (N, D)
    sim = t @ t.T  # (N, N)
    r, c = torch.arange(grid * grid) // grid, torch.arange(grid * grid) % grid
    quarter = 2 * (r >= grid // 2) + (c >= grid // 2)
    near = (r[:, None] - r).abs() + (c[:, None] - c).abs() == 1
    same = (quarter[:, None] == quarter) & ~torch.eye(grid * grid, dtype=torch.bool)
    other = quarter[:, None] != quarter
    return tuple(sim[m].mean().item() for m in (near, same, other))
