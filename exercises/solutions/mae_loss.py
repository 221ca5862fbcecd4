"""Solution: MAE's normalised-pixel target and the loss on the masked patches (MAE paper, section 3)."""
import torch
from einops import rearrange


def mae_target(images: torch.Tensor, p: int, norm_pix: bool = True) -> torch.Tensor:
    target = rearrange(images, "b c (h ph) (w pw) -> b (h w) (ph pw c)", ph=p, pw=p)  # (B, C, H, W) -> (B, N, p*p*C)
    if not norm_pix:
        return target
    mean = target.mean(dim=-1, keepdim=True)  # (B, N, 1): one mean per patch, over all its p*p*C numbers
    var = target.var(dim=-1, keepdim=True)  # (B, N, 1): unbiased, as the official code
    return (target - mean) / (var + 1e-6) ** 0.5


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    per_patch = ((pred - target) ** 2).mean(dim=-1)  # (B, N, p*p*C) -> (B, N): MSE of each patch
    mask = mask.float()  # (B, N): 1 = masked
    return (per_patch * mask).sum() / mask.sum()  # the average over the masked patches only
