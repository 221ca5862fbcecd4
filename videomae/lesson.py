"""The VideoMAE lesson (course notes, section III), step by step on a CPU.

1. tubelets: a 16x224 clip -> 8x14x14 = 1568 tokens (III.1)
2. tube / random / frame masking at 90% on one synthetic clip, drawn (III.2)
3. the "copy from the neighbouring frame" cheat under each masking (III.2)
4. a tiny VideoMAE pretrained for about a minute: the loss falls and the
   reconstructions sharpen (III.3-III.4)

Run: `python -m videomae [--out outputs/videomae] [--seconds 60] [--steps 5000]`.
Shapes are printed with what they mean (`vit.steps.print_step`); figures go to
--out. Tong et al. 2022, section 3; the prose is docs/03_videomae.md.
"""
import time
from pathlib import Path

import numpy as np
import torch

from vit import imagenet
from vit.steps import lesson_parser, print_step, torch_threads

from . import synthetic
from .config import VideoMAEConfig
from .copy_baseline import copy_neighbour_loss
from .figures import grey_out, paint_prediction, plot_loss, plot_rows
from .masking import MASKS, tube_mask
from .pretrain import videomae_tiny
from .tubelets import TubeletEmbed, linear_from_conv3d, patchify

# why --threads (used for the pretraining, step 4) is 1 by default
ONE_THREAD = ("the tiny model's ops are too small for threads to split, and on a busy machine a second thread "
              "waiting for a core made each pretraining step ~30x slower (measured)")


def step_tubelets() -> None:
    """III.1 on a random 16x224 clip: the tubelet cut, the Conv3d embedding, and
    what 90% tube masking leaves for the encoder."""
    print("\n== 1. Tubelets: a clip cut into 2 x 16 x 16 cubes (course notes III.1) ==")
    cfg = VideoMAEConfig()
    t, h, w = cfg.grid
    video = torch.rand(1, 3, cfg.num_frames, cfg.image_size, cfg.image_size, generator=torch.Generator().manual_seed(0))
    print_step("video", video.shape, f"(B, C, T, H, W): one RGB clip of {cfg.num_frames} frames")
    cubes = patchify(video, cfg.tubelet)
    print_step(f"patchify(video, {cfg.tubelet})", cubes.shape,
               f"tubelet {cfg.tubelet_size} frames x {cfg.patch_size} x {cfg.patch_size} px -> grid {t} x {h} x {w} "
               f"= {cfg.num_tokens} tokens, each 2*16*16*3 = {cubes.shape[-1]} numbers")
    embed = TubeletEmbed(cfg.tubelet, 3, cfg.dim)
    with torch.no_grad():
        by_conv, by_linear = embed(video), linear_from_conv3d(embed.proj)(cubes)
    print_step("Conv3d(k=s=(2,16,16))", by_conv.shape, f"one token of D = {cfg.dim} per tubelet")
    print_step("Linear(patchify(video))", by_linear.shape,
               f"einops cut + one Linear gives the same tokens (max diff {(by_conv - by_linear).abs().max():.1e})")
    mask = tube_mask(1, cfg.grid, 0.9)
    per_slice, n_vis = int(mask[0, : h * w].sum()), int((~mask).sum())
    print_step("tube_mask(1, grid, 0.9)", mask.shape,
               f"bool, True = masked: {per_slice} of {h * w} positions hidden in every one of the {t} time slices "
               f"-> {int(mask.sum())} masked, {n_vis} visible")
    print(f"  the encoder runs on {n_vis} tokens, not {cfg.num_tokens} "
          f"(attention cost ~{(cfg.num_tokens / n_vis)**2:.0f}x smaller)")


def step_masks(out: Path, seed: int) -> None:
    """III.2: tube, random and frame masking at 90% of one synthetic clip, drawn to masking.png."""
    print("\n== 2. Three ways to hide 90% of a clip (course notes III.2, figure (b) frame, (c) random, (d) tube) ==")
    rng = np.random.default_rng(seed)
    clip = torch.from_numpy(synthetic.make_clip(synthetic.ACTIONS.index("move_right"), 16, 96, 96, rng))
    clip = clip.permute(3, 0, 1, 2).float() / 255  # (T, H, W, 3) -> (3, T, H, W)
    tubelet, grid = (2, 16, 16), (8, 6, 6)
    g = torch.Generator().manual_seed(seed)
    rows = [("clip", clip)]
    for name in ("tube", "random", "frame"):
        mask = MASKS[name](1, grid, 0.9, generator=g)[0]
        rows.append((f"{name} ({int(mask.sum())}/{mask.numel()})", grey_out(clip, mask, tubelet, grid)))
        print(f"{name:>6}: {int(mask.sum())} of {mask.numel()} tubelets masked")
    plot_rows(rows, out / "masking.png", "90% masking of a 'move_right' clip, 2x16x16 tubelets", frames=list(range(0, 16, 2)))
    print(f"figure: {out / 'masking.png'}")


def step_copy_cheat(seed: int) -> dict:
    """III.2's argument measured: how well copying from the nearest visible time slice
    fills the holes of each masking (`copy_baseline.copy_neighbour_loss`); returns its results."""
    print("\n== 3. The cheat tube masking blocks: copy the same place from the nearest visible frame ==")
    video, _ = synthetic.make_batch(32, 16, 96, seed=seed + 1)  # (32, 3, 16, 96, 96) in [0, 1]
    tubelet, grid = (2, 16, 16), (8, 6, 6)
    g = torch.Generator().manual_seed(seed)
    results = {}
    print(f"{'masking':>8} | hidden tubelets with a visible copy | copy-neighbour MSE | average-colour MSE")
    for name in ("random", "frame", "tube"):
        r = copy_neighbour_loss(video, MASKS[name](32, grid, 0.9, generator=g), tubelet, grid)
        results[name] = r
        print(f"{name:>8} | {r['with_copy']:>34.0%} | {r['copy_mse']:>18.4f} | {r['mean_colour_mse']:>18.4f}")
    print("random masking leaves a copy for most holes, so copying nearly solves it; tube masking leaves none,\n"
          "so the cheat is no better than guessing the average colour: the model must reason about content and motion.")
    return results


def step_pretrain(out: Path, seconds: float, max_steps: int, seed: int, threads: int = 1) -> tuple[float, float, int]:
    """III.3-III.4: pretrain a tiny VideoMAE for `seconds` (at most `max_steps` steps) on
    `threads` torch threads; writes reconstruction.png and loss.png and returns the mean
    loss of the first and of the last 10 steps, and the number of steps."""
    print("\n== 4. Pretraining a tiny VideoMAE on synthetic clips, 90% tube masking (course notes III.3-III.4) ==")
    torch.manual_seed(seed)
    # 8 x 48 x 48 clips: grid 4 x 6 x 6 = 144 tubelets, fast on a CPU. Raw pixels as the target:
    # the synthetic backgrounds are nearly flat, and a flat patch normalised per patch (the
    # paper's target, norm_target=True) is pure sensor noise that no model can predict.
    model = videomae_tiny(image_size=48, norm_target=False)
    cfg = model.cfg
    pool, _ = synthetic.make_batch(256, cfg.num_frames, cfg.image_size, seed=seed + 2)  # (256, 3, 8, 48, 48)
    pool = imagenet.normalize(pool)  # [0, 1] pixels -> what the model (and its target) expects
    n_vis = int((~tube_mask(1, cfg.grid, 0.9))[0].sum())
    print(f"clips (B, 3, {cfg.num_frames}, {cfg.image_size}, {cfg.image_size}), tubelets {cfg.tubelet} -> grid {cfg.grid} = "
          f"{cfg.num_tokens} tokens; encoder D={cfg.dim} x {cfg.depth} sees {n_vis}, decoder D={cfg.decoder_dim} x "
          f"{cfg.decoder_depth} predicts the other {cfg.num_tokens - n_vis}; {sum(p.numel() for p in model.parameters())/1e6:.2f}M params")
    g = torch.Generator().manual_seed(seed + 3)
    show_video, show_mask = pool[:1], tube_mask(1, cfg.grid, 0.9, generator=g)

    def snapshot():
        model.eval()
        with torch.no_grad():
            _, pred = model(show_video, show_mask)
        model.train()
        clip = imagenet.unnormalize(show_video)[0]  # back to [0, 1] pixels, (C, T, H, W)
        return clip, paint_prediction(clip, show_mask[0], pred[0], cfg.tubelet, cfg.grid, cfg.norm_target)

    clip, before = snapshot()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)  # paper's betas
    losses, start, step, batch = [], time.time(), 0, 8
    with torch_threads(threads):  # 1 by default: see ONE_THREAD
        while step < max_steps and time.time() - start < seconds:
            idx = torch.randint(0, len(pool), (batch,), generator=g)
            lr_scale = min(1.0, (step + 1) / 20)  # short warmup
            for group in opt.param_groups:
                group["lr"] = 1e-3 * lr_scale
            loss, _ = model(pool[idx], tube_mask(batch, cfg.grid, 0.9, generator=g))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if step % 200 == 0:
                print(f"  step {step:4d}  loss {loss.item():.4f}  ({time.time() - start:.0f}s)")
            step += 1
    _, after = snapshot()
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
    print(f"{step} steps in {time.time() - start:.0f}s: loss (mean of 10 steps) first {first:.4f} -> last {last:.4f}")
    mask_img = grey_out(clip, show_mask[0], cfg.tubelet, cfg.grid)
    plot_rows([("frames", clip), ("masked 90%", mask_img), ("step 0", before), (f"step {step}", after)],
              out / "reconstruction.png", "tiny VideoMAE: frames | masked | reconstruction before and after pretraining")
    plot_loss(losses, out / "loss.png")
    print(f"figures: {out / 'reconstruction.png'}, {out / 'loss.png'}")
    return first, last, step


def main(argv=None) -> int:
    """Parse the arguments (`argv`, default sys.argv), run the lesson, return the exit status."""
    args = lesson_parser("videomae", __doc__, budget=("--steps", 5000, ONE_THREAD)).parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    step_tubelets()
    step_masks(args.out, args.seed)
    step_copy_cheat(args.seed)
    step_pretrain(args.out, args.seconds, args.steps, args.seed, args.threads)
    print(f"\nlesson done in {time.time() - t0:.0f}s; outputs in {args.out}/")
    return 0
