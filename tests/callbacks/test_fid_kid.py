"""FIDKIDMetrics in real fits: each logged value is torchmetrics' on exactly that epoch's SR/HR images (or patches)."""

from __future__ import annotations

import warnings
from pathlib import Path
from urllib.error import URLError

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor, nn
from torchmetrics.image import FrechetInceptionDistance, KernelInceptionDistance

from sr_lightning import EDSR, SRDataModule, SRModule
from sr_lightning.callbacks.fid_kid import FIDKIDMetrics, cut_patches
from sr_lightning.hub import MissingWeightsError


class Counting(nn.Module):
    """A tiny seeded extractor, (N, 3, H, W) -> (N, 16), that records the batch shapes it sees."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.shapes: list[tuple[int, ...]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.shapes.append(tuple(x.shape))
        return self.net(x)


class Float64(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x.double()


class Recorder(Callback):
    """The SR/HR pairs of every scored epoch, and the metrics logged at its end."""

    def __init__(self) -> None:
        self.pairs: dict[str, list[tuple[Tensor, Tensor]]] = {}
        self.logged: dict[str, dict[str, float]] = {}

    def _record(self, key: str, outputs: dict) -> None:
        self.pairs.setdefault(key, []).append((outputs["sr"].clamp(0, 1).clone(), outputs["hr"].clone()))

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking:
            self._record(f"val{trainer.current_epoch}", outputs)

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.logged[f"val{trainer.current_epoch}"] = {k: float(v) for k, v in trainer.callback_metrics.items()}

    def on_test_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._record("test", outputs)

    def on_test_end(self, trainer, pl_module) -> None:
        self.logged["test"] = {k: float(v) for k, v in trainer.callback_metrics.items()}


def unfold_patches(images: Tensor, size: int) -> Tensor:
    patches = images.unfold(2, size, size).unfold(3, size, size)  # (B, C, rows, cols, size, size)
    return patches.permute(0, 2, 3, 1, 4, 5).reshape(-1, images.shape[1], size, size)


def reference(extractor: nn.Module, pairs: list[tuple[Tensor, Tensor]], patch: int | None = None) -> dict[str, float]:
    """torchmetrics' FID and KID (one subset of every sample) on ``pairs``, from scratch."""
    if patch is not None:
        pairs = [(unfold_patches(sr, patch), unfold_patches(hr, patch)) for sr, hr in pairs]
    count = sum(len(sr) for sr, _ in pairs)
    fid = FrechetInceptionDistance(extractor, normalize=True)
    with warnings.catch_warnings():  # torchmetrics' "will save all extracted features"
        warnings.simplefilter("ignore")
        kid = KernelInceptionDistance(nn.Sequential(extractor, Float64()), subsets=1, subset_size=count, normalize=True)
    for sr, hr in pairs:
        for metric in (fid, kid):
            metric.update(hr, real=True)
            metric.update(sr, real=False)
    return {"fid": fid.compute().item(), "kid": kid.compute()[0].item(), "count": count}


@pytest.fixture
def data(tmp_path: Path, write_images):
    def make(val_images: int = 4, test_images: int = 0) -> SRDataModule:
        return SRDataModule(
            scale=2,
            train_dir=str(write_images(tmp_path / "train")),
            val_dir=str(write_images(tmp_path / "val", val_images)),  # 48x40 images
            test_dir=str(write_images(tmp_path / "test", test_images)) if test_images else None,
            patch_size=24,
            batch_size=2,
        )

    return make


def tiny_module() -> SRModule:
    torch.manual_seed(0)
    return SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))


def test_each_epoch_logs_torchmetrics_values_of_its_own_images(data, tiny_trainer) -> None:
    extractor, recorder = Counting(), Recorder()
    callback = FIDKIDMetrics(feature_extractor=extractor, kid_subsets=3)
    tiny_trainer(max_epochs=2, limit_train_batches=1, callbacks=[callback, recorder]).fit(tiny_module(), data())
    for epoch in ("val0", "val1"):
        expected = reference(extractor.net, recorder.pairs[epoch])
        logged = recorder.logged[epoch]
        assert expected["count"] == 4
        assert logged["val/fid"] == pytest.approx(expected["fid"], rel=1e-4)
        assert logged["val/kid"] == pytest.approx(expected["kid"], rel=1e-4)
        assert 0 <= logged["val/kid_std"] < 1e-6 * logged["val/kid"]  # 1000 clamped to 4: every subset is the set
    # Reset between epochs: both epochs' images together give another FID than epoch 1 alone.
    both = reference(extractor.net, recorder.pairs["val0"] + recorder.pairs["val1"])
    assert abs(both["fid"] - recorder.logged["val1"]["val/fid"]) > 1e-3 * both["fid"]
    assert len(extractor.shapes) == 2 * 2 * 4  # epochs x (HR, SR) x images, none in the sanity check


def test_skipped_epochs_log_nothing_and_extract_nothing(data, tiny_trainer) -> None:
    extractor, recorder = Counting(), Recorder()
    callback = FIDKIDMetrics(every_n_epochs=2, feature_extractor=extractor, kid=False)
    tiny_trainer(max_epochs=2, limit_train_batches=1, callbacks=[callback, recorder]).fit(tiny_module(), data())
    assert "val/fid" not in recorder.logged["val0"]
    assert recorder.logged["val1"]["val/fid"] == pytest.approx(reference(extractor.net, recorder.pairs["val1"])["fid"])
    assert "val/kid" not in recorder.logged["val1"]
    assert len(extractor.shapes) == 2 * 4  # epoch 1 only


def test_patches_are_scored_with_the_protocol_in_the_name_on_validation_and_test(data, tiny_trainer) -> None:
    extractor, recorder = Counting(), Recorder()
    callback = FIDKIDMetrics(feature_extractor=extractor, patch_size=16, kid_subsets=2)
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, callbacks=[callback, recorder])
    module, datamodule = tiny_module(), data(test_images=3)
    trainer.fit(module, datamodule)
    assert extractor.shapes == [(6, 3, 16, 16)] * (2 * 4)  # 48x40 -> 3 x 2 patches of 16, HR and SR of 4 images
    trainer.test(module, datamodule)
    for key, stage in (("val0", "val"), ("test", "test")):
        expected = reference(extractor.net, recorder.pairs[key], patch=16)
        assert expected["count"] == 6 * (4 if stage == "val" else 3)
        logged = recorder.logged[key]
        assert logged[f"{stage}/fid_patch16"] == pytest.approx(expected["fid"], rel=1e-4)
        assert logged[f"{stage}/kid_patch16"] == pytest.approx(expected["kid"], rel=1e-4)
        assert f"{stage}/kid_std_patch16" in logged and f"{stage}/fid" not in logged


def test_cut_patches_are_aligned_and_drop_the_remainders() -> None:
    images = torch.rand(2, 3, 35, 50)
    patches = cut_patches(images, 16)
    assert torch.equal(patches, unfold_patches(images, 16))
    assert patches.shape == (2 * 2 * 3, 3, 16, 16)
    assert torch.equal(patches[5], images[0, :, 16:32, 32:48])
    with pytest.raises(ValueError, match="images of 35x50 are smaller than patch_size=40"):
        cut_patches(images, 40)


def test_too_few_images_and_bad_extractors_are_clear_errors(data, tiny_trainer) -> None:
    one_image = tiny_trainer(callbacks=[FIDKIDMetrics(feature_extractor=Counting(), kid=False)])
    with pytest.raises(ValueError, match=r"got 1 and 1\. Score more images: more evaluation images, or a"):
        one_image.validate(tiny_module(), data(val_images=1))
    unpooled = tiny_trainer(callbacks=[FIDKIDMetrics(feature_extractor=nn.Conv2d(3, 4, 3))])
    with pytest.raises(ValueError, match=r"Conv2d must map images .* it returned \(1, 4, 46, 38\)"):
        unpooled.validate(tiny_module(), data())


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="every_n_epochs must be an integer >= 1, got 0"):
        FIDKIDMetrics(every_n_epochs=0, feature_extractor=Counting())
    with pytest.raises(ValueError, match="fid=False and kid=False"):
        FIDKIDMetrics(fid=False, kid=False)
    with pytest.raises(ValueError, match="patch_size must be an integer >= 1 or None, got 0"):
        FIDKIDMetrics(patch_size=0)
    with pytest.raises(ValueError, match="kid_subset_size must be an integer >= 1, got 0"):
        FIDKIDMetrics(kid_subset_size=0)


def test_missing_inception_weights_stop_the_fit_before_training(
    data, tiny_trainer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)

    def offline(url: str, *args, **kwargs) -> None:
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, callbacks=[FIDKIDMetrics()])
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    with pytest.raises(MissingWeightsError, match=rf"weights-inception-2015-12-05-6726825d\.pth is not in {folder}"):
        trainer.fit(tiny_module(), data())
    assert trainer.global_step == 0
