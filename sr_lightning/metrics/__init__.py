"""Image-quality metrics: the paper protocol (PSNR/SSIM, pure functions in :mod:`.functional` and torchmetrics
classes), LPIPS, and FID/KID between image sets with the Inception weights from the torch hub cache."""

from sr_lightning.metrics import functional
from sr_lightning.metrics.fid_kid import (
    INCEPTION_WEIGHTS_URL,
    InceptionFeatures,
    fid_metric,
    frechet_inception_distance,
    inception_weights_file,
    kernel_inception_distance,
    kid_metric,
)
from sr_lightning.metrics.image import PSNR, SSIM
from sr_lightning.metrics.lpips import LPIPS

__all__ = [
    "INCEPTION_WEIGHTS_URL",
    "LPIPS",
    "PSNR",
    "SSIM",
    "InceptionFeatures",
    "fid_metric",
    "frechet_inception_distance",
    "functional",
    "inception_weights_file",
    "kernel_inception_distance",
    "kid_metric",
]
