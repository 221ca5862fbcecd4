"""What docs/02_imagemae.md says about the ImageMAE lesson's numbers, as claims a run can
check (`vit.steps.Claim`). `python -m imagemae` checks them on the run it just made;
`python -m claims` checks them over seeds and thread counts and prints the ranges the
page quotes.

The tiny MAE's training is chaotic in the last digits: another thread count or CPU
sums in another order, and after 300 steps the losses differ in the second or third
digit (the held-out image's most). So the claims are about what held on every run
measured, with margins.
"""
from vit.steps import Claim, ran_steps, share_left

STEPS = 300  # the lesson's default: the training claims are about it

CLAIMS = (
    Claim("training_loss_falls",
          f"in {STEPS} steps the training loss (mean of the last 20 steps) falls below 0.6 of the first step's",
          lambda n: n["final"] < 0.6 * n["first"],
          lambda n: f"{n['first']:.3f} -> {n['final']:.3f}, x{n['final'] / n['first']:.2f}",
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
    Claim("training_photos_learnt",
          "each training photo's loss on its masked patches falls below half its value before training",
          lambda n: all(share_left(r) < 0.5 for r in n["training_rows"]),
          lambda n: ", ".join(f"{b:.3f} -> {a:.3f} (x{a / b:.2f})" for b, a in n["training_rows"]),
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
    Claim("held_out_not_learnt",
          "the held-out image gains far less: its loss keeps more than 0.6 of its value before training, where "
          "each training photo keeps under half (two photos are memorised, not images in general)",
          lambda n: share_left(n["held_out"]) > 0.6 and all(share_left(r) < 0.5 for r in n["training_rows"]),
          lambda n: "held out {:.3f} -> {:.3f} (x{:.2f})".format(*n["held_out"], share_left(n["held_out"])),
          applies=lambda n: ran_steps(STEPS)(n) and n["held_out"] is not None, needs=f"the default --steps {STEPS}"),
)

# the numbers `python -m claims` tabulates for docs/02: (column, how to read it from a run, format)
COLUMNS = (
    ("loss, step 100", lambda n: n["loss_by_50"].get("100"), "{:.3f}"),
    ("loss, step 300", lambda n: n["loss_by_50"].get("300"), "{:.3f}"),
    ("first loss", lambda n: n["first"], "{:.3f}"),
    ("final loss", lambda n: n["final"], "{:.3f}"),
    ("photo 1 after", lambda n: n["training_rows"][0][1], "{:.3f}"),
    ("photo 2 after", lambda n: n["training_rows"][1][1], "{:.3f}"),
    ("held out before", lambda n: n["held_out"][0] if n["held_out"] else None, "{:.3f}"),
    ("held out after", lambda n: n["held_out"][1] if n["held_out"] else None, "{:.3f}"),
    ("held out, after/before", lambda n: share_left(n["held_out"]) if n["held_out"] else None, "{:.2f}"),
    ("encoder speed-up (a time)", lambda n: n["encoder_speedup"], "{:.1f}"),
)
