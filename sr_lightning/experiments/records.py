"""One training run as ``sr-lightning compare`` sees it, whatever logged it: :class:`RunRecord`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from sr_lightning.experiments.wandb_logger import flatten_config
from sr_lightning.weights import build_generator

__all__ = ["CurvePoint", "RunRecord", "RunSource", "build_record"]

RunSource = Literal["csv", "wandb-offline", "wandb"]
# Keys every logger adds to a row: never curves of their own.
_META = {"step", "epoch", "trainer/global_step", "_step", "_runtime", "_timestamp"}
_GENERATOR_PREFIXES = ("model.init_args.generator.", "generator.")


class CurvePoint(NamedTuple):
    """One logged value: Lightning's logging step, the epoch (``None`` when not logged) and the value."""

    step: int
    epoch: int | None
    value: float


@dataclass
class RunRecord:
    """A run: where it comes from, what it trained, and its ``val/*`` curves.

    Attributes:
        name: the run name (``quickstart/version_0`` for CSV folders and runs logged by ``sr-lightning``).
        source: ``csv`` (a Lightning CSV log folder), ``wandb-offline`` (a local W&B run folder) or ``wandb``.
        location: the folder or the ``entity/project/run_id`` it was read from.
        module: the LightningModule class path; ``generator``: the generator class path.
        params: the generator's parameter count; ``scale``: the upscaling factor.
        curves: ``{"val/psnr_y": [CurvePoint, ...], ...}`` in logging order, every scalar ``val/*`` key.
        steps: training batches seen: the last logged step + 1 (Lightning logs step ``n - 1`` after ``n``
            batches; the GAN module's ``global_step`` counts two optimizer steps per batch, this counts one).
        wall_time_s: seconds from the start of the run to its last log (see the readers for the clock used).
        config: the run's config with dotted keys (``data.init_args.scale``,
            ``model.init_args.generator.class_path``...).
    """

    name: str
    source: RunSource
    location: str
    module: str | None = None
    generator: str | None = None
    params: int | None = None
    scale: int | None = None
    curves: dict[str, list[CurvePoint]] = field(default_factory=dict)
    steps: int | None = None
    wall_time_s: float | None = None
    config: dict[str, Any] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _generator_spec(config: Mapping[str, Any]) -> dict[str, Any] | None:
    for prefix in _GENERATOR_PREFIXES:
        if config.get(f"{prefix}class_path"):
            init = {
                k[len(prefix) + len("init_args.") :]: v
                for k, v in config.items()
                if k.startswith(f"{prefix}init_args.")
            }
            nested: dict[str, Any] = {}
            for key, value in init.items():  # undo the flattening of nested class_path/init_args arguments
                target = nested
                *parents, last = key.split(".")
                for part in parents:
                    target = target.setdefault(part, {})
                target[last] = value
            return {"class_path": config[f"{prefix}class_path"], "init_args": nested}
    return None


def _first(config: Mapping[str, Any], *keys: str) -> Any:
    return next((config[key] for key in keys if config.get(key) is not None), None)


def build_record(
    *,
    name: str,
    source: RunSource,
    location: str,
    config: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    step_key: str,
    wall_time_s: float | None,
    params: int | None = None,
) -> RunRecord:
    """A :class:`RunRecord` from a run's config (nested or dotted) and its logged rows (``{key: value}`` each,
    with the logging step under ``step_key`` and the epoch under ``epoch``)."""
    flat = flatten_config(dict(config))
    curves: dict[str, list[CurvePoint]] = {}
    last_step = None
    for row in rows:
        step = _number(row.get(step_key))
        if step is None:
            continue
        epoch = _number(row.get("epoch"))
        scalars = {k: v for k, v in ((k, _number(v)) for k, v in row.items() if k not in _META) if v is not None}
        if scalars:  # rows of images only carry the global step, which is not the logging step
            last_step = max(int(step), last_step if last_step is not None else int(step))
        for key, value in scalars.items():
            if key.startswith("val/"):
                curves.setdefault(key, []).append(CurvePoint(int(step), None if epoch is None else int(epoch), value))
    spec = _generator_spec(flat)
    if params is None:
        params = _number(flat.get("model/params"))
    if params is None and spec is not None:
        generator = build_generator(spec, location, device="meta")  # allocates nothing, loads no weights
        params = sum(p.numel() for p in generator.parameters())
    scale = _first(
        flat, "data.init_args.scale", "data.scale", "scale", *(f"{p}init_args.scale" for p in _GENERATOR_PREFIXES)
    )
    return RunRecord(
        name=name,
        source=source,
        location=location,
        module=flat.get("model.class_path"),
        generator=None if spec is None else spec["class_path"],
        params=None if params is None else int(params),
        scale=None if scale is None else int(scale),
        curves=curves,
        steps=None if last_step is None else last_step + 1,
        wall_time_s=wall_time_s,
        config=flat,
    )
