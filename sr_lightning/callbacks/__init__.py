"""Callbacks that any SR LightningModule can use: paper-protocol metrics, FID/KID and LPIPS, image panels, the best and
worst images, Grad-CAM heatmaps, the run summary, and the progressive scale schedule."""

from sr_lightning.callbacks._image_log import log_image, run_folder
from sr_lightning.callbacks.checkpoint import SRCheckpoint
from sr_lightning.callbacks.distribution import FIDKIDMetrics
from sr_lightning.callbacks.gradcam import GradCAMImages
from sr_lightning.callbacks.images import ImagePanel, make_panel
from sr_lightning.callbacks.metrics import SRMetrics
from sr_lightning.callbacks.perceptual import LPIPSMetric
from sr_lightning.callbacks.predictions import PredictionWriter
from sr_lightning.callbacks.progressive import ProgressiveScale
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
