"""Solution: VideoMAE's tube mask (VideoMAE paper, section 3.3)."""
import torch
from einops import repeat


def tube_mask(batch: int, grid: tuple[int, int, int], ratio: float = 0.9,
              generator: torch.Generator | None = None) -> torch.Tensor:
    t, h, w = grid
    n_masked = int(ratio * h * w)  # per slice: 176 of 196 at 90%
    noise = torch.rand(batch, h * w, generator=generator)  # (B, H'*W'): one number per place
    ranks = noise.argsort(dim=1).argsort(dim=1)  # (B, H'*W'): the rank of each place's noise in its row
    one_slice = ranks < n_masked  # (B, H'*W'): exactly n_masked True per row, at random places
    return repeat(one_slice, "b hw -> b (t hw)", t=t)  # the same slice at every time step: (B, T'*H'*W')
