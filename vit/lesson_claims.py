"""What docs/01_vit.md says about the ViT lesson's numbers, as claims a run can check
(`vit.steps.Claim`). `python -m vit` checks them on the run it just made;
`python -m claims` checks them over seeds and thread counts and prints the ranges the
page quotes.

A training number (a loss, an attention weight) depends on the order in which floats
are summed, which changes with the thread count and the CPU, so the claims are about
what held on every run measured, with margins, never about a last digit.
"""
from .steps import Claim, ran_steps

STEPS, NORM_STEPS = 250, 60  # the lesson's defaults: the training claims are about these


def _softmax_holds(n) -> bool:
    t = n["softmax"]
    scaled_top = [v["top"] for k, v in t.items() if k.startswith("scaled")]
    scaled_grad = [v["grad"] for k, v in t.items() if k.startswith("scaled")]
    return (t["raw_768"]["top"] > 0.99 and t["scaled_768"]["grad"] > 10 * t["raw_768"]["grad"]
            and max(scaled_top) < 1.1 * min(scaled_top) and max(scaled_grad) < 1.1 * min(scaled_grad))


def _softmax_shows(n) -> str:
    t = n["softmax"]
    return (f"largest weight at d = 16 / 768: raw {t['raw_16']['top']:.3f} / {t['raw_768']['top']:.3f}, scaled "
            f"{t['scaled_16']['top']:.3f} / {t['scaled_768']['top']:.3f}; gradient at d = 768 "
            f"{t['scaled_768']['grad'] / t['raw_768']['grad']:.0f}x larger scaled")


def _ratio(n, variant, step):
    return n["norm_placement"][variant]["ratio"].get(str(step))


def _attention(n):
    return n["attention"]


CLAIMS = (
    Claim("conv_is_linear",
          "the stride-16 convolution and a Linear over patchify(x) give the same tokens, up to float rounding "
          "(max difference below 1e-5)",
          lambda n: n["conv_vs_linear"] < 1e-5, lambda n: f"max difference {n['conv_vs_linear']:.1e}"),
    Claim("softmax_scale",
          "without the 1/sqrt(d), random scores make the softmax almost one-hot as d grows (median largest weight "
          "above 0.99 at d = 768) and pass a gradient over 10x smaller; with it, the largest weight and the "
          "gradient stay within 10% of each other for every d",
          _softmax_holds, _softmax_shows),
    Claim("post_norm_starves_block_1",
          "in 12 post-norm blocks trained without warm-up, the first block gets under 1% of the last block's "
          "gradient by step 10; in 12 pre-norm blocks it gets at least half as much",
          lambda n: _ratio(n, "post", 10) < 0.01 and _ratio(n, "pre", 10) > 0.5,
          lambda n: f"block 1 / block 12 at step 10: pre-norm {_ratio(n, 'pre', 10):.1e}, "
                    f"post-norm {_ratio(n, 'post', 10):.1e}",
          applies=lambda n: n["norm_steps"] >= 10, needs="--norm-steps 10 or more"),
    Claim("pre_norm_learns",
          f"after {NORM_STEPS} steps the pre-norm stack's loss is below 2.2 while the post-norm stack's stays "
          "near chance (above 2.3; ln 12 = 2.48)",
          lambda n: n["norm_placement"]["pre"]["loss"] < 2.2 and n["norm_placement"]["post"]["loss"] > 2.3,
          lambda n: f"pre-norm {n['norm_placement']['pre']['loss']:.2f}, "
                    f"post-norm {n['norm_placement']['post']['loss']:.2f}",
          applies=lambda n: n["norm_steps"] == NORM_STEPS, needs=f"the default --norm-steps {NORM_STEPS}"),
    Claim("plateau_at_100",
          "at step 100 the tiny ViT knows the colour but still mostly guesses the quarter (held-out colour above "
          "95%, quarter below 60%)",
          lambda n: n["probe_colour"] > 0.95 and n["probe_quarter"] < 0.6,
          lambda n: f"colour {n['probe_colour']:.1%}, quarter {n['probe_quarter']:.1%}",
          applies=lambda n: n["probe_colour"] is not None, needs="--steps 100 or more"),
    Claim("learns_both",
          f"after {STEPS} steps it gets colour and quarter right on the held-out images (above 99% each)",
          lambda n: n["colour"] > 0.99 and n["quarter"] > 0.99,
          lambda n: f"accuracy {n['accuracy']:.1%}: colour {n['colour']:.1%}, quarter {n['quarter']:.1%}",
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
    Claim("heads_divide_the_colours",
          "no head looks at the odd square in every image (every head's mean over all held-out images is below "
          "0.5), yet for each colour some head puts most of its weight on it (above 0.5)",
          lambda n: _attention(n)["largest_head_mean"] < 0.5 and min(_attention(n)["best_head_by_colour"]) > 0.5,
          lambda n: f"largest mean {_attention(n)['largest_head_mean']:.3f}; best head per colour "
                    + ", ".join(f"{v:.3f}" for v in _attention(n)["best_head_by_colour"]),
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
    Claim("table_learns_the_quarters",
          "the learned position table encodes the quarter and nothing finer: two patches of one quarter are "
          "similar (above 0.8), of different quarters dissimilar (below 0), neighbours in between",
          lambda n: n["position_learned"][1] > 0.8 and n["position_learned"][2] < 0
          and n["position_learned"][2] < n["position_learned"][0] < n["position_learned"][1],
          lambda n: "neighbours {:.2f}, same quarter {:.2f}, other quarter {:.2f}".format(*n["position_learned"]),
          applies=ran_steps(STEPS), needs=f"the default --steps {STEPS}"),
)

# the numbers `python -m claims` tabulates for docs/01: (column, how to read it from a run, format)
COLUMNS = (
    ("conv vs Linear", lambda n: n["conv_vs_linear"], "{:.1e}"),
    ("post-norm block 1/12, step 10", lambda n: _ratio(n, "post", 10), "{:.1e}"),
    ("pre-norm loss", lambda n: n["norm_placement"]["pre"]["loss"], "{:.2f}"),
    ("post-norm loss", lambda n: n["norm_placement"]["post"]["loss"], "{:.2f}"),
    ("loss, step 100", lambda n: n["loss_by_50"].get("100"), "{:.3f}"),
    ("loss, step 250", lambda n: n["loss_by_50"].get("250"), "{:.3f}"),
    ("colour, step 100", lambda n: n["probe_colour"], "{:.1%}"),
    ("quarter, step 100", lambda n: n["probe_quarter"], "{:.1%}"),
    ("accuracy", lambda n: n["accuracy"], "{:.1%}"),
    ("largest head mean", lambda n: _attention(n)["largest_head_mean"], "{:.3f}"),
    ("weakest colour's best head", lambda n: min(_attention(n)["best_head_by_colour"]), "{:.3f}"),
    ("neighbours", lambda n: n["position_learned"][0], "{:.2f}"),
    ("same quarter", lambda n: n["position_learned"][1], "{:.2f}"),
    ("other quarter", lambda n: n["position_learned"][2], "{:.2f}"),
)
