"""The ImageMAE lesson (course notes, section II), step by step on a real photo, then a
tiny MAE pretrained for a fixed number of steps so the reader sees its reconstructions
improve, on the training photos and on a held-out image it never saw.

Run: `python -m imagemae [--out outputs/imagemae] [--steps 300] [--seed 0] [--threads 1]`
(its measured time is at the end of --help).
Every step prints the tensor shape and what it means (`vit.steps.print_step`);
figures go to --out. The same seed prints the same numbers on every run on one
machine; only the lines starting with "time:" vary. Another thread count or CPU
prints other training numbers (a few units in the third digit), so the lesson ends
by checking docs/02's claims on this run (`imagemae.lesson_claims`). He et al. 2022,
"Masked Autoencoders Are Scalable Vision Learners", section 3; the prose is
docs/02_imagemae.md.
"""
import math
import time
from pathlib import Path

import torch

from vit.figures import loss_curve
from vit.patches import patchify
from vit.steps import figures_folder, lesson_parser, print_claims, print_step, print_time, save_results, torch_threads

from .data import center_crop, held_out_image, load_photos, random_crops, shrink
from .figures import masking_figure, reconstruction_figure
from .lesson_claims import CLAIMS, STEPS
from .masking import random_masking
from .model import mae_tiny

# why --threads is 1 by default
ONE_THREAD = ("the tiny model's matrices gain little from more, one thread does not collapse when other "
              "programs share the cores, and the printed numbers stay the same from run to run")


def walk_through(photo: torch.Tensor, out: Path | None, gen: torch.Generator) -> float:
    """II.1-II.3 on one 224x224 photo with an untrained MAE: every shape (`out` None: no
    figure). Returns how much faster the encoder runs on the visible quarter (a time)."""
    mae = mae_tiny().eval()
    p = mae.cfg.patch_size
    image = center_crop(photo, 224)[None]  # (1, 3, 224, 224)
    print("\nII.1  Masking: cut into patches, hide 75% of them at random")
    print_step("image", image.shape, "one RGB photo, 224x224")
    print_step("patchify(image, 16)", patchify(image, p).shape,
               "196 patches of 16*16*3 = 768 pixel values (the target)")
    tokens = mae.encoder.embed_patches(image)  # (1, 196, 192)
    print_step("encoder.embed_patches", tokens.shape, "one token per patch, + fixed sin-cos position")
    visible, mask, ids_restore = random_masking(tokens, 0.75, generator=gen)
    print_step("random_masking(tokens, 0.75)", visible.shape, "visible tokens only")
    print_step("  mask", mask.shape, f"bool, True = masked: {int(mask.sum())} masked, {int((~mask).sum())} visible")
    print_step("  ids_restore", ids_restore.shape, "permutation that puts shuffled tokens back in place")
    if out:
        masking_figure(image[0], mask[0], p, out / "masking.png")

    print("\nII.2  Encoder: a ViT that runs on the visible patches only")
    with torch.no_grad():
        x = mae.encoder.prepend_cls(visible)
        print_step("encoder.prepend_cls", x.shape, "[cls] + 49 visible tokens: no mask token enters the encoder")
        latent = mae.encoder.forward_blocks(x)
        print_step("encoder.forward_blocks", latent.shape, "latent representation of the visible patches")
    speedup = time_encoder(mae)

    print("\nII.3  Decoder: mask tokens back in place, reconstruct the pixels, MSE on the masked patches")
    with torch.no_grad():
        y = mae.decoder_embed(latent)
        print_step("decoder_embed", y.shape, "narrower decoder width (192 -> 128)")
        pred = mae.forward_decoder(latent, ids_restore)
        print_step("forward_decoder", pred.shape,
                   "147 mask tokens inserted and unshuffled: 1+196 tokens in, 768 pixels per patch out")
        loss = mae.forward_loss(image, pred, mask)
        print_step("forward_loss", loss.shape, f"MSE over the 147 masked patches only = {loss.item():.3f} (untrained)")
    return speedup


def time_encoder(mae, batch: int = 16, repeats: int = 3) -> float:
    """Encoder forward on [cls]+49 visible tokens vs on [cls]+all 196, interleaved;
    prints the best time of each on a "time:" line (it varies) and returns the ratio."""
    x = torch.randn(batch, 196, mae.cfg.dim)
    gen = torch.Generator().manual_seed(0)
    runs = {"visible": [], "all": []}
    with torch.no_grad():
        for _ in range(repeats):
            for name in runs:
                tokens = random_masking(x, 0.75, generator=gen)[0] if name == "visible" else x
                t = time.perf_counter()
                mae.encoder.forward_blocks(mae.encoder.prepend_cls(tokens))
                runs[name].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in runs.items()}
    ratio = best["all"] / best["visible"]
    print(f"time: encoder forward, batch {batch}: 1+196 tokens {best['all'] * 1e3:.0f} ms, "
          f"1+49 tokens {best['visible'] * 1e3:.0f} ms -> {ratio:.1f}x faster on the visible 25% (varies)")
    return ratio


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then a cosine down to 0 at `total` (MAE's schedule)."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def pretrain(photos, held_out, out: Path | None, steps: int, gen: torch.Generator) -> dict:
    """Pretrain a tiny MAE on random crops of `photos` for `steps` steps, scoring (and,
    unless `out` is None, drawing) the same images and masks before and after, plus
    `held_out` (an image never cropped for training, or None); returns the numbers the
    claims check: the first training loss, the mean of the last 20, the mean of every
    50 steps, and each shown image's loss before and after."""
    size, patch, batch = 112, 8, 8  # 112/8 = 14x14 = 196 patches, as at 224/16, and 6x cheaper per step
    photos = [shrink(p, 2 * size) for p in photos]  # crops are resized to 112 anyway
    mae = mae_tiny(image_size=size, patch_size=patch)
    params = sum(p.numel() for p in mae.parameters())
    print(f"\nII.1-3 together: pretraining a tiny MAE ({params / 1e6:.1f}M parameters) on random "
          f"{size}x{size} crops of {len(photos)} photos, batch {batch}, mask 75%, {steps} steps")
    show = [center_crop(p, size) for p in photos]  # the same images and masks before/after
    rows = [f"training photo {i + 1}" for i in range(len(show))]
    if held_out is not None:
        show.append(center_crop(held_out, size))
        rows.append("HELD OUT\n(never trained on)")
    show = torch.stack(show)  # (n_show, 3, size, size)
    show_noise = torch.rand(len(show), mae.cfg.num_patches, generator=gen)  # drawn once: the same masks twice

    def snapshot(name: str, title: str) -> list[float]:
        """Draw the reconstructions; return the loss of each shown image."""
        mae.eval()
        with torch.no_grad():
            parts = [mae(show[i:i + 1], noise=show_noise[i:i + 1]) for i in range(len(show))]  # one loss per image
        pred, mask = torch.cat([p[1] for p in parts]), torch.cat([p[2] for p in parts])
        losses = [p[0].item() for p in parts]
        if out:
            reconstruction_figure(show, pred, mask, patch, out / name, f"{title}: MSE on the masked patches "
                                  + ", ".join(f"{loss:.3f}" for loss in losses) + " (row by row)", rows)
        mae.train()
        return losses

    before = snapshot("reconstruction_start.png", "tiny MAE before training")
    opt = torch.optim.AdamW(mae.parameters(), lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05)  # MAE's betas
    warmup, losses, start = 20, [], time.time()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = 1.5e-3 * lr_factor(step, warmup, steps)
        loss, _, _ = mae(random_crops(photos, batch, size, gen), mask_ratio=0.75, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if len(losses) % 50 == 0:
            print(f"    step {len(losses):4d}  loss {sum(losses[-50:]) / 50:.3f} (mean of the last 50 steps)")
    print_time(f"pretraining, {steps} steps:", time.time() - start)
    after = snapshot("reconstruction_end.png", f"after {steps} steps")
    if out:
        loss_curve(losses, out / "loss.png", f"tiny MAE pretraining on {len(photos)} photos, 75% masking",
                   "MSE on masked patches (log scale)", palette=True)
    tail = losses[-20:]
    print(f"  first training loss {losses[0]:.3f}  ->  final (mean of last {len(tail)} steps) "
          f"{sum(tail) / len(tail):.3f}")
    for row, b, a in zip(rows, before, after):
        print(f"  figure row '{row.splitlines()[0]}': loss {b:.3f} before  ->  {a:.3f} after  "
              f"(x{a / b:.2f})")
    return {"steps": steps, "first": losses[0], "final": sum(tail) / len(tail),
            "loss_by_50": {str(s): sum(losses[s - 50:s]) / 50 for s in range(50, steps + 1, 50)},
            "training_rows": [[b, a] for b, a, r in zip(before, after, rows) if not r.startswith("HELD")],
            "held_out": [before[-1], after[-1]] if held_out is not None else None}


def main(argv=None) -> int:
    """Parse the arguments (`argv`, default sys.argv), run the lesson, return the exit status."""
    args = lesson_parser("imagemae", __doc__, budget=(STEPS, ONE_THREAD)).parse_args(argv)
    out = figures_folder(args)
    t0 = time.time()
    with torch_threads(args.threads):
        torch.manual_seed(args.seed)  # the models' initial weights
        gen = torch.Generator().manual_seed(args.seed)  # every mask, crop and flip
        photos = load_photos()
        speedup = walk_through(photos[0], out, gen)
        numbers = pretrain(photos, held_out_image(), out, args.steps, gen)
    numbers["encoder_speedup"] = speedup  # a time ratio: it varies from run to run
    if out:
        print(f"\nfigures in {out}/: masking.png, reconstruction_start.png, reconstruction_end.png, loss.png")
    verdicts = print_claims("docs/02", CLAIMS, numbers)
    save_results(args.results, "imagemae", args, numbers, verdicts)
    print_time("the whole lesson:", time.time() - t0)
    return 0
