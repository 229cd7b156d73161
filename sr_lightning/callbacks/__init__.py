"""Callbacks that any SR LightningModule can use: paper-protocol metrics, image panels, the run summary."""

from sr_lightning.callbacks.images import ImagePanel, make_panel
from sr_lightning.callbacks.metrics import SRMetrics
from sr_lightning.callbacks.summary import RunSummary, format_comparison

__all__ = ["ImagePanel", "RunSummary", "SRMetrics", "format_comparison", "make_panel"]
