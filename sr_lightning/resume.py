"""Which checkpoint a run resumes from (``--ckpt_path last`` or a file), and whether it fits the run's config.

One rule for both ways of naming a checkpoint: the file must be readable (and, to resume training, complete), and the
networks it holds must be the ones the config builds. The model is always built from the config; a checkpoint of
another model, architecture or width is an error that names both, never a silent switch to the checkpoint's model.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sr_lightning.inference.checkpoint import read_checkpoint
from sr_lightning.lit.checkpoint_io import remove_stale_temporaries

__all__ = ["check_checkpoint_fits", "find_last_checkpoint", "resume_checkpoint"]

# What a checkpoint needs so that `fit` can continue from it exactly (Lightning writes them all).
_RESUME_KEYS = ("state_dict", "optimizer_states", "loops", "epoch", "global_step")
# The module arguments whose weights are in the state dict: the config and the checkpoint must agree on them.
_NETWORKS = ("generator", "discriminator")
_LIGHTNING_NAMES = ("best", "hpc")


def _get(config: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if config is None:
            return None
        config = config.get(key) if hasattr(config, "get") else getattr(config, key, None)
    return config


def _runs_root(config: Any) -> Path:
    dirpath = _get(config, "checkpoint.dirpath")
    if dirpath:
        return Path(dirpath)
    logger_args = _get(config, "trainer.logger.init_args") or {}
    save_dir = _get(logger_args, "save_dir") or _get(config, "trainer.default_root_dir") or "."
    return Path(save_dir) / (_get(logger_args, "name") or "lightning_logs")


def _unusable(path: Path, resume: bool) -> str | None:
    """Why ``path`` cannot be resumed from, or None."""
    try:
        checkpoint = read_checkpoint(path, mmap=True)
    except (OSError, ValueError) as error:
        return str(error)
    missing = [key for key in _RESUME_KEYS if key not in checkpoint] if resume else []
    return f"{path} is incomplete: it has no {', '.join(missing)}" if missing else None


def find_last_checkpoint(config: Any, resume: bool = True) -> Path:
    """The newest usable ``last.ckpt`` of the runs this config writes (``--ckpt_path last``).

    Lightning looks for ``last`` only in the current run's checkpoint folder, which is a new ``version_N`` for
    every run, so an interrupted run would silently start again from scratch. Here ``last`` means the newest
    ``last.ckpt`` under ``checkpoint.dirpath`` if set, else under the logger's ``save_dir/name`` (else
    ``default_root_dir/lightning_logs``). A candidate that cannot be read (or, with ``resume``, lacks what resuming
    needs) is passed over for the next newest, and the choice is printed with the reason. Temporary files that
    killed saves left under the folder are removed. The resumed run logs to a new version folder, so nothing of the
    interrupted run's files (CSV, panels, checkpoints) is overwritten.

    Raises:
        FileNotFoundError: naming the folder searched when it holds no usable ``last.ckpt`` (and why each was not).
    """
    root = _runs_root(config)
    found = sorted(root.glob("**/last.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True) if root.is_dir() else []
    for folder in {path.parent for path in root.glob("**/.*.tmp")} if root.is_dir() else set():
        remove_stale_temporaries(folder)
    skipped = []
    for path in found:
        reason = _unusable(path, resume)
        if reason is None:
            if skipped:
                print(f"--ckpt_path last: passed over {len(skipped)} newer unusable last.ckpt:", flush=True)
                print("\n".join(f"  {why}" for why in skipped), flush=True)
            return path
        skipped.append(reason)
    why = "".join(f"\n  {reason}" for reason in skipped)
    raise FileNotFoundError(
        f"--ckpt_path last: no usable last.ckpt under {root.resolve()}{why or ''}; pass a checkpoint's path instead."
    )


def _spec(value: Any) -> dict[str, Any] | None:
    """``{"class_path", "init_args"}`` of a network's config (a dict or a jsonargparse Namespace), or None."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, Mapping) and value.get("class_path"):
        return {"class_path": value["class_path"], "init_args": dict(value.get("init_args") or {})}
    return None


def _differences(config: dict[str, Any], saved: dict[str, Any], prefix: str) -> list[str]:
    lines = []
    if config["class_path"].rsplit(".", 1)[-1] != saved["class_path"].rsplit(".", 1)[-1]:
        return [f"{prefix}: {config['class_path']} in the config, {saved['class_path']} in the checkpoint"]
    for key in sorted(set(config["init_args"]) & set(saved["init_args"])):
        mine, theirs = config["init_args"][key], saved["init_args"][key]
        if _spec(mine) and _spec(theirs):
            lines += _differences(_spec(mine), _spec(theirs), f"{prefix}.{key}")
        elif mine != theirs and not (isinstance(mine, (list, tuple)) and list(mine) == list(theirs or [])):
            lines.append(f"{prefix}.{key}: {mine!r} in the config, {theirs!r} in the checkpoint")
    return lines


def check_checkpoint_fits(model_config: Any, checkpoint: Mapping[str, Any], path: str | Path) -> None:
    """Raise if the checkpoint at ``path`` holds other networks than ``model_config`` builds.

    Compares the LightningModule's class and, for its ``generator`` and ``discriminator``, the class and every
    argument recorded on both sides. Other arguments (losses, learning rates, EMA decay) may differ: changing them
    when resuming or testing is legitimate.

    Raises:
        ValueError: listing every difference, with the value in the config and in the checkpoint.
    """
    config = _spec(model_config)
    hparams = dict(checkpoint.get("hyper_parameters") or {})
    saved_class = hparams.get("_class_path")
    if config is None or saved_class is None:
        return  # a checkpoint written outside the CLI records no class: the state dict's keys will tell
    differences = _differences(
        {"class_path": config["class_path"], "init_args": {}}, {"class_path": saved_class, "init_args": {}}, "model"
    )
    for name in _NETWORKS:
        mine, theirs = _spec(config["init_args"].get(name)), _spec(hparams.get(name))
        if mine and theirs:
            differences += _differences(mine, theirs, f"model.init_args.{name}")
    if differences:
        raise ValueError(
            f"the checkpoint {path} was trained with another model than this config builds:\n  "
            + "\n  ".join(differences)
            + "\nUse the config of the run that wrote it (its config.yaml), or another checkpoint."
        )


def resume_checkpoint(config: Any, subcommand: str | None, model_config: Any = None) -> str | None:
    """Resolve and check ``config.ckpt_path`` for ``subcommand``: ``last`` becomes a file, any file must be readable
    (complete for ``fit``) and fit the model config (``model_config``, the config's ``model`` serialized as in a
    saved config.yaml; default ``config.model``). Returns the path (or None) and prints the one it resumes."""
    ckpt_path = config.get("ckpt_path")
    if not ckpt_path or ckpt_path in _LIGHTNING_NAMES or str(ckpt_path).startswith("registry") or "://" in ckpt_path:
        return ckpt_path  # Lightning's own names ("best" of this trainer, "hpc"...) and remote files: Lightning's
    resume = subcommand == "fit"
    if ckpt_path == "last":
        ckpt_path = str(find_last_checkpoint(config, resume=resume))
        print(f"Resuming from {ckpt_path}" if resume else f"Using {ckpt_path}", flush=True)
    elif (reason := _unusable(Path(ckpt_path), resume)) is not None:
        raise ValueError(f"--ckpt_path: {reason}")
    model_config = config.get("model") if model_config is None else model_config
    check_checkpoint_fits(model_config, read_checkpoint(ckpt_path, mmap=True), ckpt_path)
    return ckpt_path
