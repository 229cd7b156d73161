"""The tools of the ``sr-lightning`` command besides LightningCLI's fit/validate/test/predict, one module each.

Each module is argument parsing plus one call into the library, where the work lives and where Python code calls
it directly: ``benchmark`` -> :func:`sr_lightning.evaluation.run_benchmark`, ``upscale`` ->
:func:`sr_lightning.inference.upscale_files`, ``export`` -> :func:`sr_lightning.inference.export_safetensors` /
:func:`~sr_lightning.inference.export_onnx`, ``compare`` -> :mod:`sr_lightning.experiments.compare`.

To add a tool: write the work as a library function in its domain package (typed arguments, documented errors),
add ``commands/<tool>.py`` with ``main(argv: Sequence[str] | None = None)`` that parses ``argv`` with argparse
(``prog="sr-lightning <tool>"``), calls that function and turns its expected errors into ``SystemExit`` with one
line, then name the module in :data:`sr_lightning.cli.TOOLS` and describe it in the overview of ``cli.py``.
"""

__all__: list[str] = []
