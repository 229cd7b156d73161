"""A generator as an ONNX graph with dynamic batch, height and width, checked against PyTorch with onnxruntime.

Needs the ``export`` extra (``pip install 'sr-lightning[export]'``: onnx, onnxscript, onnxruntime). The graph
takes ``lr``, float32 (B, 3, H, W) RGB in [0, 1], and gives ``sr``, (B, 3, sH, sW), not clamped: clamp and round
to 8 bits as :func:`~sr_lightning.inference.upscale_image` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from sr_lightning.inference.device import device_of

__all__ = ["check_image", "check_onnx", "export_onnx"]

_EXTRA = "pip install 'sr-lightning[export]' (onnx, onnxscript, onnxruntime)"


def check_image(example_size: tuple[int, int] = (64, 64), seed: int = 0) -> Tensor:
    """A random (2, 3, H + 13, W + 7) batch in [0, 1]: another batch size and image size than an export's example,
    so that a check also proves the axes are dynamic.

    Example:
        >>> check_image((64, 64)).shape
        torch.Size([2, 3, 77, 71])
    """
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(2, 3, example_size[0] + 13, example_size[1] + 7, generator=generator)


def export_onnx(
    generator: nn.Module,
    path: str | Path,
    example_size: tuple[int, int] = (64, 64),
    opset: int = 18,
    verify: bool = True,
    atol: float = 1e-4,
    config: dict[str, Any] | None = None,
) -> Path:
    """Export ``generator`` to ONNX (``torch.onnx.export``'s dynamo exporter) with dynamic batch, height, width.

    The model's metadata holds ``scale``, ``class_path`` and ``config`` (the checkpoint's generator config, as JSON).

    Args:
        generator: the generator, in eval mode; it is traced on its own device at its current ``scale``.
        path: the ``.onnx`` file to write (one file, weights inside: models up to 2 GB).
        example_size: the (H, W) of the example traced; any other size works in the graph.
        opset: the ONNX opset version.
        verify: run :func:`check_onnx` on :func:`check_image` (another batch and size) and raise if the
            difference exceeds ``atol``; needs onnxruntime.
        atol: the largest absolute difference from PyTorch accepted by ``verify``.
        config: the generator's ``{"class_path", "init_args"}`` to record.

    Raises:
        ImportError: onnxscript (or, to verify, onnxruntime) is not installed.
        RuntimeError: the exporter cannot export the generator.
        ValueError: the verification found a difference above ``atol``.
    """
    try:
        import onnx
        import onnxscript  # noqa: F401 (the dynamo exporter needs it)
    except ImportError as error:
        raise ImportError(f"ONNX export needs onnx and onnxscript: {_EXTRA}.") from error
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = generator.eval()
    example = torch.rand(1, 3, *example_size, device=device_of(generator))
    dims = {0: torch.export.Dim("batch"), 2: torch.export.Dim("height"), 3: torch.export.Dim("width")}
    try:
        torch.onnx.export(
            generator,
            (example,),
            path,
            input_names=["lr"],
            output_names=["sr"],
            dynamic_shapes=(dims,),
            opset_version=opset,
            dynamo=True,
            verbose=False,
            external_data=False,
        )
    except Exception as error:
        raise RuntimeError(f"torch.onnx.export could not export the {type(generator).__name__}: {error}") from error
    model = onnx.load(path)
    properties = {"scale": str(getattr(generator, "scale", "")), "class_path": type(generator).__qualname__}
    if config is not None:
        properties["config"] = json.dumps(config)
    onnx.helper.set_model_props(model, properties)
    onnx.save(model, path)
    if verify:
        difference = check_onnx(path, generator, check_image(example_size))
        if not difference <= atol:
            raise ValueError(f"{path}: onnxruntime differs from PyTorch by {difference:.2e} (> atol={atol:g}).")
    return path


def check_onnx(path: str | Path, generator: nn.Module, image: Tensor) -> float:
    """The largest absolute difference between onnxruntime (CPU) running ``path`` and ``generator`` on ``image``.

    Raises:
        ImportError: onnxruntime is not installed.
        ValueError: the outputs' shapes differ (the graph's axes are not dynamic).
    """
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(f"checking an ONNX export needs onnxruntime: {_EXTRA}.") from error
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (ours,) = session.run(["sr"], {"lr": image.detach().float().cpu().numpy()})
    with torch.inference_mode():
        reference = generator.eval()(image.float().to(device_of(generator))).float().cpu().numpy()
    if ours.shape != reference.shape:
        raise ValueError(f"{path} gave {ours.shape} for {tuple(image.shape)}, PyTorch {reference.shape}.")
    return float(np.abs(ours - reference).max())
