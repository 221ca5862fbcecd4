"""What docs/03_videomae.md says about the VideoMAE lesson's numbers, as claims a run can
check (`vit.steps.Claim`). `python -m videomae` checks them on the run it just made;
`python -m claims` checks them over seeds and thread counts and prints the ranges the
page quotes.

Counts and multiply-adds are integer arithmetic: the same on every CPU. The copy
cheat is elementwise arithmetic on seeded clips. The pretraining losses depend on the
order of float sums (thread count, CPU), so their claims are about what held on every
run measured, with margins.
"""
from vit.steps import Claim, ran_steps, share_left

STEPS = 1000  # the lesson's default: the training claims are about it


def _cheat(n, masking, key):
    return n["copy_cheat"][masking][key]


def _cheat_holds(n) -> bool:
    rnd = n["copy_cheat"]["random"]
    return (0.4 < rnd["with_copy"] < 0.65 and rnd["mean_colour_mse"] > 1.5 * rnd["copy_mse"]
            and _cheat(n, "tube", "with_copy") == 0 and _cheat(n, "frame", "with_copy") == 1
            and _cheat(n, "frame", "copy_mse") < min(rnd["copy_mse"], _cheat(n, "tube", "copy_mse")))


CLAIMS = (
    Claim("conv_is_linear",
          "the Conv3d and einops' cut + one Linear give the same tokens, up to float rounding (max difference "
          "below 1e-5)",
          lambda n: n["conv_vs_linear"] < 1e-5, lambda n: f"max difference {n['conv_vs_linear']:.1e}"),
    Claim("cost_of_the_visible_encoder",
          "tube masking at 0.9 leaves 160 of 1568 tokens, which makes the encoder 12.7x cheaper in multiply-adds "
          "(attention's N^2 part 96x, the linear layers only 9.8x) and a pretraining step 5.9x",
          lambda n: (n["masked"], n["visible"], round(n["encoder_ratio"], 1), round(n["attention_ratio"], 1),
                     round(n["step_ratio"], 1)) == (1408, 160, 12.7, 96.0, 5.9),
          lambda n: f"{n['masked']} masked, {n['visible']} visible; encoder {n['encoder_ratio']:.1f}x, "
                    f"attention {n['attention_ratio']:.1f}x, step {n['step_ratio']:.1f}x"),
    Claim("flops_are_two_multiply_adds",
          "the ViT-B classifier costs 180 G multiply-adds per 16x224 clip, the papers' \"180 GFLOPs\", which is "
          "360 GFLOPs (1 multiply-add = 2 FLOPs)",
          lambda n: round(n["multiply_adds_G"]) == 180 and round(n["gflops"]) in (360, 361),
          lambda n: f"{n['multiply_adds_G']:.1f} G multiply-adds = {n['gflops']:.1f} GFLOPs"),
    Claim("copy_cheat",
          "random masking leaves a visible copy for about half the holes (40-65%) and copying it beats the "
          "average-colour guess over all the holes by more than 1.5x; tube masking leaves none; frame masking "
          "leaves one for every hole and the lowest error",
          _cheat_holds,
          lambda n: f"random {_cheat(n, 'random', 'with_copy'):.0%} with a copy, "
                    f"{_cheat(n, 'random', 'mean_colour_mse') / _cheat(n, 'random', 'copy_mse'):.1f}x; tube "
                    f"{_cheat(n, 'tube', 'with_copy'):.0%}; frame {_cheat(n, 'frame', 'with_copy'):.0%}, "
                    f"MSE {_cheat(n, 'frame', 'copy_mse'):.4f}"),
    Claim("pretraining_loss_falls",
          f"in {STEPS} steps the pretraining loss (mean of 10 steps) falls more than 20x",
          lambda n: n["last"] < n["first"] / 20,
          lambda n: f"{n['first']:.4f} -> {n['last']:.4f}, {n['first'] / n['last']:.0f}x",
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
    Claim("held_out_clip_learnt",
          "the held-out clip's loss falls as far as the training clip's: both end below 5% of their value before "
          "training (256 varied clips teach a rule that carries over to a new clip of the same kind)",
          lambda n: share_left(n["held_out_clip"]) < 0.05 and share_left(n["training_clip"]) < 0.05,
          lambda n: "training clip x{:.3f}, held-out clip x{:.3f}".format(share_left(n["training_clip"]),
                                                                         share_left(n["held_out_clip"])),
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
)

# the numbers `python -m claims` tabulates for docs/03: (column, how to read it from a run, format)
COLUMNS = (
    ("conv vs Linear", lambda n: n["conv_vs_linear"], "{:.1e}"),
    ("random: holes with a copy", lambda n: _cheat(n, "random", "with_copy"), "{:.0%}"),
    ("random: copy MSE", lambda n: _cheat(n, "random", "copy_mse"), "{:.4f}"),
    ("random: colour MSE", lambda n: _cheat(n, "random", "mean_colour_mse"), "{:.4f}"),
    ("frame: copy MSE", lambda n: _cheat(n, "frame", "copy_mse"), "{:.4f}"),
    ("loss, first 10", lambda n: n["first"], "{:.4f}"),
    ("loss, last 10", lambda n: n["last"], "{:.4f}"),
    ("training clip after", lambda n: n["training_clip"][1], "{:.4f}"),
    ("held-out clip before", lambda n: n["held_out_clip"][0], "{:.4f}"),
    ("held-out clip after", lambda n: n["held_out_clip"][1], "{:.4f}"),
)
