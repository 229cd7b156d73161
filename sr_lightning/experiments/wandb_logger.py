"""A ``WandbLogger`` that never blocks or crashes a run: online when W&B can be reached, else offline, said once.

    sr-lightning fit --config examples/configs/quickstart.yaml --wandb.project sr-lightning

Without credentials (``WANDB_API_KEY`` or a ``.netrc`` entry for the W&B host) or when the host does not answer a
socket connect within a few seconds, the run is written offline next to the CSV log and a line says where and how
to upload it later (``wandb sync <folder>``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.utilities import rank_zero_only
from torch import nn

from sr_lightning.experiments.wandb_mode import WandbMode, resolve_wandb_mode

__all__ = ["SRWandbLogger", "WandbOptions", "cli_wandb_logger", "count_parameters", "flatten_config"]


@dataclass
class WandbOptions:
    """The ``wandb`` group of ``sr-lightning``: ``--wandb.project NAME`` logs the run to W&B too.

    Args:
        project: the W&B project; ``None`` (default) leaves W&B off.
        mode: ``auto`` is online when credentials are found and the W&B host answers, else offline.
        entity: the W&B user or team (default: the account's default entity).
        name: the run name (default: the first logger's ``<name>/version_<n>``, e.g. ``quickstart/version_0``).
        group: a W&B run group.
        tags: W&B tags.
        log_model: upload checkpoints as artifacts: ``True`` at the end, ``"all"`` as they are written.
    """

    project: str | None = None
    mode: WandbMode = "auto"
    entity: str | None = None
    name: str | None = None
    group: str | None = None
    tags: list[str] | None = None
    log_model: bool | Literal["all"] = False


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts to one level with dotted keys, so W&B can group runs by e.g. ``data.init_args.scale``.

    >>> flatten_config({"model": {"class_path": "SRModule", "init_args": {"ema_decay": None}}, "data": {"scale": 2}})
    {'model.class_path': 'SRModule', 'model.init_args.ema_decay': None, 'data.scale': 2}
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= flatten_config(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def count_parameters(module: nn.Module) -> int:
    """Parameters of the generator (``module.generator`` when there is one), as benchmark tables report them."""
    generator = getattr(module, "generator", None)
    target = generator if isinstance(generator, nn.Module) else module
    return sum(p.numel() for p in target.parameters())


class SRWandbLogger(WandbLogger):
    """``WandbLogger`` whose mode is decided up front (see :func:`resolve_wandb_mode`), with a bounded
    ``wandb.init`` and the generator's parameter count in the run config as ``model/params``.

    In ``auto`` mode an online ``wandb.init`` that fails anyway (bad key, slow server) is retried offline, and
    the switch is printed. An offline run prints one line with its folder and the ``wandb sync`` command, and gets
    the ``files/config.yaml`` W&B itself writes only for online runs, so its config can be read back (by
    ``sr-lightning compare``) without W&B's binary transaction log.

    Args:
        project: the W&B project.
        mode: ``auto``, ``online`` or ``offline``.
        save_dir: the folder that gets ``wandb/`` (``WANDB_DIR``, when set, wins).
        name: the run's display name.
        log_model: checkpoints as artifacts (``True``: at the end; ``"all"``: as written). Offline runs keep them
            for ``wandb sync``.
        connect_timeout: seconds the ``auto`` check waits for the W&B host.
        init_timeout: seconds ``wandb.init`` may take before it fails.
        **kwargs: more ``wandb.init`` arguments (``entity``, ``tags``, ``group``, ``config``...).
    """

    def __init__(
        self,
        *,
        project: str,
        mode: WandbMode = "auto",
        save_dir: str | Path = ".",
        name: str | None = None,
        log_model: bool | Literal["all"] = False,
        connect_timeout: float = 3.0,
        init_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        import wandb

        self.requested_mode = mode
        self.mode, self.mode_reason = resolve_wandb_mode(mode, connect_timeout=connect_timeout)
        save_dir = os.environ.get("WANDB_DIR") or save_dir
        Path(save_dir).mkdir(parents=True, exist_ok=True)
        settings = kwargs.pop("settings", None) or wandb.Settings(init_timeout=init_timeout)
        # `mode=` rather than Lightning's `offline=True`: that sets WANDB_MODE for the whole process and forbids
        # log_model, while an offline wandb run keeps artifacts for `wandb sync`.
        super().__init__(
            project=project,
            save_dir=str(save_dir),
            name=name,
            log_model=log_model,
            mode=self.mode,
            settings=settings,
            **kwargs,
        )
        self._wandb_init.pop("anonymous", None)  # deprecated in wandb: passing even None prints a warning

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """The arguments ``wandb.init`` gets when the run starts (``name``, ``dir``, ``mode``, ``config``...)."""
        return dict(self._wandb_init)

    @property
    def experiment(self) -> Any:
        if self._experiment is not None:
            return self._experiment
        try:
            run = WandbLogger.experiment.fget(self)  # type: ignore[attr-defined]
        except Exception as error:
            if self.requested_mode != "auto" or self.mode != "online":
                raise
            self.mode, self.mode_reason = "offline", f"online wandb.init failed: {type(error).__name__}: {error}"
            self._wandb_init["mode"] = "offline"
            run = WandbLogger.experiment.fget(self)  # type: ignore[attr-defined]
        self._announce(run)
        self._write_offline_config()
        return run

    @rank_zero_only
    def _announce(self, run: Any) -> None:
        folder = Path(getattr(run, "dir", "") or ".").resolve().parent  # run.dir is the run folder's files/
        if self.mode == "offline":
            print(f"W&B logs offline to {folder} ({self.mode_reason}); upload later: wandb sync {folder}", flush=True)
        elif self.mode == "disabled":
            print(f"W&B is disabled ({self.mode_reason}): nothing is logged to W&B.", flush=True)

    @rank_zero_only
    def _write_offline_config(self) -> None:
        """Write an offline run's config as W&B writes it for online runs: ``files/config.yaml``, one
        ``key: {value: ...}`` entry per config key (replaced whole at each call, never left half-written)."""
        run = self._experiment
        if run is None or not getattr(run, "dir", None) or not getattr(run, "offline", self.mode == "offline"):
            return
        config = {key: {"value": value} for key, value in run.config.as_dict().items() if key != "_wandb"}
        files = Path(run.dir)
        files.mkdir(parents=True, exist_ok=True)
        partial = files / "config.yaml.partial"
        partial.write_text(yaml.safe_dump(json.loads(json.dumps(config, default=str)), sort_keys=False))
        partial.replace(files / "config.yaml")

    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        super().log_hyperparams(params)
        self._write_offline_config()

    @rank_zero_only
    def log_graph(self, model: nn.Module, input_array: Any = None) -> None:
        """Lightning calls this at the start of every fit/validate/test: record ``model/params``."""
        self.experiment.config.update({"model/params": count_parameters(model)}, allow_val_change=True)
        self._write_offline_config()

    @rank_zero_only
    def finish(self) -> None:
        """Finish the W&B run (writes its last records), when one was started."""
        if self._experiment is not None:
            self._write_offline_config()
            self._experiment.finish()


def cli_wandb_logger(
    options: dict[str, Any], loggers: list[Any], default_root_dir: str, config: dict[str, Any]
) -> SRWandbLogger:
    """The W&B logger ``sr-lightning --wandb.project ...`` adds next to the config's own loggers.

    Its files go to the first logger's ``save_dir`` (``runs/wandb/...`` for the example configs) and its name is
    that logger's ``<name>/version_<n>``, so a W&B run and its CSV folder are easy to match. ``config`` (the whole
    LightningCLI config) becomes the flat W&B config: ``model.init_args.generator.class_path``,
    ``data.init_args.scale``...
    """
    first = loggers[0] if loggers else None
    name = options.get("name")
    if name is None and first is not None and first.name is not None:
        version = first.version
        name = f"{first.name}/{version if isinstance(version, str) else f'version_{version}'}"
    flat = flatten_config({key: value for key, value in config.items() if key not in ("wandb", "config")})
    if name is not None:
        flat["run/name"] = name
    if first is not None and getattr(first, "log_dir", None):
        flat["run/log_dir"] = str(first.log_dir)
    return SRWandbLogger(
        project=options["project"],
        mode=options.get("mode") or "auto",
        save_dir=(first.save_dir if first is not None and first.save_dir else None) or default_root_dir,
        name=name,
        log_model=options.get("log_model") or False,
        entity=options.get("entity"),
        group=options.get("group"),
        tags=options.get("tags"),
        config=flat,
    )
