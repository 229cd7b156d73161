"""``RunSummary``: tell the user where the run lives and how the model compares with bicubic."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger

from sr_lightning.callbacks.image_log import run_folder
from sr_lightning.callbacks.images import ImagePanel

__all__ = ["RunSummary", "format_comparison"]

_ROWS = (
    ("PSNR-Y (dB)", "psnr_y", 2),
    ("SSIM-Y", "ssim_y", 4),
    ("PSNR-RGB (dB)", "psnr", 2),
    ("SSIM-RGB", "ssim", 4),
)


def format_comparison(metrics: dict[str, float], stage: str) -> str:
    """A small text table of ``<stage>/<metric>`` against ``<stage>/bicubic_<metric>`` with the gain."""
    lines = [f"{'':15}{'model':>10}{'bicubic':>10}{'gain':>10}"]
    for label, key, digits in _ROWS:
        model, bicubic = metrics.get(f"{stage}/{key}"), metrics.get(f"{stage}/bicubic_{key}")
        if model is None:
            continue
        row = f"{label:15}{model:>10.{digits}f}"
        if bicubic is not None:
            row += f"{bicubic:>10.{digits}f}{model - bicubic:>+10.{digits}f}"
        lines.append(row)
    return "\n".join(lines)


class RunSummary(Callback):
    """Print the run folder at the start of ``fit`` and, at the end of ``fit``/``validate``/``test``, the model's
    PSNR/SSIM (Y and RGB) next to bicubic and the files written: checkpoints, metrics CSV, image panel."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            print(f"\nRun folder: {run_folder(trainer).resolve()}\n", flush=True)

    def _print(self, trainer: L.Trainer, stage: str, title: str) -> None:
        if not trainer.is_global_zero:
            return
        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}
        if f"{stage}/psnr_y" not in metrics:
            return
        print(f"\n{title}\n{format_comparison(metrics, stage)}", flush=True)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        scale = getattr(pl_module, "scale", None)
        at = f" at x{scale}" if scale is not None else ""
        self._print(trainer, "val", f"Validation after {trainer.current_epoch} epochs{at} (Y: BT.601, border = scale):")
        if not trainer.is_global_zero:
            return
        files: list[tuple[str, str | Path | None]] = []
        for callback in trainer.callbacks:
            if isinstance(callback, ModelCheckpoint):
                files += [
                    ("last checkpoint", callback.last_model_path),
                    ("best checkpoint", callback.best_model_path),
                ]
            if isinstance(callback, ImagePanel):
                files.append(("image panel", callback.last_path))
        for logger in trainer.loggers:
            if isinstance(logger, CSVLogger):
                logger.save()
                files.append(("metrics CSV", Path(logger.log_dir) / "metrics.csv"))
        written = [(label, Path(path).resolve()) for label, path in files if path and Path(path).exists()]
        if written:
            print("Files written:\n" + "\n".join(f"  {label:16}{path}" for label, path in written), flush=True)
        print(f"Run folder: {run_folder(trainer).resolve()}", flush=True)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.state.fn == "validate":
            self._print(trainer, "val", "Validation (Y: BT.601, border = scale):")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._print(trainer, "test", "Test (Y: BT.601, border = scale):")
