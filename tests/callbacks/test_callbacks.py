"""Callbacks: the panel shows aligned crops, the metrics need images, the summary table compares with bicubic."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks import ImagePanel, SRMetrics, format_comparison, make_panel
from sr_lightning.data import imresize


def test_panel_columns_show_the_same_region() -> None:
    gen = torch.Generator().manual_seed(0)
    hr = torch.rand(3, 40, 52, generator=gen)
    lr = imresize(hr, 1 / 2).clamp(0, 1)
    sr = hr.flip(-1)  # anything of HR size
    panel = make_panel(lr, sr, hr, scale=2, crop_size=16)
    assert panel.shape == (4, 3, 16, 16)
    # LR 20x26, crop 8 -> LR offset (6, 9) -> HR offset (12, 18).
    assert torch.equal(panel[3], hr[:, 12:28, 18:34])
    assert torch.equal(panel[2], sr[:, 12:28, 18:34])
    assert torch.allclose(panel[1], imresize(lr[None], 2).clamp(0, 1)[0, :, 12:28, 18:34])
    assert torch.equal(panel[0][:, ::2, ::2], lr[:, 6:14, 9:17])  # nearest-neighbour enlargement


def test_format_comparison_reports_gain() -> None:
    text = format_comparison({"val/psnr_y": 34.5, "val/bicubic_psnr_y": 33.25, "val/ssim_y": 0.9}, "val")
    assert "PSNR-Y (dB)" in text and "+1.25" in text
    assert "SSIM-Y" in text and "0.9000" in text


def test_callbacks_reject_bad_arguments_and_outputs() -> None:
    with pytest.raises(ValueError, match="border must be >= 0"):
        SRMetrics(border=-1)
    with pytest.raises(ValueError, match="num_images=0"):
        ImagePanel(num_images=0)
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    with pytest.raises(TypeError, match="return a dict with 'lr', 'sr' and 'hr'"):
        SRMetrics()._score_batch("val", module, torch.zeros(1))
    with pytest.raises(ValueError, match="SRMetrics every_n_epochs must be an integer >= 1, got 0"):
        SRMetrics(every_n_epochs=0)


def test_image_panel_writes_a_png_per_validation(tmp_path: Path, tiny_data, tiny_trainer) -> None:
    data = tiny_data(2)
    panel = ImagePanel(num_images=2, crop_size=16)
    trainer = tiny_trainer(max_epochs=2, limit_train_batches=1, callbacks=[panel])
    trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    pngs = sorted((tmp_path / "images").glob("val_epoch*.png"))
    assert [p.name for p in pngs] == ["val_epoch000.png", "val_epoch001.png"]  # none for the sanity check
    width, height = Image.open(pngs[-1]).size
    assert (width, height) == (4 * 16 + 5 * 2, 2 * 16 + 3 * 2)  # 4 columns x 2 rows of 16 px, 2 px padding


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ("metrics", "psnr_ssim", ["SRMetrics"]),
        ("distribution", "fid_kid", ["FIDKIDMetrics", "cut_patches"]),
        ("perceptual", "lpips", ["LPIPSMetric", "LPIPSMonitor"]),
    ],
)
def test_old_callback_modules_are_deprecated_shims(old: str, new: str, names: list[str]) -> None:
    import importlib
    import sys

    sys.modules.pop(f"sr_lightning.callbacks.{old}", None)
    with pytest.warns(DeprecationWarning, match=rf"sr_lightning\.callbacks\.{old} is deprecated"):
        shim = importlib.import_module(f"sr_lightning.callbacks.{old}")
    moved = importlib.import_module(f"sr_lightning.callbacks.{new}")
    assert all(getattr(shim, name) is getattr(moved, name) for name in names)
