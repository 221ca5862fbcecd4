"""The checks, one per exercise: the properties each piece of code must have.

Read it as teaching material. Every check feeds small random inputs (odd sizes,
fixed seeds) to the student's code and to the project's own, copies the real
module's weights in where there are weights, and compares; when the output is
wrong it also tries the usual mistakes (a missing scale, post-norm, a mask that
differs between time slices, ...) and says which one reproduces it.

A check is a generator: it `yield`s a message for every mistake that does not
stop the others, and raises `Mistake` for one that does (nothing after it can
be trusted).
"""
import torch
from einops import rearrange
from torch.nn import functional as F

import finetune.training.mixup as real_mixup
import videomae.masking
import videomae.tubelets
import vit.blocks
import vit.patches
from imagemae.masking import random_masking as real_random_masking
from imagemae.model import MAE, MAEConfig

from .compare import (
    ATOL,
    Mistake,
    copy_weights,
    differs,
    gen,
    gradients_reach,
    jitter,
    max_diff,
    no_fused_attention,
    rand,
    same,
)


# -- 1 ViT -----------------------------------------------------------------------------------------------------
def check_patch_embed(m):
    images, p = rand(2, 3, 8, 12), 4  # a 2x3 grid of 4x4 patches: not square, so h and w cannot be swapped unseen
    order = "patches row by row: 'b c (h ph) (w pw) -> b (h w) (ph pw c)'"
    yours, real_patches = m.patchify(images, p), vit.patches.patchify(images, p)
    msg = differs(yours, real_patches, "patchify(images, 4)", "vit.patches.patchify", {
        "the channel must vary fastest inside a patch: (ph pw c), not (c ph pw)":
            rearrange(images, "b c (h ph) (w pw) -> b (h w) (c ph pw)", ph=p, pw=p),
        order: rearrange(images, "b c (h ph) (w pw) -> b (w h) (ph pw c)", ph=p, pw=p),
        "the numbers of a patch go row by row too: (ph pw c), not (pw ph c)":
            rearrange(images, "b c (h ph) (w pw) -> b (h w) (pw ph c)", ph=p, pw=p),
    })
    if msg:
        yield msg
    real = jitter(vit.patches.PatchEmbed(p, 3, 5))
    mine = m.PatchEmbed(p, 3, 5)
    copy_weights(real, mine, "PatchEmbed")
    x = images.clone().requires_grad_()
    out = mine(x)
    wrong = {order: rearrange(real.proj(images), "b d h w -> b (w h) d")}
    msg = differs(out, real(images), "PatchEmbed(4, 3, 5) output", "vit.patches.PatchEmbed", wrong)
    if msg:
        raise Mistake(msg)
    yield from gradients_reach(mine, out, x, "PatchEmbed")


def attention_with(real: vit.blocks.Attention, x, *, scale=None, softmax_dim=-1, proj=True,
                   split="b n (three h d) -> three b h n d", merge="b h n d -> b n (h d)", heads=None):
    """The real attention's weights, with one thing changed: the usual mistakes, to recognise them."""
    qkv = real.qkv(x)
    q, k, v = rearrange(qkv, split, three=3, h=heads or real.heads)
    s = (q @ k.transpose(-2, -1)) * (q.shape[-1] ** -0.5 if scale is None else scale)
    out = rearrange(s.softmax(dim=softmax_dim) @ v, merge, h=heads or real.heads)
    return real.proj(out) if proj else out


def check_attention(m):
    dim, heads = 12, 3  # head dim 4: 1/sqrt(4) and 1/sqrt(12) are far apart
    real = jitter(vit.blocks.Attention(dim, heads, bias="qkv"))
    mine = m.Attention(dim, heads)
    copy_weights(real, mine, "Attention")
    x = rand(2, 5, dim).requires_grad_()
    with torch.no_grad():
        ref = real(x)
        mistakes = {
            "did you scale by 1/sqrt(head_dim), not 1/sqrt(dim)? d is the width of ONE head, dim // heads":
                attention_with(real, x, scale=dim**-0.5),
            "did you forget to divide the scores by sqrt(head_dim)?": attention_with(real, x, scale=1.0),
            "did you multiply by sqrt(head_dim) instead of dividing?":
                attention_with(real, x, scale=(dim // heads) ** 0.5),
            "softmax over the keys (dim=-1): each query's weights must sum to 1":
                attention_with(real, x, softmax_dim=-2),
            "did you forget self.proj at the end?": attention_with(real, x, proj=False),
            "did you split into self.heads heads? This is what one head of width dim gives":
                attention_with(real, x, heads=1),
            "the qkv output is laid out (three h d): q, k, v first, then heads":
                attention_with(real, x, split="b n (h d three) -> three b h n d"),
            "put the heads back side by side: 'b h n d -> b n (h d)', not (d h)":
                attention_with(real, x, merge="b h n d -> b n (d h)"),
        }
    with no_fused_attention():
        out = mine(x)
    msg = differs(out, ref, "attention output", "vit.blocks.Attention", mistakes)
    if msg:
        raise Mistake(msg)
    yield from gradients_reach(mine, out, x, "Attention")


def check_block(m):
    dim, heads = 8, 2
    real = jitter(vit.blocks.Block(dim, heads, mlp_ratio=2.0))
    mine = m.Block(dim, heads, mlp_ratio=2.0)
    copy_weights(real, mine, "Block")
    x = rand(2, 5, dim).requires_grad_()
    with torch.no_grad():
        n1, n2, attn, mlp = real.norm1, real.norm2, real.attn, real.mlp
        forms = {  # each line written three ways: right (pre-norm), post-norm, without its residual
            "pre-norm": (lambda y: y + attn(n1(y)), lambda y: y + mlp(n2(y))),
            "post-norm, norm(x + f(x))": (lambda y: n1(y + attn(y)), lambda y: n2(y + mlp(y))),
            "without its residual, x = f(norm(x))": (lambda y: attn(n1(y)), lambda y: mlp(n2(y))),
        }
        mistakes = {}
        for a_form, (a_line, _) in forms.items():
            for m_form, (_, m_line) in forms.items():
                slips = [f"the {line} line is {form}" for line, form in (("attention", a_form), ("MLP", m_form))
                         if form != "pre-norm"]
                if slips:
                    mistakes[" and ".join(slips) + "; each line is x = x + f(norm(x))"] = m_line(a_line(x))
        pre_attn = forms["pre-norm"][0]
        mistakes.update({
            "the two lines run one after the other: the MLP sees the output of the attention line":
                x + attn(n1(x)) + mlp(n2(x)),
            "each line has its own norm: norm1 before attn, norm2 before mlp": pre_attn(x) + mlp(n1(pre_attn(x))),
            "the MLP line is missing: x = x + self.mlp(self.norm2(x))": pre_attn(x),
        })
        ref = real(x)
    out = mine(x)
    msg = differs(out, ref, "block output", "vit.blocks.Block", mistakes)
    if msg:
        raise Mistake(msg)
    yield from gradients_reach(mine, out, x, "Block")


# -- 2 ImageMAE ------------------------------------------------------------------------------------------------
def check_random_masking(m):
    b, n, d, ratio = 3, 13, 4, 0.7  # keep int(13 * 0.3) = 3 (round() would give 4)
    tokens, noise = rand(b, n, d), torch.rand(b, n, generator=gen(1))
    ref_vis, ref_mask, ref_restore = real_random_masking(tokens, ratio, noise=noise)
    out = m.random_masking(tokens, ratio, noise=noise)
    if not (isinstance(out, tuple) and len(out) == 3):
        raise Mistake("expected a tuple (visible, mask, ids_restore)")
    vis, mask, restore = out
    if not isinstance(vis, torch.Tensor) or vis.shape != ref_vis.shape:
        found = tuple(vis.shape) if isinstance(vis, torch.Tensor) else type(vis).__name__
        hint = "; keep int(N * (1 - ratio)) tokens, rounded down as the official code" if found == (b, 4, d) else ""
        raise Mistake(
            f"visible: expected shape {tuple(ref_vis.shape)} = (B, int(N * (1 - ratio)), D), found {found}{hint}")
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != (b, n):
        found = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise Mistake(f"mask: expected bool ({b}, {n}), True = masked, found {found}")
    if torch.equal(mask, ~ref_mask):
        raise Mistake("mask is True on the kept patches; True = masked (removed)")
    if not torch.equal(restore, ref_restore):
        if torch.equal(restore, noise.argsort(dim=1)):
            raise Mistake("ids_restore is ids_shuffle itself; it must be its inverse, argsort(ids_shuffle)")
        raise Mistake("ids_restore is not argsort(argsort(noise)), the inverse of the shuffle")
    if torch.equal(mask, ref_mask.gather(1, noise.argsort(dim=1))):
        yield "mask is still in shuffled order: gather it with ids_restore to put it back in patch order"
    elif not torch.equal(mask, ref_mask):
        yield "mask: differs from imagemae.random_masking's: the masked patches are the ones with the LARGEST noise"
    if not torch.equal(vis, ref_vis):
        if torch.equal(vis.sort(dim=1).values, ref_vis.sort(dim=1).values):
            yield "visible has the right tokens in the wrong order: ids_shuffle[:, :keep] order, smallest noise first"
        else:
            yield "visible: differs from imagemae.random_masking's: keep the tokens of ids_shuffle[:, :keep]"
    # without noise: drawn from the generator, repeatable, and different for every sample
    a = m.random_masking(rand(8, n, d), ratio, generator=gen(2))[1]
    again = m.random_masking(rand(8, n, d), ratio, generator=gen(2))[1]
    if not torch.equal(a, again):
        yield "with noise=None, the same generator seed gave two different masks: draw with generator=generator"
    if (a == a[:1]).all():
        yield "every sample got the same mask: draw one noise value per patch per sample, (B, N)"


def check_mae_loss(m):
    images, p = rand(2, 3, 12, 12), 4  # 9 patches of 4*4*3 = 48 numbers
    plain = vit.patches.patchify(images, p)
    yours = m.mae_target(images, p, norm_pix=False)
    msg = differs(yours, plain, "mae_target(norm_pix=False)", "vit.patches.patchify", {
        "the channel must vary fastest inside a patch: (ph pw c)":
            rearrange(images, "b c (h ph) (w pw) -> b (h w) (c ph pw)", ph=p, pw=p),
    })
    if msg:
        yield msg
    # The real target: MAE.forward_loss(images, pred, mask all True) is the mean of (pred - target)^2,
    # so with your target as pred it is 0 exactly when your target is the real one.
    cfg = {"image_size": 12, "patch_size": p, "dim": 8, "depth": 1, "heads": 1, "decoder_dim": 8, "decoder_depth": 1,
           "decoder_heads": 1}
    norm_mae, plain_mae = MAE(MAEConfig(norm_pix_loss=True, **cfg)), MAE(MAEConfig(norm_pix_loss=False, **cfg))
    target = m.mae_target(images, p, norm_pix=True)
    max_diff(target, plain, "mae_target(norm_pix=True)")  # the shape
    rms = norm_mae.forward_loss(images, target, torch.ones(2, 9, dtype=torch.bool)).sqrt().item()
    if rms > ATOL:
        per_channel = plain.unflatten(-1, (-1, 3))
        mistakes = {
            "you returned the plain pixels: normalise each patch by its mean and std": plain,
            "use the unbiased variance (torch's default, var(dim=-1)), as the official code":
                (plain - plain.mean(-1, keepdim=True)) / (plain.var(-1, unbiased=False, keepdim=True) + 1e-6) ** 0.5,
            "normalise over ALL p*p*C numbers of the patch together; per channel is VideoMAE's target":
                ((per_channel - per_channel.mean(-2, keepdim=True))
                 / (per_channel.var(-2, keepdim=True) + 1e-6) ** 0.5).flatten(-2),
        }
        hint = next((h for h, wrong in mistakes.items() if same(target, wrong)), None)
        yield (f"mae_target(norm_pix=True): differs from imagemae.MAE.forward_loss's target by {rms:.3g} (rms)"
               + (f"; {hint}" if hint else ""))

    pred = rand(2, 9, 48, seed=3).requires_grad_()
    mask = torch.zeros(2, 9, dtype=torch.bool)
    mask[0, [0, 2, 3, 5, 8]] = mask[1, [1, 4, 6, 7]] = True  # 9 of 18 patches masked, uneven per image
    loss = m.mae_loss(pred, plain, mask)
    with torch.no_grad():
        per_patch = ((pred - plain) ** 2).mean(-1)
        mistakes = {
            "that is the average over ALL patches; count the masked patches only": per_patch.mean(),
            "that is the average over the visible patches; True in the mask = masked": per_patch[~mask].mean(),
            "that is a sum; average the per-patch MSE over the masked patches": (per_patch * mask).sum(),
            "average over the masked patches of ALL images together, not a mean of per-image means":
                ((per_patch * mask).sum(1) / mask.sum(1)).mean(),
        }
        ref = plain_mae.forward_loss(images, pred, mask)
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise Mistake(f"mae_loss must return a scalar tensor, found {getattr(loss, 'shape', type(loss).__name__)}")
    msg = differs(loss, ref, "mae_loss", "imagemae.MAE.forward_loss", mistakes)
    if msg:
        raise Mistake(msg)
    loss.backward()
    if pred.grad is None or pred.grad[~mask].abs().max() > 0 or not pred.grad[mask].abs().min() > 0:
        yield "the gradient must reach every masked patch and no visible one"


# -- 3 VideoMAE ------------------------------------------------------------------------------------------------
def check_tubelet_embed(m):
    video, tub = rand(2, 3, 4, 8, 12), (2, 4, 4)  # grid (2, 2, 3): 12 tubelets of 2*4*4*3 = 96 numbers
    pt, ph, pw = tub
    time_last = "tokens are ordered t, then h, then w: '-> b (t h w) ...'"
    msg = differs(m.patchify(video, tub), videomae.tubelets.patchify(video, tub), "patchify(video, (2, 4, 4))",
                  "videomae.tubelets.patchify", {
        "the channel must vary fastest inside a tubelet: (pt ph pw c)":
            rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (c pt ph pw)", pt=pt, ph=ph, pw=pw),
        time_last: rearrange(video, "b c (t pt) (h ph) (w pw) -> b (h w t) (pt ph pw c)", pt=pt, ph=ph, pw=pw),
    })
    if msg:
        yield msg
    real = jitter(videomae.tubelets.TubeletEmbed(tub, 3, 5))
    mine = m.TubeletEmbed(tub, 3, 5)
    copy_weights(real, mine, "TubeletEmbed")
    x = video.clone().requires_grad_()
    out = mine(x)
    with torch.no_grad():
        wrong = {time_last: rearrange(real.proj(video), "b d t h w -> b (h w t) d")}
        msg = differs(out, real(video), "TubeletEmbed output", "videomae.tubelets.TubeletEmbed", wrong)
    if msg:
        raise Mistake(msg)
    yield from gradients_reach(mine, out, x, "TubeletEmbed")


def check_tube_mask(m):
    grid, ratio = (4, 3, 5), 0.9  # per slice int(0.9 * 15) = 13 of 15; over all 60 tokens int(0.9 * 60) = 54
    t, h, w = grid
    ref = videomae.masking.tube_mask(6, grid, ratio, generator=gen(0))
    mask = m.tube_mask(6, grid, ratio, generator=gen(0))
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.shape != ref.shape:
        found = f"{mask.dtype} {tuple(mask.shape)}" if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise Mistake(f"expected a bool mask {tuple(ref.shape)} = (batch, T'*H'*W'), True = masked, found {found}")
    expected, counts = int(ref[0].sum()), mask.sum(dim=1).tolist()
    if counts != [expected] * 6:
        hint = {int(ratio * t * h * w): f"; int(ratio * N) over all tokens is random masking: hide int(ratio * H'*W') "
                                        f"places of ONE slice ({int(ratio * h * w)}), in all {t} slices",
                t * h * w - expected: "; True must mean masked (hidden): you marked the visible ones"}
        raise Mistake(f"expected {expected} masked tokens per sample ({t} slices x {int(ratio * h * w)} places), "
                      f"found {counts}{hint.get(counts[0], '')}")
    slices = rearrange(mask, "b (t hw) -> b t hw", t=t)  # (B, T', H'*W')
    place_major = rearrange(mask, "b (hw t) -> b t hw", t=t)  # the same mask read as if tokens were (h w t)
    if not (slices == slices[:, :1]).all() and (place_major == place_major[:, :1]).all():
        raise Mistake("your tokens are in (h w t) order: the T' copies of each place sit side by side. The token "
                      "order is t, then h, then w, as the tubelet embedding lays tokens out: token s*H'*W' + i is "
                      "place i of time slice s, so the whole slice repeats T' times, one slice after the other")
    for i in range(mask.shape[0]):
        for s in range(1, t):
            if not torch.equal(slices[i, s], slices[i, 0]):
                raise Mistake(f"sample {i}: time slice {s} hides other places than slice 0; a tube mask repeats ONE "
                              "slice's choice in every slice, tokens in (t, h, w) order: 'b hw -> b (t hw)'")
    if not torch.equal(mask, m.tube_mask(6, grid, ratio, generator=gen(0))):
        yield "the same generator seed gave two different masks: draw with generator=generator"
    many = m.tube_mask(300, grid, ratio, generator=gen(1))[:, : h * w]  # (300, H'*W'): one slice of each sample
    if (many == many[:1]).all():
        yield "every sample got the same places: draw the random numbers per sample, (batch, H'*W')"
    elif not (many.any(0).all() and (~many).any(0).all()):
        yield "some places are never masked (or never visible) in 300 samples: choose the places at random"


# -- 4 Project 7.1 ---------------------------------------------------------------------------------------------
def check_mixup(m):
    x, y, k = rand(4, 3, 2, 5), torch.tensor([0, 2, 1, 2]), 3
    seed = next(s for s in range(100) if abs(real_mixup._beta(0.8, gen(s)) - 0.5) > 0.15)  # lam and 1-lam tell apart
    lam = real_mixup._beta(0.8, gen(seed))  # the lam the real mixup draws first with this generator
    ref_x, ref_t = real_mixup.mixup(x, y, 0.8, k, generator=gen(seed))
    out = m.mixup(x, y, lam, k)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise Mistake("expected a tuple (x_mixed, targets)")
    xm, tm = out
    msg = differs(xm, ref_x, f"x_mixed (lam = {lam:.3f})", "finetune.training.mixup.mixup", {
        "x is not mixed at all": x,
        "lam weighs the sample itself: lam * x + (1 - lam) * x.flip(0)": (1 - lam) * x + lam * x.flip(0),
        "the partner of sample i is sample B-1-i, x.flip(0) (the batch reversed)": lam * x + (1 - lam) * x.roll(1, 0),
    })
    if msg:
        yield msg
    onehot = F.one_hot(y, k).float()
    if isinstance(tm, torch.Tensor) and tm.shape == (4, k) and not tm.dtype.is_floating_point:
        yield f"targets must be float (soft), found {tm.dtype}"
    msg = differs(tm, ref_t, "targets", "finetune.training.mixup.mixup", {
        "you forgot to mix the labels: the targets are lam * onehot(y) + (1 - lam) * onehot(y.flip(0))": onehot,
        "lam weighs the sample's own label: lam * onehot(y) + (1 - lam) * onehot(y).flip(0)":
            (1 - lam) * onehot + lam * onehot.flip(0),
    })
    if msg:
        yield msg


CHECKS = {
    "patch_embed": check_patch_embed,
    "attention": check_attention,
    "block": check_block,
    "random_masking": check_random_masking,
    "mae_loss": check_mae_loss,
    "tubelet_embed": check_tubelet_embed,
    "tube_mask": check_tube_mask,
    "mixup": check_mixup,
}
