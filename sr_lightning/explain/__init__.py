"""Explaining SR generators (pure torch): Grad-CAM / HiResCAM heatmaps and Local Attribution Maps (LAM)."""

from sr_lightning.explain.gradcam import grad_cam, overlay, resolve_layer
from sr_lightning.explain.lam import diffusion_index, local_attribution_map

__all__ = ["diffusion_index", "grad_cam", "local_attribution_map", "overlay", "resolve_layer"]
