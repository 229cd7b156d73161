"""Reading a run of the W&B server into a :class:`RunRecord`, through W&B's public API (local run folders are read
by :func:`sr_lightning.experiments.runs.read_wandb_folder`)."""

from __future__ import annotations

import os
from typing import Any

from sr_lightning.experiments import wandb_mode
from sr_lightning.experiments.records import RunRecord, build_record

__all__ = ["read_wandb_api_run"]


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
