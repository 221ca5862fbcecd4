"""The VideoMAE lesson (course notes, section III), step by step on a CPU.

1. tubelets: a 16x224 clip -> 8x14x14 = 1568 tokens (III.1)
   and what 90% tube masking saves, counted in multiply-adds
2. tube / random / frame masking at 90% on one synthetic clip, drawn (III.2)
3. the "copy from the neighbouring frame" cheat under each masking (III.2)
4. a tiny VideoMAE pretrained for a fixed number of steps: the loss falls and the
   reconstructions sharpen, on a training clip and on a held-out clip (III.3-III.4)

Run: `python -m videomae [--out outputs/videomae] [--steps 1000] [--seed 0] [--threads 1]`
(its measured time is at the end of --help). Shapes are printed with what they mean (`vit.steps.print_step`);
figures go to --out. The same seed prints the same numbers on every run on one
machine; only the lines starting with "time:" vary. Another thread count or CPU can
print other training numbers, so the lesson ends by checking docs/03's claims on
this run (`videomae.lesson_claims`). Tong et al. 2022, section 3; the prose is
docs/03_videomae.md.
"""
import time
from pathlib import Path

import numpy as np
import torch

from vit import imagenet
from vit.figures import loss_curve
from vit.steps import figures_folder, lesson_parser, print_claims, print_step, print_time, save_results, torch_threads

from . import synthetic
from .config import VideoMAEConfig
from .copy_baseline import copy_neighbour_loss
from .cost import pretraining_cost, print_flops_convention
from .figures import grey_out, paint_prediction, plot_rows
from .lesson_claims import CLAIMS, STEPS
from .masking import MASKS, tube_mask
from .pretrain import videomae_tiny
from .tubelets import TubeletEmbed, linear_from_conv3d, patchify

# why --threads is 1 by default
ONE_THREAD = ("the tiny model's ops are too small for threads to split, on a busy machine a second thread "
              "waiting for a core made each pretraining step ~30x slower (measured), and the printed numbers "
              "stay the same from run to run")


def step_tubelets() -> dict:
    """III.1 on a random 16x224 clip: the tubelet cut, the Conv3d embedding, what 90%
    tube masking leaves for the encoder, and the classifier's cost; returns the numbers."""
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
    mask = tube_mask(1, cfg.grid, 0.9, generator=torch.Generator().manual_seed(0))
    per_slice, n_vis = int(mask[0, : h * w].sum()), int((~mask).sum())
    print_step("tube_mask(1, grid, 0.9)", mask.shape,
               f"bool, True = masked: {per_slice} of {h * w} positions hidden in every one of the {t} time slices "
               f"-> {int(mask.sum())} masked, {n_vis} visible")
    return {"conv_vs_linear": (by_conv - by_linear).abs().max().item(), "masked": int(mask.sum()), "visible": n_vis,
            **pretraining_cost(cfg, n_vis), **print_flops_convention(cfg)}


def percent(mask: torch.Tensor) -> str:
    """'256/288 = 88.9%': the real share a mask hides (integer counts, so rarely exactly 90%)."""
    return f"{int(mask.sum())}/{mask.numel()} = {mask.float().mean().item():.1%}"


def step_masks(out: Path | None, seed: int) -> None:
    """III.2: tube, random and frame masking at ratio 0.9 of one synthetic clip, drawn to
    masking.png (`out` None: not drawn)."""
    print("\n== 2. Three ways to hide 90% of a clip (course notes III.2, figure (b) frame, (c) random, (d) tube) ==")
    rng = np.random.default_rng(seed)
    clip = torch.from_numpy(synthetic.make_clip(synthetic.ACTIONS.index("move_right"), 16, 96, 96, rng))
    clip = clip.permute(3, 0, 1, 2).float() / 255  # (T, H, W, 3) -> (3, T, H, W)
    tubelet, grid = (2, 16, 16), (8, 6, 6)
    g = torch.Generator().manual_seed(seed)
    print(f"grid {grid}: {grid[0]} time slices of {grid[1]}x{grid[2]} = {grid[1] * grid[2]} positions; "
          "counts are whole tubelets, so ratio 0.9 hides a little less than 90%:")
    t, hw = grid[0], grid[1] * grid[2]
    rule = {"tube": f"int(0.9 * {hw}) = {int(0.9 * hw)} of the {hw} positions, in all {t} slices",  # how each
            "random": f"int(0.9 * {t * hw}) = {int(0.9 * t * hw)} anywhere",  # masking turns the ratio into
            "frame": f"int(0.9 * {t}) = {int(0.9 * t)} of the {t} slices"}  # a count (videomae/masking.py)
    rows = [("clip", clip)]
    for name in ("tube", "random", "frame"):
        mask = MASKS[name](1, grid, 0.9, generator=g)[0]
        rows.append((f"{name}\n{percent(mask)}", grey_out(clip, mask, tubelet, grid)))
        print(f"{name:>6}: {percent(mask)} tubelets masked  ({rule[name]})")
    if out:
        plot_rows(rows, out / "masking.png", "masking at ratio 0.9 of a 'move_right' clip (96x96, 2x16x16 tubelets; "
                  "grey = hidden; row label: hidden share)", frames=list(range(0, 16, 2)),
                  xlabel="frame (one per time slice)")
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
    rnd, tube = results["random"], results["tube"]
    print(f"random masking leaves a copy for {rnd['with_copy']:.0%} of the holes (about 1 - 0.9^7 = 52%: the others "
          "are hidden in the 7 other slices too);\ncopying where it can cuts the error over all the holes "
          f"{rnd['mean_colour_mse'] / rnd['copy_mse']:.1f}x below the average-colour guess, with no learning at all:\n"
          f"a real shortcut, not a full solution. Tube masking leaves no copy ({tube['with_copy']:.0%}): the cheat is "
          "the average-colour guess,\nso the model must reason about content and motion.")
    return results


def step_pretrain(out: Path | None, steps: int, seed: int) -> dict:
    """III.3-III.4: pretrain a tiny VideoMAE for `steps` steps; writes reconstruction.png
    and loss.png (unless `out` is None) and returns the numbers the claims check: the mean
    loss of the first and of the last 10 steps, each shown clip's loss before and after."""
    print("\n== 4. Pretraining a tiny VideoMAE on synthetic clips, 90% tube masking (course notes III.3-III.4) ==")
    torch.manual_seed(seed)
    # 8 x 48 x 48 clips: grid 4 x 6 x 6 = 144 tubelets, fast on a CPU. Raw pixels as the target:
    # the synthetic backgrounds are nearly flat, and a flat patch normalised per patch (the
    # paper's target, norm_target=True) is pure sensor noise that no model can predict.
    model = videomae_tiny(image_size=48, norm_target=False)
    cfg = model.cfg
    pool, _ = synthetic.make_batch(256, cfg.num_frames, cfg.image_size, seed=seed + 2)  # (256, 3, 8, 48, 48)
    # another draw: not in the pool
    held_out, _ = synthetic.make_batch(1, cfg.num_frames, cfg.image_size, seed=seed + 4)
    pool, held_out = imagenet.normalize(pool), imagenet.normalize(held_out)  # [0, 1] pixels -> what the model expects
    g = torch.Generator().manual_seed(seed + 3)
    show_video, show_mask = torch.cat([pool[:1], held_out]), tube_mask(2, cfg.grid, 0.9, generator=g)
    n_vis = int((~show_mask[0]).sum())
    print(f"clips (B, 3, {cfg.num_frames}, {cfg.image_size}, {cfg.image_size}), tubelets {cfg.tubelet} -> grid "
          f"{cfg.grid} = {cfg.num_tokens} tokens; tube mask {percent(show_mask[0])}: encoder D={cfg.dim} x "
          f"{cfg.depth} sees {n_vis}, decoder D={cfg.decoder_dim} x {cfg.decoder_depth} predicts the other "
          f"{cfg.num_tokens - n_vis}; {sum(p.numel() for p in model.parameters())/1e6:.2f}M params; "
          f"256 training clips, batch 8, {steps} steps")

    def snapshot():
        """(clips in [0, 1], their reconstructions, the loss of each) for the two shown clips."""
        model.eval()
        with torch.no_grad():
            parts = [model(show_video[i:i + 1], show_mask[i:i + 1]) for i in range(2)]  # one loss per clip
        model.train()
        clips = imagenet.unnormalize(show_video)  # back to [0, 1] pixels, (2, C, T, H, W)
        painted = [paint_prediction(clips[i], show_mask[i], parts[i][1][0], cfg.tubelet, cfg.grid, cfg.norm_target)
                   for i in range(2)] if out else None
        return clips, painted, [p[0].item() for p in parts]

    clips, before, loss_before = snapshot()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05)  # paper's betas
    losses, start, batch = [], time.time(), 8
    for step in range(steps):
        idx = torch.randint(0, len(pool), (batch,), generator=g)
        for group in opt.param_groups:
            group["lr"] = 1e-3 * min(1.0, (step + 1) / 20)  # short warmup, then constant
        loss, _ = model(pool[idx], tube_mask(batch, cfg.grid, 0.9, generator=g))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 200 == 0 or step == steps - 1:
            print(f"  step {step:4d}  loss {loss.item():.4f}")
    print_time(f"pretraining, {steps} steps:", time.time() - start)
    _, after, loss_after = snapshot()
    first, last = float(np.mean(losses[:10])), float(np.mean(losses[-10:]))
    print(f"{steps} steps: loss (mean of 10 steps) first {first:.4f} -> last {last:.4f}")
    for name, b, a in zip(("training clip", "held-out clip"), loss_before, loss_after):
        print(f"  {name:<14} (the figure's): loss {b:.4f} before -> {a:.4f} after  (x{a / b:.3f})")
    numbers = {"steps": steps, "first": first, "last": last, "training_clip": [loss_before[0], loss_after[0]],
               "held_out_clip": [loss_before[1], loss_after[1]]}
    if not out:
        return numbers
    masked = [grey_out(clips[i], show_mask[i], cfg.tubelet, cfg.grid) for i in range(2)]
    hidden = f"masked\n{show_mask[0].float().mean().item():.1%}"
    plot_rows([("training\nclip", clips[0]), (hidden, masked[0]), ("step 0", before[0]), (f"step {steps}", after[0]),
               ("HELD-OUT\nclip", clips[1]), (hidden, masked[1]), (f"step {steps}", after[1])],
              out / "reconstruction.png", "tiny VideoMAE: a training clip (rows 1-4) and a clip never trained on "
              "(rows 5-7):\nframes | masked | reconstruction (visible tubelets pasted back)", xlabel="frame")
    loss_curve(losses, out / "loss.png", "tiny VideoMAE pretraining, tube masking at ratio 0.9",
               "MSE on masked tubelets\n(pixels in [0, 1], log scale)", palette=True)
    print(f"figures: {out / 'reconstruction.png'}, {out / 'loss.png'}")
    return numbers


def main(argv=None) -> int:
    """Parse the arguments (`argv`, default sys.argv), run the lesson, return the exit status."""
    args = lesson_parser("videomae", __doc__, budget=(STEPS, ONE_THREAD)).parse_args(argv)
    out = figures_folder(args)
    t0 = time.time()
    with torch_threads(args.threads):  # 1 by default: see ONE_THREAD
        torch.manual_seed(args.seed)  # the untrained layers of steps 1-2
        numbers = step_tubelets()
        step_masks(out, args.seed)
        numbers["copy_cheat"] = step_copy_cheat(args.seed)
        numbers.update(step_pretrain(out, args.steps, args.seed))
    if out:
        print(f"\nlesson done; outputs in {out}/")
    verdicts = print_claims("docs/03", CLAIMS, numbers)
    save_results(args.results, "videomae", args, numbers, verdicts)
    print_time("the whole lesson:", time.time() - t0)
    return 0
