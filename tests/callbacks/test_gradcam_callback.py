"""GradCAMImages: one picture per validation epoch (none for the sanity check), with the expected grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import sr_lightning.callbacks.gradcam as gradcam_module
from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks.gradcam import GradCAMImages


def test_fit_writes_a_grid_of_lr_heatmap_sr_heatmap_after_validation_only(
    tmp_path: Path, tiny_data, tiny_trainer, monkeypatch
) -> None:
    calls: list[tuple[bool, str]] = []
    real_log_image = gradcam_module.log_image

    def spy(trainer, key, image, caption, filename):
        calls.append((trainer.sanity_checking, filename))
        return real_log_image(trainer, key, image, caption, filename)

    monkeypatch.setattr(gradcam_module, "log_image", spy)
    data = tiny_data(3)  # 48x40 HR -> 24x20 LR
    callback = GradCAMImages(num_images=2, max_size=16)  # LR centre crop 16x16 -> SR 32x32
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, callbacks=[callback])
    torch.manual_seed(0)
    trainer.fit(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)), datamodule=data)

    assert calls == [(False, "grad_cam_epoch000.png")]  # the sanity check ran but drew nothing
    assert callback.last_path == tmp_path / "images" / "grad_cam_epoch000.png"
    grid = np.asarray(Image.open(callback.last_path).convert("RGB"), dtype=np.float32) / 255
    assert grid.shape == (2 * 32 + 3 * 2, 4 * 32 + 5 * 2, 3)  # 2 rows x 4 columns of 32 px, 2 px padding
    # The first tile is the LR centre crop (rows 4..19, cols 2..17), nearest-neighbour enlarged.
    lr = data.val_dataloader().dataset[0]["lr"]
    expected = F.interpolate(lr[None, :, 4:20, 2:18], scale_factor=2, mode="nearest")[0].permute(1, 2, 0)
    assert np.allclose(grid[2:34, 2:34], expected.numpy(), atol=1 / 255 + 1e-6)
    heat_tile, sr_tile, sr_heat_tile = (grid[2:34, 2 + 34 * k : 34 + 34 * k] for k in (1, 2, 3))
    assert np.abs(heat_tile - grid[2:34, 2:34]).mean() > 0.05  # the heatmap colours are there
    assert np.abs(sr_heat_tile - sr_tile).mean() > 0.05


def test_arguments_and_layer_names_are_checked_early() -> None:
    for kwargs, message in (
        ({"num_images": 0}, "num_images=0"),
        ({"every_n_epochs": 0}, "every_n_epochs must be an integer >= 1, got 0"),
        ({"max_size": 0}, "max_size=0"),
        ({"alpha": 1.5}, "alpha must be in"),
        ({"target": "edges"}, "target must be"),
    ):
        with pytest.raises(ValueError, match=message):
            GradCAMImages(**kwargs)
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    GradCAMImages(layer="body.1").setup(None, module, "fit")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"layer='tail\.9'.*'body\.0\.body\.0'"):
        GradCAMImages(layer="tail.9").setup(None, module, "fit")  # type: ignore[arg-type]
