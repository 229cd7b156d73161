"""Paper-protocol image-quality metrics: pure functions in :mod:`.functional` and torchmetrics classes."""

from sr_lightning.metrics import functional
from sr_lightning.metrics.image import PSNR, SSIM

__all__ = ["PSNR", "SSIM", "functional"]
