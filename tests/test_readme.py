"""The README's "Use it from Python" snippet runs as it is written, on a CPU, in a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(section: str) -> str:
    text = README.read_text()
    start = text.index(f"## {section}\n")
    block = re.search(r"```python\n(.*?)```", text[start:], flags=re.S)
    assert block is not None, f"no python block under '## {section}'"
    return block.group(1)


def test_the_python_snippet_runs_verbatim_on_a_cpu(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(_python_block("Use it from Python"))
    done = subprocess.run(
        [sys.executable, str(snippet)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Precision: 32 (auto: the run is on the CPU" in done.stderr + done.stdout
    printed = re.search(r"PSNR-Y ([\d.]+) dB, bicubic ([\d.]+) dB", done.stdout)
    assert printed is not None, done.stdout[-2000:]
    assert float(printed.group(2)) == 32.93  # bicubic on chelsea and coffee at x2 (Y, border 2): a known answer
    (checkpoint,) = (tmp_path / "lightning_logs").glob("version_0/checkpoints/*.ckpt")
    # The README's next step: the checkpoint of a run started from Python goes through the tools as it is.
    from PIL import Image

    from sr_lightning.cli import run

    Image.new("RGB", (16, 12), (120, 60, 30)).save(tmp_path / "photo.png")
    run(["upscale", "--ckpt", str(checkpoint), str(tmp_path / "photo.png"), "-o", str(tmp_path / "up"), "--quiet"])
    assert Image.open(tmp_path / "up" / "photo_x2.png").size == (32, 24)


def test_the_shipped_model_snippet_runs_verbatim(tmp_path: Path, monkeypatch) -> None:
    """The first example after the two commands: a photo upscaled by a shipped model, in Python and by the command."""
    import numpy as np
    from PIL import Image
    from skimage import data

    from sr_lightning import pretrained
    from sr_lightning.cli import run

    if "edsr-t91-x4" not in pretrained.available():
        raise AssertionError(f"the README's example model is not shipped: {pretrained.available()}")
    Image.fromarray(np.ascontiguousarray(data.chelsea()[:60, :80])).save(tmp_path / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    exec(compile(_python_block("Upscale a photo with a shipped model (no training)"), "README", "exec"), {})
    assert Image.open(tmp_path / "photo_x4.png").size == (320, 240)
    text = README.read_text()
    command = re.search(r"\.venv/bin/sr-lightning (upscale --model \S+ photo\.jpg -o upscaled/)", text)
    assert command is not None
    run(command.group(1).split())
    assert Image.open(tmp_path / "upscaled" / "photo_x4.png").size == (320, 240)
