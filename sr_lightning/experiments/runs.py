"""Reading training runs for ``sr-lightning compare``: Lightning CSV log folders, local W&B run folders (offline
or not) and W&B runs of the server (``entity/project/run_id``), each into one :class:`RunRecord`."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sr_lightning.experiments._record import CurvePoint, RunRecord, RunSource, build_record
from sr_lightning.experiments._wandb_runs import read_wandb_api_run, read_wandb_folder

__all__ = [
    "CurvePoint",
    "RunRecord",
    "RunSource",
    "load_run",
    "load_runs",
    "read_csv_run",
    "read_wandb_api_run",
    "read_wandb_folder",
]

RUN_FORMS = (
    "a Lightning CSV log folder (runs/<name>/version_<n>/ with metrics.csv), "
    "a local W&B run folder (wandb/offline-run-<date>-<id>/ or its run-<id>.wandb file), "
    "or a W&B run path entity/project/run_id (or its https://wandb.ai/entity/project/runs/run_id URL)"
)
_RUN_URL = re.compile(r"^https?://[^/]+/(?P<entity>[^/]+)/(?P<project>[^/]+)/runs/(?P<id>[^/?#]+)")
_RUN_PATH = re.compile(r"^[\w.-]+/[\w.-]+/[\w-]+$")


def _yaml(path: Path) -> dict[str, Any]:
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


def read_csv_run(folder: str | Path) -> RunRecord:
    """A Lightning CSV log folder: ``metrics.csv``, the ``config.yaml`` LightningCLI saves and ``hparams.yaml``.

    Wall time: from the file times, ``config.yaml`` (written when the run sets up) to the last write of
    ``metrics.csv``; ``None`` without ``config.yaml`` or when copying the folder reset the times out of order.

    Raises:
        FileNotFoundError: naming the folder when it has no ``metrics.csv``.
    """
    folder = Path(folder)
    metrics = folder / "metrics.csv"
    if not metrics.is_file():
        raise FileNotFoundError(f"{folder} has no metrics.csv: pass {RUN_FORMS}.")
    with metrics.open(newline="") as file:
        rows = list(csv.DictReader(file))
    config = {**_yaml(folder / "hparams.yaml"), **_yaml(folder / "config.yaml")}
    started = folder / "config.yaml"
    wall = metrics.stat().st_mtime - started.stat().st_mtime if started.is_file() else None
    return build_record(
        name=f"{folder.parent.name}/{folder.name}",
        source="csv",
        location=str(folder),
        config=config,
        rows=rows,
        step_key="step",
        wall_time_s=wall if wall is not None and wall >= 0 else None,
    )


def _is_csv_run(path: Path) -> bool:
    return (path / "metrics.csv").is_file()


def _is_wandb_run(path: Path) -> bool:
    return (path.suffix == ".wandb" and path.is_file()) or (path.is_dir() and any(path.glob("run-*.wandb")))


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
