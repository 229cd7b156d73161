"""Reading W&B runs into :class:`RunRecord`: local run folders (offline or not) and runs of the public API."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sr_lightning.experiments import wandb_mode
from sr_lightning.experiments._record import RunRecord, build_record
from sr_lightning.experiments._wandb_file import read_records

__all__ = ["read_wandb_api_run", "read_wandb_folder"]


def _items(items: Any) -> dict[str, Any]:
    """``{key: value}`` of config/summary/history items; the parts of a ``nested_key`` (the fields of a logged
    image, say) become nested dicts, so an image is one non-scalar value, never a curve of its width."""
    out: dict[str, Any] = {}
    for item in items:
        *parents, last = [item.key] if item.key else list(item.nested_key)
        target = out
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        try:
            target[last] = json.loads(item.value_json)
        except json.JSONDecodeError:
            target[last] = item.value_json
    return out


def read_wandb_folder(path: str | Path) -> RunRecord:
    """A local W&B run from its transaction log: ``wandb/offline-run-*/`` (or ``run-*/``) or its ``.wandb`` file.

    Config: the ``run`` record's config and every later ``config`` update (``sr-lightning`` logs the whole CLI
    config with dotted keys, Lightning the module's hparams, :class:`SRWandbLogger` ``model/params``). Curves: the
    ``history`` rows, by their ``trainer/global_step``. Wall time: the largest ``_runtime`` (seconds since
    ``wandb.init``) of the history, the summary and the exit record.
    """
    path = Path(path)
    files = sorted(path.glob("run-*.wandb")) if path.is_dir() else [path]
    if len(files) != 1:
        raise FileNotFoundError(f"{path} should hold one run-<id>.wandb file, found {len(files)}.")
    config: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    name, runtime = files[0].stem.removeprefix("run-"), 0.0
    for record in read_records(files[0]):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            name = record.run.display_name or record.run.run_id
            config |= _items(record.run.config.update)
        elif kind == "config":
            config |= _items(record.config.update)
        elif kind == "summary":
            summary |= _items(record.summary.update)
        elif kind == "history":
            rows.append(_items(record.history.item))
        elif kind == "exit":
            runtime = max(runtime, float(record.exit.runtime))
    times = [row.get("_runtime") for row in rows] + [summary.get("_runtime")]
    runtime = max([runtime, *(float(t) for t in times if isinstance(t, (int, float)))])
    return build_record(
        name=name,
        source="wandb-offline",
        location=str(path),
        config=config,
        rows=rows,
        step_key="trainer/global_step",
        wall_time_s=runtime or None,
        params=summary.get("model/params"),
    )


def _public_api() -> Any:
    """``wandb.Api()`` after a quick check that it can work: credentials found and the host answers."""
    host = wandb_mode.wandb_host()
    if wandb_mode.wandb_credentials() is None:
        raise ConnectionError("no W&B credentials: set WANDB_API_KEY or run `wandb login`")
    if not wandb_mode.host_reachable(host, timeout=3.0):
        raise ConnectionError(f"{host}:443 did not answer within 3 s")
    import wandb

    return wandb.Api(timeout=int(os.environ.get("WANDB_API_TIMEOUT", "30")))


def read_wandb_api_run(run_path: str, *, api: Any = None) -> RunRecord:
    """A run of the W&B server, ``entity/project/run_id``, through the public API (``api`` defaults to
    ``wandb.Api()``; tests pass a stand-in): ``run.config``, ``run.summary`` and ``run.scan_history`` of each
    scalar ``val/*`` key of the summary, with ``trainer/global_step`` and ``epoch``. Wall time: ``_runtime``.

    Raises:
        ConnectionError: naming the run when there are no credentials, the server cannot be reached or the run
            cannot be read.
    """
    try:
        api = api if api is not None else _public_api()
        run = api.run(run_path)
        config = {k: v["value"] if isinstance(v, dict) and set(v) == {"value"} else v for k, v in run.config.items()}
        summary = dict(run.summary)
        metrics = [k for k, v in summary.items() if k.startswith("val/") and isinstance(v, (int, float))]
        rows = [row for key in sorted(metrics) for row in run.scan_history(keys=[key, "trainer/global_step", "epoch"])]
    except ConnectionError as error:
        raise ConnectionError(
            f"W&B run {run_path} cannot be read: {error}. For a run logged offline, pass its "
            "folder (wandb/offline-run-*) instead."
        ) from error
    except Exception as error:  # wandb.errors.CommError, UsageError...
        raise ConnectionError(f"W&B run {run_path} cannot be read through the public API: {error}") from error
    runtime = summary.get("_runtime")
    return build_record(
        name=getattr(run, "name", None) or run_path,
        source="wandb",
        location=run_path,
        config=config,
        rows=rows,
        step_key="trainer/global_step",
        wall_time_s=float(runtime) if isinstance(runtime, (int, float)) else None,
        params=summary.get("model/params"),
    )
