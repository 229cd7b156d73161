"""`sr-lightning upscale`: writes and prints the files, self-ensemble, EMA switch, clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lightning.cli import run
from sr_lightning.commands.upscale import main
from sr_lightning.data.io import read_image, to_float
from sr_lightning.inference import load_generator, self_ensemble


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for name, size in (("a.png", (14, 18)), ("sub/b.png", (10, 12))):
        (tmp_path / "photos" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(tmp_path / "photos" / name)
    return tmp_path / "photos"


def test_upscale_writes_and_prints_the_files(tiny_checkpoint: Path, photos: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    run(["upscale", "--ckpt", str(tiny_checkpoint), str(photos), "-o", str(out), "--device", "cpu"])
    printed = capsys.readouterr().out.splitlines()
    assert printed == [str(out / "a_x2.png"), str(out / "sub" / "b_x2.png"), f"Wrote 2 image(s) to {out.resolve()}"]
    assert Image.open(out / "a_x2.png").size == (36, 28) and Image.open(out / "sub" / "b_x2.png").size == (24, 20)


def test_self_ensemble_and_no_ema(tiny_checkpoint: Path, photos: Path, tmp_path: Path) -> None:
    args = ["--ckpt", str(tiny_checkpoint), str(photos / "a.png"), "--quiet"]
    (plus,) = main([*args, "-o", str(tmp_path / "plus"), "--self-ensemble", "--tile", "0"])
    (raw,) = main([*args, "-o", str(tmp_path / "raw"), "--no-ema", "--tile", "8"])
    lr = to_float(read_image(photos / "a.png"))[None]
    with torch.no_grad():
        by_hand = self_ensemble(load_generator(tiny_checkpoint), lr)
        trained = load_generator(tiny_checkpoint, use_ema=False)(lr)
    for path, expected in ((plus, by_hand), (raw, trained)):
        levels = (expected[0].clamp(0, 1) * 255).round().permute(1, 2, 0).numpy()
        assert np.abs(np.asarray(Image.open(path)).astype(float) - levels).max() <= 1


def test_errors_name_the_problem(tiny_checkpoint: Path, photos: Path, tmp_path: Path) -> None:
    out = ["-o", str(tmp_path / "out"), "--quiet"]
    with pytest.raises(SystemExit, match=r"holds a x2 EDSR; it cannot upscale x4"):
        main(["--ckpt", str(tiny_checkpoint), str(photos), "--scale", "4", *out])
    with pytest.raises(SystemExit, match=r"a\.png is not a readable checkpoint: it is not a PyTorch zip checkpoint"):
        main(["--ckpt", str(photos / "a.png"), str(photos), *out])
    torch.save({"state_dict": {}, "args": argparse.Namespace(lr=1)}, tmp_path / "pickled.ckpt")
    with pytest.raises(SystemExit, match=r"pickled\.ckpt .* pickled Python objects.*argparse\.Namespace"):
        main(["--ckpt", str(tmp_path / "pickled.ckpt"), str(photos), *out])
    with pytest.raises(SystemExit, match=r"missing\.ckpt does not exist"):
        main(["--ckpt", str(tmp_path / "missing.ckpt"), str(photos), *out])
    with pytest.raises(SystemExit, match=r"input .*nothere\.png does not exist"):
        main(["--ckpt", str(tiny_checkpoint), str(photos / "nothere.png"), *out])
    (photos / "bad.png").write_bytes(b"\x89PNG truncated")
    with pytest.raises(SystemExit, match=r"Cannot read image .*bad\.png"):
        main(["--ckpt", str(tiny_checkpoint), str(photos), *out])
