"""ImageNet's per-channel mean and std: the input normalisation of MAE and VideoMAE.

Both official codes normalise their inputs with these numbers (facebookresearch/mae
`main_pretrain.py`, `transforms.Normalize`; MCG-NJU/VideoMAE `datasets.py`,
`DataAugmentationForVideoMAE`: timm's IMAGENET_DEFAULT_MEAN / IMAGENET_DEFAULT_STD),
so every released MAE and VideoMAE checkpoint expects them.
They are written once, here in the lowest package (imagemae, videomae and finetune
import vit); everything else imports them.
"""
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # R, G, B, pixels in [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_stats(like: torch.Tensor, channel_dim: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std with `like`'s dtype and device, shaped to broadcast over `like`
    whose channels are at `channel_dim`: (1, 3, 1, 1, 1) for a (B, C, T, H, W)
    video, (3, 1, 1) for a (3, H, W) image with channel_dim=-3."""
    shape = [1] * like.dim()
    shape[channel_dim] = len(IMAGENET_MEAN)
    return like.new_tensor(IMAGENET_MEAN).view(shape), like.new_tensor(IMAGENET_STD).view(shape)


def normalize(pixels: torch.Tensor, channel_dim: int = 1) -> torch.Tensor:
    """[0, 1] pixels -> ImageNet-normalised, what the models (and MAE's loss target) see."""
    mean, std = imagenet_stats(pixels, channel_dim)
    return (pixels - mean) / std


def unnormalize(x: torch.Tensor, channel_dim: int = 1) -> torch.Tensor:
    """The inverse of `normalize`: back to [0, 1] pixels (not clamped)."""
    mean, std = imagenet_stats(x, channel_dim)
    return x * std + mean
