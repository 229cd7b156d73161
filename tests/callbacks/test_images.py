"""ImagePanel: the detail crop lands on the edges, the requested images are the rows, the same region every epoch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lightning import EDSR, SRDataModule, SRModule
from sr_lightning.callbacks.images import ImagePanel, detail_offset, make_panel
from sr_lightning.data import imresize
from sr_lightning.data.io import read_image, to_float


def _half_flat_image() -> torch.Tensor:
    """32x64 HR: flat grey on the left half, faint noise on the right, strong noise in rows 8-23, columns 40-55."""
    gen = torch.Generator().manual_seed(0)
    hr = torch.full((3, 32, 64), 0.5)
    hr[:, :, 32:] += 0.05 * (2 * torch.rand(3, 32, 32, generator=gen) - 1)
    hr[:, 8:24, 40:56] = torch.rand(3, 16, 16, generator=gen)
    return hr


def test_detail_crop_finds_the_textured_region_and_all_columns_show_it() -> None:
    hr = _half_flat_image()
    lr = imresize(hr, 1 / 2).clamp(0, 1)
    sr = hr.flip(-2)  # anything of HR size
    offset = detail_offset(hr, scale=2, crop_size=16)
    assert offset == (4, 20)  # LR (4, 20) = HR rows 8-23, columns 40-55: the strong-noise square
    panel = make_panel(lr, sr, hr, scale=2, crop_size=16, offset=offset)
    assert torch.equal(panel[3], hr[:, 8:24, 40:56])
    assert torch.equal(panel[2], sr[:, 8:24, 40:56])
    assert torch.allclose(panel[1], imresize(lr[None], 2).clamp(0, 1)[0, :, 8:24, 40:56], atol=1e-6)
    assert torch.equal(panel[0][:, ::2, ::2], lr[:, 4:12, 20:28])
    # Without the square, any window of the noisy right half (LR columns 16-31) beats the flat left half.
    noisy = torch.full((3, 32, 64), 0.5)
    noisy[:, :, 32:] = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert detail_offset(noisy, scale=2, crop_size=16)[1] >= 16
    assert detail_offset(torch.full((3, 32, 64), 0.5), scale=2, crop_size=16) == (4, 12)  # flat: the centre


def test_make_panel_rejects_an_offset_outside_the_image() -> None:
    hr = torch.rand(3, 32, 32)
    with pytest.raises(ValueError, match=r"offset \(13, 0\) puts a 4x4 LR crop outside the 16x16 LR image"):
        make_panel(hr[:, ::2, ::2], hr, hr, scale=2, crop_size=8, offset=(13, 0))


def test_image_panel_rejects_bad_indices_and_crop() -> None:
    with pytest.raises(ValueError, match=r"distinct validation positions >= 0, got \[1, 1\]"):
        ImagePanel(indices=[1, 1])
    with pytest.raises(ValueError, match=r"got \[-1\]"):
        ImagePanel(indices=[-1])
    with pytest.raises(ValueError, match="crop must be 'detail' or 'center', got 'middle'"):
        ImagePanel(crop="middle")  # type: ignore[arg-type]


def _tile(png: Path, row: int, column: int, size: int) -> torch.Tensor:
    """One crop of a panel PNG (make_grid with 2 px padding) as uint8 (3, size, size)."""
    pixels = torch.from_numpy(np.array(Image.open(png).convert("RGB"))).permute(2, 0, 1)
    y, x = 2 + row * (size + 2), 2 + column * (size + 2)
    return pixels[:, y : y + size, x : x + size]


def test_image_panel_shows_the_requested_images_in_the_same_region_every_epoch(
    tmp_path: Path, write_images, tiny_trainer
) -> None:
    val_dir = write_images(tmp_path / "val", 4)
    data = SRDataModule(
        scale=2,
        train_dir=str(write_images(tmp_path / "train")),
        val_dir=str(val_dir),
        patch_size=24,
        batch_size=2,
        val_batch_size=3,  # batches of 3 and 1 images: positions count across batches
    )
    panel = ImagePanel(crop_size=16, indices=[3, 1])
    trainer = tiny_trainer(max_epochs=2, limit_train_batches=1, callbacks=[panel])
    trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
    pngs = [tmp_path / "images" / f"val_epoch{epoch:03d}.png" for epoch in (0, 1)]
    assert Image.open(pngs[0]).size == (4 * 16 + 5 * 2, 2 * 16 + 3 * 2)
    for row, index in enumerate([3, 1]):
        hr = to_float(read_image(val_dir / f"img{index}.png"))
        top, left = detail_offset(hr, scale=2, crop_size=16)
        assert (top, left) != (8, 6)  # not the centre of the 24x20 LR image
        expected = (hr[:, 2 * top : 2 * top + 16, 2 * left : 2 * left + 16] * 255).round().to(torch.uint8)
        for png in pngs:
            assert torch.equal(_tile(png, row, 3, 16), expected)  # the HR column is that image's detail crop
        assert torch.equal(_tile(pngs[0], row, 0, 16), _tile(pngs[1], row, 0, 16))  # LR: same region
    assert set(panel._offsets.found) == {(3, 2), (1, 2)}  # found once per image and scale


def test_image_panel_names_indices_beyond_the_validation_set(tmp_path: Path, tiny_data, tiny_trainer) -> None:
    data = tiny_data(2)
    panel = ImagePanel(crop_size=16, indices=[0, 5], crop="center")
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, num_sanity_val_steps=0, callbacks=[panel])
    with pytest.raises(ValueError, match=r"indices \[5\] are beyond the 2 validation images"):
        trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)
