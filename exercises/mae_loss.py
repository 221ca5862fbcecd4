"""Exercise mae_loss: what MAE predicts, and where the loss is counted.

The decoder predicts every patch's p*p*3 pixel values. The target (MAE, He et al.
2022, section 3 "Reconstruction target", and table 1d) is the patch's pixels,
NORMALISED PER PATCH: minus the mean and divided by the std of all its p*p*3
numbers together, so the model learns local structure, not brightness.

    images (B, 3, H, W) -> target (B, N, p*p*3)    same order as patchify: (ph pw c)
    pred   (B, N, p*p*3), mask (B, N) bool True = masked
    loss = mean over the MASKED patches of the per-patch mean squared error

Counting the visible patches would reward copying the input, which the encoder
already saw. Explained in docs/02_imagemae.md (II.3). (VideoMAE normalises each
channel separately; see videomae/pretrain.py: reconstruction_target.)

Check: python -m exercises check mae_loss
Stuck? `python -m exercises hint mae_loss` gives a hint, one step at a time:
the idea first, the code last.
"""
import torch
from einops import rearrange  # noqa: F401  (you will want it)


def mae_target(images: torch.Tensor, p: int, norm_pix: bool = True) -> torch.Tensor:
    """(B, C, H, W) -> (B, N, p*p*C); with norm_pix, (x - mean) / sqrt(var + 1e-6) per patch.

    The numbers in patchify's order; the variance unbiased, as the official code.
    """
    raise NotImplementedError("exercise mae_loss: write me (mae_target)")


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """pred, target (B, N, K), mask (B, N) bool -> scalar: the MSE over masked patches only."""
    raise NotImplementedError("exercise mae_loss: write me (mae_loss)")
