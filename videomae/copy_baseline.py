"""Why tube masking: the "copy from the neighbouring frame" cheat (course notes,
section III.2; Tong et al. 2022, section 3.2 "temporal redundancy" and "temporal
correlation").

A predictor with no learning at all: for each hidden tubelet, copy the pixels
at the SAME spatial position from the nearest time slice where that position is
visible; if there is none, guess the clip's average colour. Under random masking
most holes have such a neighbour and the cheat scores well, so a network could
learn to copy and stop there. Under tube masking no hole ever has one: the
cheat collapses to the average-colour guess and only real reasoning helps.
"""
import torch
from einops import rearrange, repeat

from .tubelets import patchify


def copy_neighbour_loss(video: torch.Tensor, mask: torch.Tensor, tubelet, grid) -> dict[str, float]:
    """video (B, C, T, H, W) in [0, 1], mask (B, N) True = hidden ->
    {'copy_mse', 'mean_colour_mse', 'with_copy'} over the hidden tubelets, in pixel units."""
    t = grid[0]
    tokens = rearrange(patchify(video, tubelet), "b (t s) k -> b t s k", t=t)  # (B, T', H'W', K*C)
    hidden = mask.reshape(tokens.shape[:3])  # (B, T', H'W')
    visible = ~hidden
    c = video.shape[1]
    # fallback: the average colour of the visible pixels of the clip, per channel
    vis_pixels = tokens[visible].unflatten(-1, (-1, c))  # (n_vis, K, C)
    colour = torch.stack([vis_pixels[..., i].mean() for i in range(c)]).repeat(tokens.shape[-1] // c)  # (K*C,)
    # the nearest slice where the same place is visible: distance |t - t'| (the earlier slice on a tie)
    index = torch.arange(t)
    distance = 2 * (index[:, None] - index[None, :]).abs() + (index[None, :] > index[:, None])  # (T', T') t -> t'
    # (B, T', T', H'W'); hidden t' cost more
    cost = distance[None, :, :, None] + torch.where(visible, 0, 4 * t)[:, None]
    best = cost.argmin(dim=2)  # (B, T', H'W'): the source slice of every tubelet
    found = hidden & visible.gather(1, best)  # a hidden tubelet whose source slice shows its place
    copied = tokens.gather(1, repeat(best, "b t s -> b t s k", k=tokens.shape[-1]))  # (B, T', H'W', K*C)
    guess = torch.where(found[..., None], copied, colour)  # (B, T', H'W', K*C)
    err = (guess - tokens).square().mean(-1)  # (B, T', H'W')
    base = (colour - tokens).square().mean(-1)
    return {
        "copy_mse": err[hidden].mean().item(),
        "mean_colour_mse": base[hidden].mean().item(),
        "with_copy": found[hidden].float().mean().item(),
    }
