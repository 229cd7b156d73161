"""``sr-lightning compare``: a table and validation curves of several runs, CSV folders and W&B runs alike.

    sr-lightning compare runs/quickstart/version_0 my-team/sr-lightning/abcd1234 -o compare

For now this delegates to :func:`sr_lightning.experiments.compare.main`, whose argument parsing will move here
once ``sr_lightning.experiments`` is refactored; the library part stays there
(:func:`~sr_lightning.experiments.compare.compare_runs` and its table and plot writers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sr_lightning.experiments import ComparisonRow
from sr_lightning.experiments import compare as _compare

__all__ = ["main"]


def main(argv: Sequence[str] | None = None, *, api: Any = None) -> list[ComparisonRow]:
    """Run the command with ``argv`` (the arguments after ``compare``); returns the table's rows.

    ``api`` stands in for ``wandb.Api()`` for W&B run paths (tests).

    Raises:
        SystemExit: a run cannot be found or read, or W&B cannot be reached; the message names the run.
    """
    return _compare.main(argv, api=api)
