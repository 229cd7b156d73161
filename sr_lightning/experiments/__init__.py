"""Experiment tracking: W&B logging that falls back to offline, and ``sr-lightning compare`` of runs."""

from sr_lightning.experiments.compare import ComparisonRow, compare_runs, compare_to_folder
from sr_lightning.experiments.records import CurvePoint, RunRecord
from sr_lightning.experiments.runs import load_run, load_runs
from sr_lightning.experiments.wandb_logger import SRWandbLogger, WandbOptions, flatten_config
from sr_lightning.experiments.wandb_mode import WandbMode, resolve_wandb_mode, wandb_credentials

__all__ = [
    "ComparisonRow",
    "CurvePoint",
    "RunRecord",
    "SRWandbLogger",
    "WandbMode",
    "WandbOptions",
    "compare_runs",
    "compare_to_folder",
    "flatten_config",
    "load_run",
    "load_runs",
    "resolve_wandb_mode",
    "wandb_credentials",
]
