"""Is the direction of motion linearly readable from the toy VideoMAE encoder? A linear probe answers it.

`python -m videomae.why` finds that VideoMAE pretraining helps the tiny video ViT when
fine-tuned with 60 labels per class (docs/05_why_videomae.md). This asks what the
pretrained encoder hands to fine-tuning: is the direction of motion already in its
features, readable by a linear classifier? A linear probe (a logistic regression on
frozen features; He et al. 2022, section 4, "linear probing") is trained on the
features of labelled clips and tested on held-out ones, for the pretrained encoder and
for the same encoder at its random initialisation.

    features: encoder tokens (B, N, D) -> mean over each time slice, slices side by side (B, T' * D)

Keeping the slices apart lets the probe compare early and late positions, which is what
separates move_left from move_right. On the toy clips the probe stays near chance for
both encoders: what pretraining gives here is a starting point that fine-tuning (which
changes every layer) turns into a direction detector, not a ready linear feature. MAE's
authors report the same kind of gap at full scale (He et al. 2022, section 4.3: MAE
features are weak under a linear probe and strong once some blocks are fine-tuned).
Run: `python -m videomae.why_probe [--patch 4]`.
"""
import argparse

import numpy as np
import torch
from einops import reduce
from torch.nn import functional as F

from vit.steps import torch_threads

from .why_runs import Setup, build, copy_encoder, make_data, pretrain


@torch.no_grad()
def slice_features(model, video: torch.Tensor) -> torch.Tensor:
    """(B, 3, T, H, W) -> (B, T' * D): the frozen encoder's tokens averaged over each time slice."""
    model.eval()
    tokens = model.forward_blocks(model.embed(video))  # (B, N, D), N = T' * H' * W'
    t = model.cfg.grid[0]
    return reduce(tokens, "b (t hw) d -> b (t d)", "mean", t=t)  # (B, N, D) -> (B, T' * D)


def linear_probe(train: tuple, test: tuple, steps: int = 300, seed: int = 0) -> float:
    """Logistic regression on standardised features (Adam, a little L2); held-out accuracy."""
    (x, y), (x_test, y_test) = train, test
    mean, std = x.mean(0), x.std(0) + 1e-6
    x, x_test = (x - mean) / std, (x_test - mean) / std
    torch.manual_seed(seed)
    probe = torch.nn.Linear(x.shape[1], int(y.max()) + 1)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x), y) + 1e-3 * probe.weight.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (probe(x_test).argmax(1) == y_test).float().mean().item()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videomae.why_probe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="clips, initialisation and masks (default: %(default)s)")
    parser.add_argument("--patch", type=int, default=8, help="patch size: 8 = a 4x4 grid per slice, 4 = 8x8 "
                        "(then 90%% tube masking leaves 6 of 64 places visible, not 2 of 16) (default: %(default)s)")
    parser.add_argument("--pretrain-steps", type=int, default=Setup.pretrain_steps, help="(default: %(default)s)")
    args = parser.parse_args(argv)
    setup = Setup(patch=args.patch, pretrain_steps=args.pretrain_steps)
    with torch_threads(1):
        data = make_data(setup, args.seed)
        encoders = {"random initialisation": build("video", setup, args.seed)}
        mae, curve = pretrain(setup, data["unlabelled"][0], "tube", 0.9, args.seed)
        pretrained = copy_encoder(mae, build("video", setup, args.seed))
        encoders[f"VideoMAE, tube 90%, {setup.pretrain_steps} steps"] = pretrained
        print(f"pretraining loss, mean of the last 100 steps: {np.mean(curve[-100:]):.4f}")
        print(f"{'encoder':<36} {'labels/class':>12} {'probe test acc':>15}")
        for name, model in encoders.items():
            test = (slice_features(model, data["test"][0]), data["test"][1])
            for split, per_class in (("few", setup.labels), ("many", setup.labels_many)):
                train = (slice_features(model, data[split][0]), data[split][1])
                print(f"{name:<36} {per_class:>12} {linear_probe(train, test, seed=args.seed):>14.1%}")
    print("chance is 50%: a probe near it finds no direction of motion in those features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
