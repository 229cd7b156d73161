"""The disk cache of decoded images: same draws, keyed on the files, safe against a killed build, read by workers."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import lightning as L
import pytest
import torch

from sr_lightning.data import (
    DiskImageCache,
    FileSource,
    ImageReadError,
    SampleSource,
    SRDataModule,
    TrainPatchDataset,
    default_cache_dir,
    read_image,
)
from sr_lightning.data import cache as cache_module
from sr_lightning.data import sources as sources_module

KEYS = [(0, 5), (1, 6), (2, 123456789), (1, 7)]


def _sources(folder: Path) -> list[FileSource]:
    return [FileSource(path) for path in sorted(folder.glob("*.png"))]


def _entries(cache_dir: Path) -> list[str]:
    return sorted(path.name for path in cache_dir.iterdir()) if cache_dir.exists() else []


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A cache folder apart from the image folders the fixtures write into ``tmp_path``."""
    return tmp_path / "cache"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files decoded (``FileSource.load``) or header-read (``FileSource.size``) from now on."""
    seen: list[str] = []

    def counting(function: Callable) -> Callable:
        def wrapper(path, *args, **kwargs):
            seen.append(Path(path).name)
            return function(path, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(sources_module, "read_image", counting(sources_module.read_image))
    monkeypatch.setattr(sources_module, "image_size", counting(sources_module.image_size))
    return seen


@pytest.mark.parametrize("augment", [False, True])
def test_disk_cached_draws_equal_uncached_draws(image_folder: Callable, cache_dir: Path, augment: bool) -> None:
    sources = _sources(image_folder([(40, 52), (44, 44), (37, 61)]))
    plain = TrainPatchDataset(sources, scale=4, patch_size=24, augment=augment)
    cached = TrainPatchDataset(sources, scale=4, patch_size=24, augment=augment, cache="disk", cache_dir=cache_dir)
    assert cached.disk_cache is not None and cached.disk_cache.built
    assert cached.disk_cache.nbytes == 3 * (40 * 52 + 44 * 44 + 37 * 61)
    assert [source.name for source in cached.sources] == ["img0", "img1", "img2"]
    for i, source in enumerate(sources):
        assert torch.equal(cached.disk_cache[i], read_image(source.path))
    for key in KEYS:
        assert torch.equal(plain[key]["hr"], cached[key]["hr"]) and torch.equal(plain[key]["lr"], cached[key]["lr"])


def test_unchanged_files_reuse_the_cache_without_reading_them(
    image_folder: Callable, cache_dir: Path, decodes: list[str]
) -> None:
    sources = _sources(image_folder([(40, 40)] * 3))
    first = DiskImageCache(sources, cache_dir=cache_dir, progress=False)
    assert first.built and sorted(decodes) == ["img0.png", "img1.png", "img2.png"]
    decodes.clear()
    dataset = TrainPatchDataset(sources, scale=2, patch_size=24, cache="disk", cache_dir=cache_dir)
    assert not dataset.disk_cache.built and dataset.disk_cache.path == first.path
    dataset[(1, 3)]
    assert decodes == []  # no header read, no decode: sizes and pixels come from the cache


@pytest.mark.parametrize("change", ["touch", "rewrite", "add", "remove"])
def test_a_changed_file_list_rebuilds_and_replaces_the_cache(
    image_folder: Callable, write_image: Callable, cache_dir: Path, decodes: list[str], change: str
) -> None:
    folder = image_folder([(40, 40)] * 3)
    old = DiskImageCache(_sources(folder), cache_dir=cache_dir, progress=False)
    if change == "touch":
        stat = (folder / "img1.png").stat()
        os.utime(folder / "img1.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    elif change == "rewrite":  # other pixels, same size in bytes would still change the mtime
        write_image(folder / "img1.png", 40, 40, seed=9)
    elif change == "add":
        write_image(folder / "img3.png", 40, 48, seed=3)
    else:
        (folder / "img2.png").unlink()
    decodes.clear()
    new = DiskImageCache(_sources(folder), cache_dir=cache_dir, progress=False)
    assert new.built and new.path != old.path
    assert sorted(decodes) == sorted(path.name for path in folder.glob("*.png"))
    assert _entries(cache_dir) == [new.path.name]  # the stale cache of the same folder is gone
    for i, source in enumerate(_sources(folder)):
        assert torch.equal(new[i], read_image(source.path))


def test_an_interrupted_build_keeps_nothing(
    image_folder: Callable, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _sources(image_folder([(40, 40)] * 3))
    calls = []

    def failing(path: Path):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the build
        return read_image(path)

    monkeypatch.setattr(sources_module, "read_image", failing)
    with pytest.raises(KeyboardInterrupt):
        DiskImageCache(sources, cache_dir=cache_dir, progress=False)
    assert _entries(cache_dir) == []
    monkeypatch.setattr(sources_module, "read_image", read_image)
    assert DiskImageCache(sources, cache_dir=cache_dir, progress=False).built


def test_a_killed_build_is_never_trusted_and_its_leftovers_are_removed(image_folder: Callable, cache_dir: Path) -> None:
    folder = image_folder([(40, 40)] * 3)
    script = f"""
        import os, sys
        from pathlib import Path
        from sr_lightning.data import DiskImageCache, FileSource

        class Dying(FileSource):
            def load(self):
                if self.name == "img2":
                    os._exit(9)  # killed: no exception handler, no cleanup
                return super().load()

        files = sorted(Path({str(folder)!r}).glob("*.png"))
        DiskImageCache([Dying(p) for p in files], {str(cache_dir)!r}, progress=False)
    """
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    leftovers = _entries(cache_dir)
    assert len(leftovers) == 1 and leftovers[0].startswith(".tmp_")  # a partial pixel file, no index
    cache = DiskImageCache(_sources(folder), cache_dir=cache_dir, progress=False)
    assert cache.built and _entries(cache_dir) == [cache.path.name]
    assert torch.equal(cache[2], read_image(folder / "img2.png"))


def test_a_damaged_cache_is_rebuilt(image_folder: Callable, cache_dir: Path) -> None:
    sources = _sources(image_folder([(40, 40)] * 2))
    cache = DiskImageCache(sources, cache_dir=cache_dir, progress=False)
    pixels = cache.path / "pixels.u8"
    pixels.write_bytes(pixels.read_bytes()[:100])  # cut short by a full disk, say
    again = DiskImageCache(sources, cache_dir=cache_dir, progress=False)
    assert again.built and torch.equal(again[1], read_image(sources[1].path))


def test_workers_read_the_cache(image_folder: Callable, cache_dir: Path) -> None:
    folder = str(image_folder([(40, 44), (36, 50), (48, 48)]))
    common = {"train_dir": folder, "val_dir": folder, "patch_size": 16, "batch_size": 4, "repeat": 4, "seed": 1}
    reference = list(SRDataModule(**common).train_dataloader())
    dm = SRDataModule(**common, cache="disk", cache_dir=str(cache_dir), num_workers=2)
    batches = list(dm.train_dataloader())
    assert len(batches) == len(reference) == 3
    for a, b in zip(reference, batches, strict=True):
        assert torch.equal(a["hr"], b["hr"]) and torch.equal(a["lr"], b["lr"])


def test_pickling_sends_the_index_not_the_pixels(image_folder: Callable, cache_dir: Path) -> None:
    sources = _sources(image_folder([(200, 300)] * 2))
    dataset = TrainPatchDataset(sources, scale=2, patch_size=24, cache="disk", cache_dir=cache_dir)
    expected = dataset[(1, 42)]["hr"]  # maps the file in this process
    data = pickle.dumps(dataset)
    assert len(data) < 10_000 < dataset.disk_cache.nbytes  # what a spawned worker receives
    assert torch.equal(pickle.loads(data)[(1, 42)]["hr"], expected)


def test_unreadable_files_name_the_file_and_keep_no_cache(
    image_folder: Callable, truncate: Callable, cache_dir: Path
) -> None:
    folder = image_folder([(40, 40)] * 3)
    truncate(folder / "img1.png")
    with pytest.raises(ImageReadError, match=r"img1\.png"):
        TrainPatchDataset(_sources(folder), scale=2, patch_size=24, cache="disk", cache_dir=cache_dir)
    assert _entries(cache_dir) == []
    with pytest.warns(UserWarning, match=r"img1\.png"):
        dataset = TrainPatchDataset(
            _sources(folder), scale=2, patch_size=24, cache="disk", cache_dir=cache_dir, skip_corrupt=True
        )
    assert [source.name for source in dataset.sources] == ["img0", "img2"]
    with pytest.raises(ImageReadError, match=r"img1\.png"):  # the cache remembers why, and still says which file
        TrainPatchDataset(_sources(folder), scale=2, patch_size=24, cache="disk", cache_dir=cache_dir)
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        DiskImageCache([FileSource(folder / "missing.png")], cache_dir=cache_dir)


def test_small_images_are_skipped_from_the_cache_with_a_warning(image_folder: Callable, cache_dir: Path) -> None:
    folder = image_folder([(40, 40), (20, 60)])
    DiskImageCache(_sources(folder), cache_dir=cache_dir, progress=False)
    with pytest.warns(UserWarning, match=r"img1\.png: its size 20x60"):
        dataset = TrainPatchDataset(_sources(folder), scale=2, patch_size=24, cache="disk", cache_dir=cache_dir)
    assert [source.name for source in dataset.sources] == ["img0"] and not dataset.disk_cache.built


def test_default_cache_dir(image_folder: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = image_folder([(40, 40)] * 2)
    assert default_cache_dir(_sources(folder)) == folder.resolve() / ".sr_lightning_cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir([SampleSource("rocket")]) == tmp_path / "xdg" / "sr_lightning" / "images"
    writable = cache_module._writable
    monkeypatch.setattr(cache_module, "_writable", lambda path: "xdg" in str(path) and writable(path))
    assert default_cache_dir(_sources(folder)) == tmp_path / "xdg" / "sr_lightning" / "images"  # read-only data


def test_a_source_without_fingerprint_is_refused(cache_dir: Path) -> None:
    class Custom:
        name, location = "x", "my database row 7"

    with pytest.raises(TypeError, match=r"my database row 7.*cache='memory'"):
        DiskImageCache([Custom()], cache_dir=cache_dir)  # type: ignore[list-item]


def test_datamodule_cache_options(image_folder: Callable, cache_dir: Path) -> None:
    folder = str(image_folder([(40, 40)] * 3))
    dm = SRDataModule(train_dir=folder, val_dir=folder, patch_size=24, cache="disk", cache_dir=str(cache_dir))
    dm.prepare_data()  # builds, as Lightning's one process per node would
    dm.setup("fit")
    assert not dm.train_dataset.disk_cache.built and dm.train_dataset.disk_cache.path.parent == cache_dir
    legacy = SRDataModule(train_dir=folder, val_dir=folder, patch_size=24, cache_images=True)
    legacy.setup("fit")
    assert legacy.train_dataset._images is not None and legacy.train_dataset.disk_cache is None
    with pytest.raises(ValueError, match="cache_images=True means cache='memory', but cache='disk'"):
        SRDataModule(cache_images=True, cache="disk")
    with pytest.raises(ValueError, match=r"cache must be one of .* got 'lmdb'"):
        SRDataModule(cache="lmdb")  # type: ignore[arg-type]


def test_only_fit_builds_the_cache(image_folder: Callable, cache_dir: Path, tiny_trainer: Callable) -> None:
    folder = str(image_folder([(40, 40)] * 3))
    dm = SRDataModule(train_dir=folder, test_dir=folder, patch_size=24, cache="disk", cache_dir=str(cache_dir))
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=1, limit_val_batches=1, num_sanity_val_steps=0)
    trainer.test(_Identity(), datamodule=dm, verbose=False)
    assert _entries(cache_dir) == []  # testing needs no training image
    trainer.fit(_Identity(), datamodule=dm)
    assert len(_entries(cache_dir)) == 1


class _Identity(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(()))

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return (batch["hr"] * self.weight).mean()

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        pass

    def test_step(self, batch: dict, batch_idx: int) -> None:
        pass

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.0)
