"""PredictionWriter: one 8-bit PNG per LR input, named after it, sub-folders mirrored, values of the module's output,
written atomically, never over an input, with the module's tile settings."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from PIL import Image

from sr_lightning import EDSR, SRDataModule, SRModule
from sr_lightning.callbacks import PredictionWriter
from sr_lightning.callbacks.predictions import prediction_path
from sr_lightning.data import read_image, to_float

_INPUTS = {"a.png": (10, 14), "sub/b.jpg": (7, 9), "sub/deeper/c.png": (12, 8)}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """LR images of odd sizes in nested folders (no HR image anywhere)."""
    root = tmp_path / "lr_inputs"
    for i, (relative, (height, width)) in enumerate(_INPUTS.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = torch.randint(
            0, 256, (height, width, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(i)
        )
        Image.fromarray(pixels.numpy()).save(path, quality=95)
    return root


def _module() -> SRModule:
    torch.manual_seed(0)
    return SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))


def _trainer(tmp_path: Path, writer: PredictionWriter) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu", logger=False, enable_progress_bar=False, default_root_dir=tmp_path, callbacks=[writer]
    )


def _expected(module: L.LightningModule, lr_file: Path) -> torch.Tensor:
    """The module's own predict output for one input, quantized to 8 bits as (3, H, W) uint8."""
    module.eval()
    with torch.no_grad():
        out = module.predict_step({"lr": to_float(read_image(lr_file))[None], "name": ["x"], "path": ["x"]}, 0)
    sr = out["sr"] if isinstance(out, dict) else out
    return (sr[0].clamp(0, 1) * 255).round().to(torch.uint8)


def test_writes_one_png_per_input_with_the_module_values(
    tmp_path: Path, inputs: Path, capsys: pytest.CaptureFixture
) -> None:
    module, writer = _module(), PredictionWriter(output_dir=str(tmp_path / "out"), tile=None)
    data = SRDataModule(scale=2, predict_dir=str(inputs), use_samples=False)
    _trainer(tmp_path, writer).predict(module, datamodule=data, return_predictions=False)
    written = sorted(path.relative_to(tmp_path / "out").as_posix() for path in (tmp_path / "out").rglob("*"))
    assert written == ["a_x2.png", "sub", "sub/b_x2.png", "sub/deeper", "sub/deeper/c_x2.png"]  # no temporary file
    for relative, (height, width) in _INPUTS.items():
        target = prediction_path(tmp_path / "out", relative, 2)
        with Image.open(target) as image:
            assert image.format == "PNG" and image.mode == "RGB" and image.size == (2 * width, 2 * height)
        assert torch.equal(read_image(target), _expected(module, inputs / relative))
    assert sorted(writer.written) == sorted(prediction_path(tmp_path / "out", r, 2) for r in _INPUTS)
    assert capsys.readouterr().out.strip().endswith(f"wrote 3 image(s) to {tmp_path / 'out'}")


def test_default_folder_and_tile_settings_reach_the_module(tmp_path: Path, inputs: Path) -> None:
    module, writer = _module(), PredictionWriter(tile=4, overlap=2)
    trainer = _trainer(tmp_path / "run", writer)
    trainer.predict(module, datamodule=SRDataModule(predict_dir=str(inputs)), return_predictions=False)
    assert (module.predict_tile, module.predict_overlap) == (4, 2)
    assert writer.folder == tmp_path / "run" / "predictions"  # no logger: default_root_dir
    assert (tmp_path / "run" / "predictions" / "sub" / "deeper" / "c_x2.png").is_file()


class _TensorModule(L.LightningModule):
    """A predict_step returning a plain tensor: nearest-neighbour x3, then a fixed offset."""

    scale = 3

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        return torch.nn.functional.interpolate(batch["lr"], scale_factor=3, mode="nearest") * 0.5 + 0.25


def test_plain_tensor_outputs_and_paired_folders(tmp_path: Path, write_images: Callable) -> None:
    root = tmp_path / "bench"
    write_images(root / "HR", count=2, size=(24, 30))
    write_images(root / "LR_bicubic" / "X3", count=2, size=(8, 10))
    writer = PredictionWriter(output_dir=str(tmp_path / "out"))
    _trainer(tmp_path, writer).predict(_TensorModule(), datamodule=SRDataModule(scale=3, predict_dir=str(root)))
    for i in range(2):
        lr = read_image(root / "LR_bicubic" / "X3" / f"img{i}.png")
        expected = ((lr.float() / 255 * 0.5 + 0.25) * 255).round().to(torch.uint8)
        expected = expected.repeat_interleave(3, dim=1).repeat_interleave(3, dim=2)
        assert torch.equal(read_image(tmp_path / "out" / f"img{i}_x3.png"), expected)


def test_never_overwrites_an_input(tmp_path: Path, inputs: Path) -> None:
    (inputs / "a_x2.png").write_bytes((inputs / "a.png").read_bytes())  # an earlier result, now among the inputs
    before = {path: path.read_bytes() for path in inputs.rglob("*.*")}
    writer = PredictionWriter(output_dir=str(inputs))
    with pytest.raises(ValueError, match=r"prediction for a\.png would overwrite the input file .*a_x2\.png"):
        _trainer(tmp_path, writer).predict(_module(), datamodule=SRDataModule(predict_dir=str(inputs)))
    assert {path: path.read_bytes() for path in inputs.rglob("*.*")} == before  # checked before anything was written


def test_two_writers_of_the_same_image_leave_one_complete_file(tmp_path: Path) -> None:
    """Two DDP ranks given the same padded sample both write it: the later rename wins, no partial file remains."""
    writer = PredictionWriter(output_dir=str(tmp_path))
    writer._folder = tmp_path
    sr = torch.rand(1, 3, 6, 4)
    batch = {"lr": torch.rand(1, 3, 3, 2), "path": ["x/y.png"]}
    for _ in range(2):
        writer.write_on_batch_end(None, _TensorModule(), {"sr": sr}, None, batch, 0, 0)  # type: ignore[arg-type]
    assert sorted(path.name for path in (tmp_path / "x").iterdir()) == ["y_x3.png"]
    assert torch.equal(read_image(tmp_path / "x" / "y_x3.png"), (sr[0] * 255).round().to(torch.uint8))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tile": 0}, "tile must be a positive number of LR pixels or None, got 0"), ({"overlap": -1}, "got -1")],
)
def test_bad_arguments_name_the_value(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PredictionWriter(**kwargs)


def test_bad_outputs_and_batches_say_what_is_needed(tmp_path: Path) -> None:
    writer = PredictionWriter(output_dir=str(tmp_path))
    writer._folder = tmp_path
    module = _TensorModule()
    with pytest.raises(TypeError, match=r"tensor or as \{'sr': tensor"):
        writer.write_on_batch_end(None, module, {"out": 1}, None, {"path": ["a.png"]}, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"needs 'path'"):
        writer.write_on_batch_end(None, module, torch.rand(1, 3, 3, 3), None, {"lr": 0}, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"2 paths but 1 predicted"):
        writer.write_on_batch_end(None, module, torch.rand(1, 3, 3, 3), None, {"name": ["a", "b"]}, 0, 0)  # type: ignore[arg-type]


_DDP_SCRIPT = """
import sys

import lightning as L
import torch

from sr_lightning import EDSR, SRDataModule, SRModule
from sr_lightning.callbacks import PredictionWriter

torch.manual_seed(0)
module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
trainer = L.Trainer(
    accelerator="cpu", devices=2, strategy="ddp", logger=False, enable_progress_bar=False, default_root_dir=sys.argv[2],
    callbacks=[PredictionWriter(tile=None)],
)
trainer.predict(module, datamodule=SRDataModule(predict_dir=sys.argv[1], use_samples=False), return_predictions=False)
"""


@pytest.mark.slow
def test_two_ddp_ranks_write_their_shares(tmp_path: Path, inputs: Path) -> None:
    """3 inputs on 2 ranks: each writes its own share (Lightning's predict sampler does not repeat images)."""
    script = tmp_path / "predict_ddp.py"
    script.write_text(_DDP_SCRIPT)
    command = [sys.executable, str(script), str(inputs), str(tmp_path / "run")]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "run" / "predictions"
    assert sorted(path.relative_to(out).as_posix() for path in out.rglob("*.png")) == [
        "a_x2.png", "sub/b_x2.png", "sub/deeper/c_x2.png"
    ]  # fmt: skip
    assert not [path for path in out.rglob("*") if path.name.startswith(".")]  # no temporary file left
    lines = re.findall(r"^PredictionWriter: rank \d of 2: wrote .*$", result.stdout, re.MULTILINE)
    assert sorted(line.split(" wrote ")[0] for line in lines) == [
        "PredictionWriter: rank 0 of 2:", "PredictionWriter: rank 1 of 2:"
    ]  # fmt: skip
    assert sorted(line.split(" wrote ")[1] for line in lines) == [f"1 image(s) to {out}", f"2 image(s) to {out}"]
    module = _module()
    for relative in _INPUTS:
        written, expected = read_image(prediction_path(out, relative, 2)), _expected(module, inputs / relative)
        # The ranks may use another thread count: an output an ulp apart can round to the next 8-bit level.
        assert (written.int() - expected.int()).abs().max() <= 1
