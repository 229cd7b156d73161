"""Losses for super-resolution. Pure torch: nothing here imports Lightning.

L1 and MSE come from torch (``torch.nn.L1Loss``, ``torch.nn.MSELoss``) and are chosen in YAML by class path.
"""

from sr_lightning.losses.pixel import CharbonnierLoss

__all__ = ["CharbonnierLoss"]
