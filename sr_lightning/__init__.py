"""sr_lightning: PyTorch Lightning building blocks for single-image super-resolution.

The packages follow the data flow: :mod:`~sr_lightning.data` (images, MATLAB bicubic, the DataModule) ->
:mod:`~sr_lightning.models` (generators, pure torch) and :mod:`~sr_lightning.losses` (pure torch) ->
:mod:`~sr_lightning.lit` (LightningModules) -> :mod:`~sr_lightning.callbacks` (metrics from
:mod:`~sr_lightning.metrics`, images, :mod:`~sr_lightning.explain` heatmaps) -> loggers. :mod:`~sr_lightning.inference`
loads, tiles and self-ensembles trained generators; :mod:`~sr_lightning.evaluation` scores them on benchmark sets;
:mod:`~sr_lightning.cli` is the ``sr-lightning`` command.
"""

from sr_lightning.callbacks import (
    BestWorstImages,
    FIDKIDMetrics,
    GradCAMImages,
    ImagePanel,
    LPIPSMetric,
    LPIPSMonitor,
    ProgressiveScale,
    RunSummary,
    SRMetrics,
)
from sr_lightning.data import SRDataModule, imresize
from sr_lightning.lit import ModelEMA, SRGANModule, SRModule
from sr_lightning.losses import (
    AdversarialLoss,
    CharbonnierLoss,
    LPIPSLoss,
    SobelEdgeLoss,
    SSIMLoss,
    VGGPerceptualLoss,
    WeightedLoss,
)
from sr_lightning.models import (
    EDSR,
    EDSRMSA,
    AttentionSRGANGenerator,
    SESRResNet,
    SRGANDiscriminator,
    SRResNet,
)

__version__ = "0.1.0"

__all__ = [
    "EDSR",
    "EDSRMSA",
    "AdversarialLoss",
    "AttentionSRGANGenerator",
    "BestWorstImages",
    "CharbonnierLoss",
    "FIDKIDMetrics",
    "GradCAMImages",
    "ImagePanel",
    "LPIPSLoss",
    "LPIPSMetric",
    "LPIPSMonitor",
    "ModelEMA",
    "ProgressiveScale",
    "RunSummary",
    "SESRResNet",
    "SRDataModule",
    "SRGANDiscriminator",
    "SRGANModule",
    "SRMetrics",
    "SRModule",
    "SRResNet",
    "SSIMLoss",
    "SobelEdgeLoss",
    "VGGPerceptualLoss",
    "WeightedLoss",
    "__version__",
    "imresize",
]
