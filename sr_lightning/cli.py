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
import os
import sys
import traceback
from typing import Any

import yaml
from lightning.pytorch import Trainer
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from sr_lightning.callbacks import ImagePanel, PredictionWriter, RunSummary, SRCheckpoint, SRMetrics
from sr_lightning.data import SRDataModule
from sr_lightning.experiments.wandb_logger import SRWandbLogger, WandbOptions, cli_wandb_logger
from sr_lightning.precision import report_precision
from sr_lightning.resume import find_last_checkpoint, resume_checkpoint

__all__ = ["SRLightningCLI", "find_last_checkpoint", "main", "run"]

CHECKPOINT_DEFAULTS = {
    "checkpoint.monitor": "val/psnr_y",
    "checkpoint.mode": "max",
    "checkpoint.save_top_k": 1,
    "checkpoint.save_last": True,
    "checkpoint.filename": "best-epoch{epoch:03d}-psnr_y{val/psnr_y:.3f}",
    "checkpoint.auto_insert_metric_name": False,
}


def _has_precision_plugin(plugins: Any) -> bool:
    plugins = plugins if isinstance(plugins, list) else [plugins] if plugins else []
    names = [p if isinstance(p, str) else str(p.get("class_path") if hasattr(p, "get") else p) for p in plugins]
    return any("precision" in name.lower() for name in names)


def _move_optimizer_into_model(config: Any) -> None:
    """The top-level ``optimizer:``/``lr_scheduler:`` keys of LightningCLI become the module's own ``optimizer`` /
    ``scheduler`` (one idiom for every module of the library); setting both places is an error naming both."""
    init_args = config.get("model", {}).get("init_args") if hasattr(config.get("model"), "get") else None
    if init_args is None or "optimizer" not in init_args:
        return  # a module without an ``optimizer`` argument (SRGANModule's are optimizer_g/optimizer_d)
    for top, own in (("optimizer", "optimizer"), ("lr_scheduler", "scheduler")):
        value = config.get(top)
        if value is None:
            continue
        if init_args.get(own) is not None:
            raise ValueError(
                f"the config sets both the top-level `{top}:` ({value.get('class_path')}) and "
                f"`model.init_args.{own}` ({init_args[own].get('class_path')}): keep one, model.init_args.{own}."
            )
        init_args[own] = value
        config[top] = None


class SRLightningCLI(LightningCLI):
    """LightningCLI for any LightningModule (``model.class_path``) with :class:`SRDataModule` as data.

    ``--ckpt_path last`` resumes the newest usable run of the same config (see
    :func:`~sr_lightning.resume.find_last_checkpoint`); a checkpoint, named either way, must fit the config's model
    (:func:`~sr_lightning.resume.resume_checkpoint`). A config
    that leaves ``trainer.precision`` unset trains with the precision that suits the machine
    (:func:`~sr_lightning.precision.resolve_precision`: mixed on CUDA, 32 on a CPU); the run prints which and why.
    """

    def __init__(
        self,
        model_class: Any = None,
        datamodule_class: Any = SRDataModule,
        *args: Any,
        subclass_mode_model: bool = True,
        subclass_mode_data: bool = True,
        **kwargs: Any,
    ) -> None:
        """LightningCLI with the library's defaults: any LightningModule by ``class_path`` and any DataModule (the
        ``SRDataModule`` unless ``--data`` names another class, e.g. ``--data my_module.MyDataModule``)."""
        super().__init__(
            model_class,
            datamodule_class,
            *args,
            subclass_mode_model=subclass_mode_model,
            subclass_mode_data=subclass_mode_data,
            **kwargs,
        )

    def before_instantiate_classes(self) -> None:
        config = self.config.get(self.subcommand) if self.subcommand else self.config
        if config is None:
            return
        trainer = config.get("trainer")
        if trainer is not None and not _has_precision_plugin(trainer.get("plugins")):  # a plugin decides for itself
            trainer["precision"] = report_precision(trainer.get("precision"), trainer.get("accelerator"))
        _move_optimizer_into_model(config)
        if self.subcommand == "predict" and config.get("return_predictions") is None:
            config["return_predictions"] = False  # the PredictionWriter writes them; holding them all costs memory
        if config.get("ckpt_path"):
            # The model as a saved config.yaml spells it (class paths as strings), which is how checkpoints record it.
            dumped = yaml.safe_load(self._parser(self.subcommand).dump(config, skip_none=False))
            config["ckpt_path"] = resume_checkpoint(config, self.subcommand, model_config=dumped.get("model"))

    def _parse_ckpt_path(self) -> None:
        """Build the model from the config, not from the checkpoint's hyperparameters.

        LightningCLI replaces the config's model with the one a ``--ckpt_path`` file records (so an SRGAN checkpoint
        tested under an SRModule config would run the SRGAN, and ``--model...n_feats`` would be ignored), but only
        for a file, not for ``last``. Here every checkpoint is checked against the config instead
        (:func:`~sr_lightning.resume.check_checkpoint_fits`): a mismatch is an error that names both.
        """

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_lightning_class_args(SRCheckpoint, "checkpoint")
        parser.set_defaults(CHECKPOINT_DEFAULTS)
        parser.add_lightning_class_args(SRMetrics, "metrics")
        parser.add_lightning_class_args(ImagePanel, "image_panel")
        parser.add_lightning_class_args(RunSummary, "summary")
        parser.add_lightning_class_args(PredictionWriter, "predictions")
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
    return SRLightningCLI(
        save_config_kwargs={"overwrite": True},
        args=args,
    )


# Subcommands of `sr-lightning` besides LightningCLI's fit/validate/test/predict: one module of
# `sr_lightning.commands` each, with `main(argv)` (argument parsing plus one library call; see that package).
TOOLS = {
    "benchmark": "sr_lightning.commands.benchmark",
    "compare": "sr_lightning.commands.compare",
    "upscale": "sr_lightning.commands.upscale",
    "export": "sr_lightning.commands.export",
}


DEBUG_ENV = "SR_LIGHTNING_DEBUG"
_TOOL_HELP = {
    "benchmark": "score checkpoints or pretrained models on benchmark sets (Y channel, border = scale)",
    "compare": "compare runs (CSV folders, W&B runs): a table and the validation curves",
    "upscale": "upscale image files and folders with a checkpoint or a pretrained model (--model)",
    "export": "export a checkpoint's generator to safetensors or ONNX",
}


def overview() -> str:
    """What ``sr-lightning --help`` lists first: every subcommand, LightningCLI's and the tools."""
    tools = "\n".join(f"  {name:10}  {text}" for name, text in _TOOL_HELP.items())
    return (
        "usage: sr-lightning <command> [options]     (sr-lightning <command> --help: its options)\n\n"
        "Training and evaluation (LightningCLI, configured by YAML and --key value):\n"
        "  fit         train (--ckpt_path last resumes the newest run of the config)\n"
        "  validate    score a checkpoint on the validation images\n"
        "  test        score a checkpoint on data.test_dir\n"
        "  predict     upscale data.predict_dir's images into <run folder>/predictions\n\n"
        f"Tools:\n{tools}\n\n"
        f"Errors print the library's message alone; --debug (or {DEBUG_ENV}=1) prints the whole traceback.\n"
    )


def library_message(error: BaseException) -> str:
    """The message of the innermost exception in ``error``'s chain that the library raised (what is wrong and what
    to do), else of the innermost one: not the end of a jsonargparse traceback."""
    chain, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        chain.append(error)
        error = error.__cause__ or error.__context__
    ours = [e for e in chain if any("/sr_lightning/" in f.filename for f in traceback.extract_tb(e.__traceback__)[-1:])]
    chosen = ours[0] if ours else chain[-1]  # the library's outermost message carries its context (the file...)
    return str(chosen).strip() or type(chosen).__name__


def run(args: list[str] | None = None) -> None:
    """The console script: ``sr-lightning benchmark|compare|upscale|export ...`` runs a tool, anything else goes to
    LightningCLI. A failure ends with the library's own message (see :func:`library_message`) and exit status 1;
    ``--debug`` anywhere in the arguments, or ``SR_LIGHTNING_DEBUG=1``, lets the exception through with its traceback.

    Returns nothing (a returned object would become the exit status).
    """
    argv = sys.argv[1:] if args is None else list(args)
    debug = os.environ.get(DEBUG_ENV) == "1" or "--debug" in argv
    if "--debug" in argv:
        argv.remove("--debug")
        if args is None:  # LightningCLI reads sys.argv itself
            sys.argv = [sys.argv[0], *argv]
    if not argv or argv[0] in ("-h", "--help"):
        print(overview(), flush=True)
        if not argv:
            return
    try:
        if argv[0] in TOOLS:
            importlib.import_module(TOOLS[argv[0]]).main(argv[1:])
        else:
            main(None if args is None else argv)
    except Exception as error:
        if debug:
            raise
        raise SystemExit(
            f"sr-lightning: error: {library_message(error)}\n(the whole traceback: add --debug, or set {DEBUG_ENV}=1)"
        ) from None


if __name__ == "__main__":
    run()
