"""The ``sr-lightning`` command: a LightningCLI with the library's callbacks and checkpoint defaults.

    sr-lightning fit --config examples/configs/quickstart.yaml
    sr-lightning test --config runs/quickstart/version_0/config.yaml --ckpt_path <best.ckpt> \\
        --data.test_dir ../shared/benchmarks/Set5
    sr-lightning benchmark --ckpt <last.ckpt> --data ../shared/benchmarks --sets Set5 --scale 4

Besides LightningCLI's own keys (``trainer``, ``model``, ``data``, ``optimizer``, ``lr_scheduler``,
``ckpt_path``), the config has ``checkpoint`` (an :class:`~sr_lightning.callbacks.SRCheckpoint`: ``last.ckpt``
every epoch, written before and after validation, and the best by ``val/psnr_y``, never a NaN), ``metrics``
(:class:`~sr_lightning.callbacks.SRMetrics`), ``image_panel`` (:class:`~sr_lightning.callbacks.ImagePanel`),
``summary`` (:class:`~sr_lightning.callbacks.RunSummary`) and
``wandb`` (:class:`~sr_lightning.experiments.WandbOptions`): ``--wandb.project NAME`` logs the run to W&B as well,
next to the config's own logger, offline when W&B cannot be reached::

    sr-lightning fit --config examples/configs/quickstart.yaml --wandb.project sr-lightning [--wandb.mode offline]
"""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path
from typing import Any

import yaml
from lightning.pytorch import Trainer
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from sr_lightning.callbacks import ImagePanel, RunSummary, SRCheckpoint, SRMetrics
from sr_lightning.data import SRDataModule
from sr_lightning.experiments.wandb_logger import SRWandbLogger, WandbOptions, cli_wandb_logger
from sr_lightning.precision import report_precision

__all__ = ["SRLightningCLI", "find_last_checkpoint", "main", "run"]

CHECKPOINT_DEFAULTS = {
    "checkpoint.monitor": "val/psnr_y",
    "checkpoint.mode": "max",
    "checkpoint.save_top_k": 1,
    "checkpoint.save_last": True,
    "checkpoint.filename": "best-epoch{epoch:03d}-psnr_y{val/psnr_y:.3f}",
    "checkpoint.auto_insert_metric_name": False,
}


def _get(config: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if config is None:
            return None
        config = config.get(key) if hasattr(config, "get") else getattr(config, key, None)
    return config


def find_last_checkpoint(config: Any) -> Path:
    """The newest ``last.ckpt`` of the runs this config writes (``--ckpt_path last``).

    Lightning looks for ``last`` only in the current run's checkpoint folder, which is a new ``version_N`` for
    every run, so an interrupted run would silently start again from scratch. Here ``last`` means the newest
    ``last.ckpt`` under ``checkpoint.dirpath`` if set, else under the logger's ``save_dir/name`` (else
    ``default_root_dir/lightning_logs``). The resumed run logs to a new version folder, so nothing of the
    interrupted run's files (CSV, panels, checkpoints) is overwritten.

    Raises:
        FileNotFoundError: naming the folder searched when it holds no ``last.ckpt``.
    """
    dirpath = _get(config, "checkpoint.dirpath")
    if dirpath:
        root = Path(dirpath)
    else:
        logger_args = _get(config, "trainer.logger.init_args") or {}
        save_dir = _get(logger_args, "save_dir") or _get(config, "trainer.default_root_dir") or "."
        root = Path(save_dir) / (_get(logger_args, "name") or "lightning_logs")
    found = sorted(root.glob("**/last.ckpt"), key=lambda p: p.stat().st_mtime) if root.is_dir() else []
    if not found:
        raise FileNotFoundError(
            f"--ckpt_path last: no last.ckpt under {root.resolve()}; pass the checkpoint's path instead."
        )
    return found[-1]


def _has_precision_plugin(plugins: Any) -> bool:
    plugins = plugins if isinstance(plugins, list) else [plugins] if plugins else []
    names = [str(_get(p, "class_path") or p) if not isinstance(p, str) else p for p in plugins]
    return any("precision" in name.lower() for name in names)


class SRLightningCLI(LightningCLI):
    """LightningCLI for any LightningModule (``model.class_path``) with :class:`SRDataModule` as data.

    ``--ckpt_path last`` resumes the newest run of the same config (see :func:`find_last_checkpoint`). A config
    that leaves ``trainer.precision`` unset trains with the precision that suits the machine
    (:func:`~sr_lightning.precision.resolve_precision`: mixed on CUDA, 32 on a CPU); the run prints which and why.
    """

    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        if config is None:
            return
        trainer = config.get("trainer")
        if trainer is not None and not _has_precision_plugin(trainer.get("plugins")):  # a plugin decides for itself
            trainer["precision"] = report_precision(trainer.get("precision"), trainer.get("accelerator"))
        if config.get("ckpt_path") == "last":
            config["ckpt_path"] = str(find_last_checkpoint(config))
            print(f"Resuming from {config['ckpt_path']}", flush=True)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(SRCheckpoint, "checkpoint")
        parser.set_defaults(CHECKPOINT_DEFAULTS)
        parser.add_lightning_class_args(SRMetrics, "metrics")
        parser.add_lightning_class_args(ImagePanel, "image_panel")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_class_arguments(WandbOptions, "wandb", instantiate=False)

    def instantiate_trainer(self, **kwargs: Any) -> Trainer:
        """The config's trainer, plus a W&B logger after its own loggers when ``wandb.project`` is set."""
        trainer = super().instantiate_trainer(**kwargs)
        options = self._get(self.config, "wandb")
        if options is not None and options.get("project"):
            config = self.config.get(str(self.subcommand), self.config)
            dumped = yaml.safe_load(self._parser(self.subcommand).dump(config, skip_none=False))
            logger = cli_wandb_logger(options.as_dict(), trainer.loggers, trainer.default_root_dir, dumped)
            trainer.loggers = [*trainer.loggers, logger]
        return trainer

    def _finish_wandb(self) -> None:
        for logger in self.trainer.loggers:
            if isinstance(logger, SRWandbLogger):
                logger.finish()

    # One subcommand per `sr-lightning` call: its W&B run ends with it.
    after_fit = after_validate = after_test = after_predict = _finish_wandb


def main(args: list[str] | None = None) -> SRLightningCLI:
    """Entry point of the ``sr-lightning`` console script."""
    # The top-level `optimizer:`/`lr_scheduler:` keys replace the module's own default on purpose.
    warnings.filterwarnings("ignore", message=r".*configure_optimizers` will be overridden by.*")
    return SRLightningCLI(
        datamodule_class=SRDataModule,
        subclass_mode_model=True,
        save_config_kwargs={"overwrite": True},
        args=args,
    )


# Subcommands of `sr-lightning` besides LightningCLI's fit/validate/test/predict: each module has `main(argv)`.
TOOLS = {
    "benchmark": "sr_lightning.evaluation.command",
    "compare": "sr_lightning.experiments.compare",
    "upscale": "sr_lightning.inference.command",
    "export": "sr_lightning.inference.export",
}


def run(args: list[str] | None = None) -> None:
    """The console script: ``sr-lightning benchmark|compare|upscale|export ...`` runs a tool, anything else goes to
    LightningCLI.

    Returns nothing (a returned object would become the exit status).
    """
    argv = sys.argv[1:] if args is None else args
    if argv and argv[0] in TOOLS:
        importlib.import_module(TOOLS[argv[0]]).main(argv[1:])
    else:
        main(args)  # None: LightningCLI reads sys.argv itself


if __name__ == "__main__":
    run()
