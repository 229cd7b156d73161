"""Evaluating trained generators on benchmark sets: the ``sr-lightning benchmark`` report."""

from sr_lightning.evaluation.benchmark import BenchmarkRow, benchmark_sets, evaluate, format_markdown, write_csv
from sr_lightning.evaluation.command import run_benchmark

__all__ = ["BenchmarkRow", "benchmark_sets", "evaluate", "format_markdown", "run_benchmark", "write_csv"]
