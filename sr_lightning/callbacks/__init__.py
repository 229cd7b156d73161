"""Callbacks that any SR LightningModule can use: paper-protocol metrics, FID/KID and LPIPS, image panels, the best and
worst images, Grad-CAM heatmaps, the run summary, and the progressive scale schedule.

``LPIPSMetric`` is the deprecated old name of :class:`LPIPSMonitor`; the modules ``metrics``, ``distribution`` and
``perceptual`` are deprecated shims of ``psnr_ssim``, ``fid_kid`` and ``lpips``."""

from sr_lightning.callbacks.checkpoint import SRCheckpoint
from sr_lightning.callbacks.fid_kid import FIDKIDMetrics
from sr_lightning.callbacks.gradcam import GradCAMImages
from sr_lightning.callbacks.image_log import log_image, run_folder
from sr_lightning.callbacks.images import ImagePanel, make_panel
from sr_lightning.callbacks.lpips import LPIPSMetric, LPIPSMonitor
from sr_lightning.callbacks.predictions import PredictionWriter
from sr_lightning.callbacks.progressive import ProgressiveScale
from sr_lightning.callbacks.psnr_ssim import SRMetrics
from sr_lightning.callbacks.ranked import BestWorstImages
from sr_lightning.callbacks.summary import RunSummary, format_comparison
from sr_lightning.callbacks.timing import ElapsedTime

__all__ = [
    "BestWorstImages",
    "ElapsedTime",
    "FIDKIDMetrics",
    "GradCAMImages",
    "ImagePanel",
    "LPIPSMetric",
    "LPIPSMonitor",
    "PredictionWriter",
    "ProgressiveScale",
    "RunSummary",
    "SRCheckpoint",
    "SRMetrics",
    "format_comparison",
    "log_image",
    "make_panel",
    "run_folder",
]
