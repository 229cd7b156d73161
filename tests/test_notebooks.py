"""Execute the example notebooks with nbclient, on the CPU with their tiny smoke settings, and check what they promise.

Each notebook runs in its own temporary folder (its ``runs/`` lands there) in a kernel started from this very
interpreter: a kernel spec written for the test names ``sys.executable``, so the notebooks see the venv whatever
kernels the machine has installed (a user-level ``python3`` spec would otherwise take precedence).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import yaml
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from PIL import Image

from sr_lightning.data.embedded_photos import load_sample

NOTEBOOKS = Path(__file__).resolve().parents[1] / "examples" / "notebooks"
SMOKE_ENV = "SR_LIGHTNING_NOTEBOOK_SMOKE"
KERNEL = "sr-lightning-notebook-test"
CELL_TIMEOUT_S = 300


def _kernel_manager(folder: Path) -> KernelManager:
    """A kernel manager whose only kernel spec runs ``sys.executable -m ipykernel_launcher``."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    specs = KernelSpecManager(kernel_dirs=[str(folder / "kernels")], ensure_native_kernel=False)
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)


def _execute(name: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Run a copy of notebook ``name`` in ``folder`` with the smoke settings; return it with its outputs.

    A last cell that prints the kernel's interpreter is added, to check that the venv's one ran the notebook.
    """
    path = folder / name
    shutil.copy(NOTEBOOKS / name, path)
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable, end='')"))
    monkeypatch.setenv(SMOKE_ENV, "1")  # the kernel inherits the environment
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    manager = _kernel_manager(folder / "_kernel")
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()
    finally:
        if manager.has_kernel:
            manager.shutdown_kernel(now=True)
    return notebook


def _outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def _text(notebook: nbformat.NotebookNode) -> str:
    return "".join(output.get("text", "") for output in _outputs(notebook) if output.output_type == "stream")


def _check_outputs(notebook: nbformat.NotebookNode, min_images: int) -> None:
    """No cell failed or printed a traceback, the venv's interpreter ran it, and it showed ``min_images`` pictures."""
    outputs = _outputs(notebook)
    assert not [output for output in outputs if output.output_type == "error"]
    assert "Traceback" not in _text(notebook)
    assert notebook.cells[-1].outputs[0]["text"] == sys.executable
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) >= min_images


def _metrics(run: Path) -> list[dict[str, str]]:
    with open(run / "metrics.csv", newline="") as file:
        return list(csv.DictReader(file))


def _values(rows: list[dict[str, str]], column: str) -> list[float]:
    return [float(row[column]) for row in rows if row.get(column)]


def test_quickstart_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = _execute("01_quickstart.ipynb", tmp_path, monkeypatch)
    # The image panel, the Grad-CAM PNG and the matplotlib Grad-CAM figure.
    _check_outputs(notebook, min_images=3)

    run = tmp_path / "runs" / "notebook_quickstart" / "version_0"
    checkpoints = run / "checkpoints"
    assert (checkpoints / "last.ckpt").is_file()
    assert len(list(checkpoints.glob("best-epoch000-psnr_y*.ckpt"))) == 1
    rows = _metrics(run)
    psnr, bicubic = _values(rows, "val/psnr_y"), _values(rows, "val/bicubic_psnr_y")
    assert len(psnr) == len(bicubic) == 1  # one epoch
    # Bicubic on chelsea and coffee at x2 (Y, border 2) is a known answer (README); after 2 steps the model is not.
    assert bicubic[0] == pytest.approx(32.93, abs=0.01)
    assert math.isfinite(psnr[0])
    assert f"{bicubic[0]:.2f}" in _text(notebook)  # the notebook printed the comparison table

    # The panel: 2 rows (chelsea, coffee) of 4 crops of 128 pixels, 2 pixels of padding around each.
    with Image.open(run / "images" / "val_epoch000.png") as panel:
        assert panel.size == (4 * 130 + 2, 2 * 130 + 2)
    # Grad-CAM: 1 row of 4 tiles of chelsea's SR size (300 x 450 at x2).
    with Image.open(run / "images" / "grad_cam_epoch000.png") as cam:
        assert cam.size == (4 * 452 + 2, 302 + 2)


def test_subclass_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = _execute("02_subclass.ipynb", tmp_path, monkeypatch)
    _check_outputs(notebook, min_images=1)  # the preview picture

    run = tmp_path / "runs" / "notebook_subclass" / "version_0"
    rows = _metrics(run)
    weight = yaml.safe_load((run / "hparams.yaml").read_text())["fft_weight"]  # the notebook's FFT_WEIGHT
    assert weight > 0
    for stage in ("train", "val"):
        fft, pixel, total = (_values(rows, f"{stage}/loss{suffix}") for suffix in ("_fft", "_pixel", ""))
        assert len(fft) == len(pixel) == len(total) == (2 if stage == "train" else 1)  # two steps, one validation
        assert all(math.isfinite(value) and value > 0 for value in fft + pixel)
        # The logged total is the pixel term plus fft_weight times the new term, row by row.
        for f, p, t in zip(fft, pixel, total, strict=True):
            assert t == pytest.approx(p + weight * f, rel=1e-5)

    # The custom validation picture: LR (nearest) | SR | HR of the centred 96-pixel crop of chelsea.
    with Image.open(run / "images" / "preview_epoch000.png") as image:
        assert image.size == (3 * 96, 96)
        hr_third = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[:, :, 192:]
    chelsea = load_sample("chelsea")
    top, left = (chelsea.shape[1] - 96) // 2, (chelsea.shape[2] - 96) // 2
    assert torch.equal(hr_third, chelsea[:, top : top + 96, left : left + 96])


def test_gan_r1_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = _execute("03_gan_r1.ipynb", tmp_path, monkeypatch)
    _check_outputs(notebook, min_images=1)  # the plot of the discriminator loss's parts
    assert "train/loss_d_r1" in _text(notebook)  # the printed columns and table

    run = tmp_path / "runs" / "notebook_gan_r1" / "version_0"
    gamma = yaml.safe_load((run / "hparams.yaml").read_text())["r1_gamma"]  # the notebook's R1_GAMMA
    assert gamma > 0
    rows = [row for row in _metrics(run) if row.get("train/loss_d")]
    assert len(rows) == 2  # two batches, one discriminator step each
    for row in rows:
        total, adversarial, r1 = (float(row[f"train/loss_d{suffix}"]) for suffix in ("", "_adv", "_r1"))
        assert math.isfinite(r1) and r1 > 0 and math.isfinite(adversarial)
        # The module adds the float32 parts in float32; added again in float64 from those logged float32 values,
        # the sum differs by float32 rounding, a few 1e-8 relative (all three are positive: no cancellation).
        assert total == pytest.approx(adversarial + gamma / 2 * r1, rel=1e-6)


@pytest.mark.parametrize("name", ["01_quickstart.ipynb", "02_subclass.ipynb", "03_gan_r1.ipynb"])
def test_the_first_cell_installs_the_package_only_where_it_is_missing(name: str, tmp_path: Path, monkeypatch) -> None:
    import importlib.util
    import subprocess

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "check_call", calls.append)
    monkeypatch.chdir(NOTEBOOKS)
    exec(first.source, {})  # installed here (the venv): nothing to do
    assert calls == []

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "sr_lightning" else find_spec(n, *a))
    exec(first.source, {})  # missing, the notebook in a clone: pip installs the clone
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", str(NOTEBOOKS.parents[1])]]
    elsewhere = tmp_path / "content" / "notebooks"  # a notebook opened on its own, e.g. uploaded to Colab
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    exec(first.source, {})
    assert calls[-1][:-1] == [sys.executable, "-m", "pip", "install", "--quiet"]
    assert calls[-1][-1].startswith("git+https://")
