"""Evaluating trained generators on benchmark sets: the report ``sr-lightning benchmark`` prints
(:mod:`sr_lightning.commands.benchmark` is its argument parsing)."""

from sr_lightning.evaluation.benchmark import BenchmarkRow, benchmark_sets, evaluate, format_markdown, write_csv
from sr_lightning.evaluation.run import run_benchmark

__all__ = ["BenchmarkRow", "benchmark_sets", "evaluate", "format_markdown", "run_benchmark", "write_csv"]
