"""Callbacks that any SR LightningModule can use: paper-protocol metrics, image panels, the run summary, and the
progressive scale schedule."""

from sr_lightning.callbacks.images import ImagePanel, make_panel
from sr_lightning.callbacks.metrics import SRMetrics
from sr_lightning.callbacks.progressive import ProgressiveScale
from sr_lightning.callbacks.summary import RunSummary, format_comparison

__all__ = ["ImagePanel", "ProgressiveScale", "RunSummary", "SRMetrics", "format_comparison", "make_panel"]
