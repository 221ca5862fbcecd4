"""Why tube masking: the "copy from the neighbouring frame" cheat (seed III.2;
Tong et al. 2022, section 3.2 "temporal redundancy" and "temporal correlation").

A predictor with no learning at all: for each hidden tubelet, copy the pixels
at the SAME spatial position from the nearest time slice where that position is
visible; if there is none, guess the clip's average colour. Under random masking
most holes have such a neighbour and the cheat scores well, so a network could
learn to copy and stop there. Under tube masking no hole ever has one: the
cheat collapses to the average-colour guess and only real reasoning helps.
"""
import torch
from einops import rearrange

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
    guess = colour.expand_as(tokens).clone()  # (B, T', H'W', K*C)
    found = torch.zeros_like(hidden)
    index = torch.arange(t)
    for d in range(1, t):  # nearest first: the source slice is t - shift
        for shift in (d, -d):
            source = torch.roll(tokens, shifts=shift, dims=1)
            usable = torch.roll(visible, shifts=shift, dims=1) & ((index - shift >= 0) & (index - shift < t))[None, :, None]
            take = usable & ~found & hidden
            guess[take] = source[take]
            found |= take
    err = (guess - tokens).square().mean(-1)  # (B, T', H'W')
    base = (colour - tokens).square().mean(-1)
    return {
        "copy_mse": err[hidden].mean().item(),
        "mean_colour_mse": base[hidden].mean().item(),
        "with_copy": found[hidden].float().mean().item(),
    }
