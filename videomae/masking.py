"""Which tubelets to hide: tube, random and frame masking (course notes, section
III.2; Tong et al. 2022, section 3.3 and Table 1c; the course notes' figure (b)
frame, (c) random, (d) tube).

A video is redundant in time: neighbouring frames are almost the same picture.
If a tubelet is hidden but the same place is visible one time step later, the
model can "copy from the neighbour" and learns nothing about motion. Tube
masking hides the SAME spatial positions in every time slice (a tube through
the whole clip), so the only way to fill a hole is to reason from what is
around it. With that, VideoMAE can hide 90-95% of the tokens (ImageMAE: 75%).

Every function returns a bool tensor (B, T'*H'*W'), True = masked, tokens in
(t, h, w) order like `tubelets.patchify`. The masked count is exact and the
same for every sample, so the visible tokens of a batch stack into one tensor.
"""
import torch
from einops import repeat


def _check(batch: int, grid: tuple[int, int, int], ratio: float) -> None:
    if len(grid) != 3 or min(grid) < 1:
        raise ValueError(f"grid must be (T', H', W') of positive ints, found {grid}")
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"mask ratio must be in [0, 1) so that something stays visible, found {ratio}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1, found {batch}")


def _shuffled(batch: int, length: int, n_masked: int, generator: torch.Generator | None) -> torch.Tensor:
    """(B, length) bool with exactly `n_masked` True per row, at random places."""
    noise = torch.rand(batch, length, generator=generator)  # (B, L)
    ranks = noise.argsort(dim=1).argsort(dim=1)  # rank of each position in its row
    return ranks < n_masked  # (B, L): the n_masked lowest-noise positions are masked


def tube_mask(
    batch: int, grid: tuple[int, int, int], ratio: float = 0.9, generator: torch.Generator | None = None
) -> torch.Tensor:
    """int(ratio * H'*W') positions of each frame slice, the same in every slice.

    16x224 clip, grid (8, 14, 14), ratio 0.9: 176 of 196 per slice -> 1408 of 1568
    masked, 160 visible. The official `TubeMaskingGenerator` in a few lines.
    """
    _check(batch, grid, ratio)
    t, h, w = grid
    one_slice = _shuffled(batch, h * w, int(ratio * h * w), generator)  # (B, H'*W')
    return repeat(one_slice, "b hw -> b (t hw)", t=t)  # (B, H'*W') -> (B, T'*H'*W')


def random_mask(
    batch: int, grid: tuple[int, int, int], ratio: float = 0.9, generator: torch.Generator | None = None
) -> torch.Tensor:
    """int(ratio * N) tokens drawn anywhere in space-time (ImageMAE's masking, in 3-D)."""
    _check(batch, grid, ratio)
    n = grid[0] * grid[1] * grid[2]
    return _shuffled(batch, n, int(ratio * n), generator)  # (B, N)


def frame_mask(
    batch: int, grid: tuple[int, int, int], ratio: float = 0.9, generator: torch.Generator | None = None
) -> torch.Tensor:
    """int(ratio * T') whole time slices hidden, the others fully visible."""
    _check(batch, grid, ratio)
    t, h, w = grid
    slices = _shuffled(batch, t, int(ratio * t), generator)  # (B, T'); ratio < 1 keeps >= 1 slice visible
    return repeat(slices, "b t -> b (t hw)", hw=h * w)  # (B, T') -> (B, T'*H'*W')


MASKS = {"tube": tube_mask, "random": random_mask, "frame": frame_mask}
