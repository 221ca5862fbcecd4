"""Why the transformer block is written the way it is, measured: the 1/sqrt(d) inside
the softmax, and the LayerNorm before each branch (pre-norm). Two short experiments
of the ViT lesson (`python -m vit`, docs/01_vit.md, section I.3).

1. softmax(Q K^T / sqrt(d)) (Vaswani et al. 2017, section 3.2.1). A query and a key
   whose d entries have variance 1 have a dot product of variance d: at d = 768 the
   scores spread over about +-28, softmax gives nearly all the weight to one key, and
   an almost one-hot softmax passes almost no gradient back (its Jacobian
   diag(p) - p p^T is ~0 when p is one-hot). Dividing by sqrt(d) brings the variance
   back to 1 for every d. `softmax_scale_table` measures it on random queries and keys.

2. Pre-norm, x + f(LayerNorm(x)) (ViT eq. 2-3), against the original Transformer's
   post-norm, LayerNorm(x + f(x)). In pre-norm the residual stream is a sum, so the
   gradient reaches the first block through the identity path whatever the blocks do;
   in post-norm it passes a LayerNorm after every branch, each one dividing by the
   stream's spread, and 24 of them in a row can starve the first block (Xiong et al.
   2020, "On Layer Normalization in the Transformer Architecture": post-norm needs a
   learning-rate warm-up, pre-norm does not). `norm_placement` trains a 12-block stack
   of each kind, same initial weights, same batches, no warm-up.

`PostNormBlock` lives here and only here: `vit/blocks.py`, the textbook every model
imports, stays pre-norm.
"""
import math

import torch
from torch.nn import functional as F

from .blocks import Block
from .model import ViT, ViTConfig

DIMS = (16, 64, 256, 768)  # head widths: 64 is every standard ViT's head; 768 a whole ViT-B token


def softmax_scale_table(gen: torch.Generator, tokens: int = 197, draws: int = 16, dims=DIMS) -> dict:
    """Softmax of random scores, raw (Q K^T) and scaled (Q K^T / sqrt(d)), for each d:
    queries and keys (draws, tokens, d) with N(0, 1) entries. Per d and per variant:
    the median over rows of the largest weight, the mean entropy (nats; ln(tokens) when
    uniform), the share of rows that are almost one-hot (largest weight > 0.99), and the
    median norm of the gradient reaching the scores from a random upstream gradient."""
    out = {}
    for d in dims:
        q = torch.randn(draws, tokens, d, generator=gen)  # (draws, N, d)
        k = torch.randn(draws, tokens, d, generator=gen)
        upstream = torch.randn(draws, tokens, tokens, generator=gen)  # a random dLoss/dweights
        for variant, scale in (("raw", 1.0), ("scaled", d**-0.5)):
            scores = ((q @ k.transpose(-2, -1)) * scale).requires_grad_()  # (draws, N, N)
            weights = scores.softmax(dim=-1)
            (weights * upstream).sum().backward()
            top = weights.max(dim=-1).values.flatten()  # (draws * N,)
            entropy = -(weights * weights.clamp_min(1e-30).log()).sum(-1)
            out[f"{variant}_{d}"] = {
                "std": scores.std().item(), "top": top.median().item(), "entropy": entropy.mean().item(),
                "one_hot": (top > 0.99).float().mean().item(), "grad": scores.grad.norm(dim=-1).median().item()}
    return out


def print_softmax_scale(table: dict, tokens: int = 197) -> None:
    print(f"I.3, measured: why divide by sqrt(d)? Softmax of random queries x keys ({tokens} x {tokens}, "
          "entries N(0, 1)); raw = Q K^T, scaled = Q K^T / sqrt(d)")
    print(f"  {'d':>5} {'score std':>15} {'largest weight':>17} {'entropy (nats)':>17} "
          f"{'rows > 0.99':>14} {'gradient to the scores':>24}")
    print(f"  {'':>5} {'raw  scaled':>15} {'raw  scaled':>17} {'raw  scaled':>17} {'raw  scaled':>14} "
          f"{'raw     scaled':>24}")
    for d in sorted({int(k.split("_")[1]) for k in table}):
        r, s = table[f"raw_{d}"], table[f"scaled_{d}"]
        print(f"  {d:>5} {r['std']:>8.1f} {s['std']:>6.1f} {r['top']:>10.3f} {s['top']:>6.3f} "
              f"{r['entropy']:>10.2f} {s['entropy']:>6.2f} {r['one_hot']:>7.0%} {s['one_hot']:>6.0%} "
              f"{r['grad']:>15.1e} {s['grad']:>8.1e}")
    print(f"  (medians over rows, entropy a mean; uniform weights would be 1/{tokens} = {1 / tokens:.3f} each, "
          f"entropy ln {tokens} = {math.log(tokens):.2f}; gradient: the median norm reaching the scores from a "
          "random upstream one)")


class PostNormBlock(Block):
    """The original Transformer's order (Vaswani et al. 2017): LayerNorm AFTER each residual
    sum. Same parameters as `Block`, so a pre-norm block's weights load into it as they are."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attn(x))  # (B, N, D): the sum is normalised, the stream is no longer a sum
        return self.norm2(x + self.mlp(x))


def _stack(cfg: ViTConfig, post: bool, seed: int) -> ViT:
    torch.manual_seed(seed)
    model = ViT(cfg)  # pre-norm blocks, the project's init
    if post:
        for i, block in enumerate(model.blocks):
            swapped = PostNormBlock(cfg.dim, cfg.heads, cfg.mlp_ratio)
            swapped.load_state_dict(block.state_dict())  # the same initial weights as the pre-norm stack
            model.blocks[i] = swapped
    return model


def _grad_norm(module) -> float:
    return torch.cat([p.grad.flatten() for p in module.parameters()]).norm().item()


def norm_placement(images_fn, seed: int, steps: int = 60, batch: int = 32, lr: float = 3e-3, depth: int = 12,
                   probe_steps=(1, 10)) -> dict:
    """Train a `depth`-block ViT (D 64, 4 heads) with pre-norm blocks and the same with
    post-norm blocks, from the same initial weights on the same batches (`images_fn(n, gen)`
    -> images, labels), AdamW at `lr` with no warm-up, for `steps` steps. Returns, per
    variant, the gradient norm of block 1 over that of block `depth` at each step of
    `probe_steps` and the last (keyed by the step as a string, as in JSON), and the mean
    loss of the last 10 steps."""
    cfg = ViTConfig(image_size=48, patch_size=8, num_classes=12, dim=64, depth=depth, heads=4, mlp_ratio=2.0)
    out = {}
    for name in ("pre", "post"):
        model = _stack(cfg, name == "post", seed)
        gen = torch.Generator().manual_seed(seed + 1)  # the same batches for both
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.05)
        ratios, losses = {}, []
        for step in range(1, steps + 1):
            images, labels = images_fn(batch, gen)[:2]
            loss = F.cross_entropy(model(images), labels)
            opt.zero_grad()
            loss.backward()
            if step in probe_steps or step == steps:
                ratios[str(step)] = _grad_norm(model.blocks[0]) / _grad_norm(model.blocks[-1])
            opt.step()
            losses.append(loss.item())
        out[name] = {"ratio": ratios, "loss": sum(losses[-10:]) / len(losses[-10:])}
    return out


def print_norm_placement(result: dict, steps: int, lr: float = 3e-3, depth: int = 12) -> None:
    probes = sorted(result["pre"]["ratio"], key=int)
    print(f"I.3, measured: why pre-norm? {depth} blocks, pre-norm x + f(LN(x)) vs post-norm LN(x + f(x)), same initial "
          f"weights and batches, AdamW lr {lr:g}, no warm-up, {steps} steps of 32 images (the odd-square task below)")
    print(f"  {'':<10}" + "".join(f"{f'step {s}':>12}" for s in probes) + f"{'loss, last 10 steps':>22}")
    print(f"  {'':<10}" + f"{'gradient of block 1 / gradient of block ' + str(depth):^{12 * len(probes)}}")
    for name in ("pre", "post"):
        r = result[name]
        print(f"  {name + '-norm':<10}" + "".join(f"{r['ratio'][s]:>12.1e}" for s in probes) + f"{r['loss']:>22.2f}")
    print(f"  (chance: ln 12 = {math.log(12):.2f})")
