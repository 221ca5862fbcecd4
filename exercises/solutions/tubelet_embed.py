"""Solution: cut a clip into tubelets and embed them (VideoMAE paper, section 3.3)."""
import torch
from einops import rearrange
from torch import nn


def patchify(video: torch.Tensor, tubelet: tuple[int, int, int]) -> torch.Tensor:
    pt, ph, pw = tubelet
    # (B, C, T, H, W) -> (B, N, pt*ph*pw*C): tokens ordered t, h, w; a tubelet's numbers channel fastest
    return rearrange(video, "b c (t pt) (h ph) (w pw) -> b (t h w) (pt ph pw c)", pt=pt, ph=ph, pw=pw)


class TubeletEmbed(nn.Module):
    def __init__(self, tubelet: tuple[int, int, int] = (2, 16, 16), in_chans: int = 3, dim: int = 768):
        super().__init__()
        self.tubelet = tuple(tubelet)
        self.proj = nn.Conv3d(in_chans, dim, kernel_size=self.tubelet, stride=self.tubelet)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        x = self.proj(video)  # one cube per tubelet: (B, C, T, H, W) -> (B, D, T/pt, H/ph, W/pw)
        return rearrange(x, "b d t h w -> b (t h w) d")  # -> (B, N, D)
