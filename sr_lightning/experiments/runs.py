"""Reading training runs for ``sr-lightning compare``: Lightning CSV log folders, local W&B run folders (offline
or not) and W&B runs of the server (``entity/project/run_id``), each into one :class:`RunRecord`."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sr_lightning.experiments._wandb_runs import read_wandb_api_run
from sr_lightning.experiments.records import RunRecord, build_record

__all__ = ["RUN_FORMS", "load_run", "load_runs", "read_csv_run", "read_wandb_api_run", "read_wandb_folder"]

RUN_FORMS = (
    "a Lightning CSV log folder (runs/<name>/version_<n>/ with metrics.csv), "
    "a local W&B run folder (wandb/offline-run-<date>-<id>/ or its run-<id>.wandb file), "
    "or a W&B run path entity/project/run_id (or its https://wandb.ai/entity/project/runs/run_id URL)"
)
_RUN_URL = re.compile(r"^https?://[^/]+/(?P<entity>[^/]+)/(?P<project>[^/]+)/runs/(?P<id>[^/?#]+)")
_RUN_PATH = re.compile(r"^[\w.-]+/[\w.-]+/[\w-]+$")
# What marks a local W&B run folder; only file names are looked at, never the transaction log's content.
_WANDB_MARKERS = ("run-*.wandb", "files/config.yaml", "files/wandb-summary.json")


def _yaml(path: Path) -> dict[str, Any]:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def _csv_log(folder: Path) -> tuple[list[dict[str, str]], float | None]:
    """The rows of ``folder/metrics.csv`` and the wall time from the file times: ``config.yaml`` (written when the
    run sets up) to the last write of ``metrics.csv``, ``None`` without ``config.yaml`` or when copying the folder
    reset the times out of order. The caller checks that ``metrics.csv`` exists."""
    metrics = folder / "metrics.csv"
    with metrics.open(newline="") as file:
        rows = list(csv.DictReader(file))
    started = folder / "config.yaml"
    wall = metrics.stat().st_mtime - started.stat().st_mtime if started.is_file() else None
    return rows, wall if wall is not None and wall >= 0 else None


def read_csv_run(folder: str | Path) -> RunRecord:
    """A Lightning CSV log folder: ``metrics.csv``, the ``config.yaml`` LightningCLI saves and ``hparams.yaml``.

    Wall time: from the file times, ``config.yaml`` (written when the run sets up) to the last write of
    ``metrics.csv``; ``None`` without ``config.yaml`` or when copying the folder reset the times out of order.

    Raises:
        FileNotFoundError: naming the folder when it has no ``metrics.csv``.
    """
    folder = Path(folder)
    if not (folder / "metrics.csv").is_file():
        raise FileNotFoundError(f"{folder} has no metrics.csv: pass {RUN_FORMS}.")
    rows, wall = _csv_log(folder)
    return build_record(
        name=f"{folder.parent.name}/{folder.name}",
        source="csv",
        location=str(folder),
        config={**_yaml(folder / "hparams.yaml"), **_yaml(folder / "config.yaml")},
        rows=rows,
        step_key="step",
        wall_time_s=wall,
    )


def _wandb_config(path: Path) -> dict[str, Any]:
    """A W&B ``files/config.yaml``: ``{key: {"value": v}}`` (older releases add ``desc``), less W&B's ``_wandb``."""
    loaded = _yaml(path)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path} is not a W&B config file (a mapping of key: {{value: ...}} expected).")
    unwrap = {"value", "desc"}
    return {
        key: value["value"] if isinstance(value, dict) and "value" in value and set(value) <= unwrap else value
        for key, value in loaded.items()
        if key != "_wandb"
    }


def _csv_log_of(folder: Path, config: dict[str, Any]) -> Path:
    """The Lightning CSV folder that ``sr-lightning --wandb.project`` logged beside the W&B run (``run/log_dir`` of
    its config): where the config says, else at the same place relative to the W&B folder, for a copied ``runs/``
    tree (``<save_dir>/wandb/offline-run-*`` and ``<save_dir>/<name>/version_<n>``)."""
    log_dir = config.get("run/log_dir")
    if not log_dir:
        raise FileNotFoundError(
            f"{folder} has no files/wandb-history.jsonl, and its files/config.yaml names no CSV log (run/log_dir) "
            "to read the curves from: pass the run's CSV log folder, or log it with `sr-lightning --wandb.project`."
        )
    given = Path(log_dir)
    for candidate in (given, folder.parent.parent / given.parent.name / given.name):
        if (candidate / "metrics.csv").is_file():
            return candidate
    raise FileNotFoundError(
        f"{folder} has no files/wandb-history.jsonl, and the CSV log its config names (run/log_dir: {log_dir}) "
        "has no metrics.csv: pass the CSV log folder where it is now."
    )


def read_wandb_folder(path: str | Path) -> RunRecord:
    """A local W&B run folder, ``wandb/offline-run-*/`` or ``wandb/run-*/`` (or its ``run-<id>.wandb`` file), from
    the plain files beside W&B's transaction log, never the log itself, whose binary format changes between W&B
    releases.

    - Config: ``files/config.yaml``, which W&B writes for online runs and :class:`SRWandbLogger` for offline ones.
    - Curves: ``files/wandb-history.jsonl`` when W&B wrote one (by ``trainer/global_step``), else the Lightning CSV
      log the config's ``run/log_dir`` names: ``sr-lightning --wandb.project`` logs every run to CSV beside W&B,
      with the same values at the same steps.
    - ``model/params`` and wall time: ``files/wandb-summary.json`` (``_runtime``, seconds since ``wandb.init``)
      when present; else the config's ``model/params`` and the CSV log's file times (see :func:`read_csv_run`).

    Raises:
        FileNotFoundError: naming the folder and the file it lacks (``files/config.yaml``, or both the history
            and the CSV log).
    """
    path = Path(path)
    folder = path.parent if path.suffix == ".wandb" and path.is_file() else path
    files = folder / "files"
    if not (files / "config.yaml").is_file():
        raise FileNotFoundError(
            f"{folder} has no files/config.yaml (W&B writes it for online runs, sr-lightning's W&B logger for "
            f"offline ones): pass the run's CSV log folder instead, or `wandb sync {folder}` and pass its "
            "entity/project/run_id."
        )
    config = _wandb_config(files / "config.yaml")
    summary_file = files / "wandb-summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    history = files / "wandb-history.jsonl"
    if history.is_file():
        rows = [json.loads(line) for line in history.read_text().splitlines() if line.strip()]
        step_key = "trainer/global_step"
        times = [row["_runtime"] for row in rows if isinstance(row.get("_runtime"), (int, float))]
        wall = max(times, default=None)
    else:
        rows, wall = _csv_log(_csv_log_of(folder, config))
        step_key = "step"
    runtime = summary.get("_runtime")
    return build_record(
        name=config.get("run/name") or folder.name.rsplit("-", 1)[-1],
        source="wandb-offline",
        location=str(folder),
        config=config,
        rows=rows,
        step_key=step_key,
        wall_time_s=float(runtime) if isinstance(runtime, (int, float)) else wall,
        params=summary.get("model/params"),
    )


def _is_csv_run(path: Path) -> bool:
    return (path / "metrics.csv").is_file()


def _is_wandb_run(path: Path) -> bool:
    if path.suffix == ".wandb" and path.is_file():
        return True
    return path.is_dir() and any(any(path.glob(marker)) for marker in _WANDB_MARKERS)


def _local_runs(path: Path) -> list[Path]:
    """The run folder itself, or the run folders directly inside it (``runs/quickstart/``, ``runs/wandb/``)."""
    if _is_csv_run(path) or _is_wandb_run(path):
        return [path]
    if not path.is_dir():
        return []
    children = sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink())
    return [p for p in children if _is_csv_run(p) or _is_wandb_run(p)]


def load_run(spec: str | Path, *, api: Any = None) -> list[RunRecord]:
    """The runs ``spec`` names: a run folder, a folder of run folders, or a W&B run path or URL.

    Args:
        spec: see :data:`RUN_FORMS`. A local path wins over a W&B run path of the same spelling.
        api: the W&B public API object for run paths (default ``wandb.Api()``, after a 3 s reachability check).

    Raises:
        FileNotFoundError: naming ``spec`` and the three accepted forms when it is none of them.
        ConnectionError: when a W&B run path cannot be read (no credentials, no network, no such run).
    """
    path = Path(spec)
    if path.exists():
        found = _local_runs(path)
        if not found:
            raise FileNotFoundError(f"no run found at {path}: pass {RUN_FORMS}.")
        return [read_csv_run(p) if _is_csv_run(p) else read_wandb_folder(p) for p in found]
    text = str(spec)
    if match := _RUN_URL.match(text):
        text = f"{match['entity']}/{match['project']}/{match['id']}"
    if _RUN_PATH.match(text):
        try:
            return [read_wandb_api_run(text, api=api)]
        except ConnectionError as error:
            raise ConnectionError(f"{error} ({spec!s} is no local folder either; pass {RUN_FORMS}.)") from error
    raise FileNotFoundError(f"{spec!s} does not exist and is not a W&B run path: pass {RUN_FORMS}.")


def load_runs(specs: Sequence[str | Path], *, api: Any = None) -> list[RunRecord]:
    """:func:`load_run` of each spec, in order."""
    return [run for spec in specs for run in load_run(spec, api=api)]
