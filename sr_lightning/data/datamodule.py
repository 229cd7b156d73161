"""The LightningDataModule: training patches, whole validation/test images, LR images to predict, from folders.

``SRDataModule()`` with no argument trains on the photographs embedded in scikit-image and validates on two of
them (:mod:`sr_lightning.data.embedded_photos`), so the quickstart runs offline. With folders, every argument is a
plain ``str`` / ``list[str]`` / number, so a LightningCLI YAML sets it directly::

    data:
      scale: 4
      train_dir: data/DIV2K/DIV2K_train_HR
      val_dir: data/benchmarks/Set5      # HR/ + LR_bicubic/X4/ (a paired folder) or a folder of HR images
      test_dir: data/benchmarks/Set14
      cache: disk                        # decode each training image once, not at every draw (see below)
      degrade_on_device: true            # make the LR patches on the accelerator, per batch

Paired training data: when the LR images exist as files, training cuts aligned patches from them instead of making
them by bicubic (:class:`~sr_lightning.data.paired_patches.PairedPatchDataset`): a ``train_dir`` holding ``HR/`` and
``LR_bicubic/X<s>/`` is used that way automatically, and DIV2K's own layout takes one more argument::

    data:
      scale: 4
      train_dir: data/DIV2K/DIV2K_train_HR
      train_lr_dir: data/DIV2K/DIV2K_train_LR_bicubic/X4   # 0001.png <-> 0001x4.png

Speed: decoding a 2K PNG costs far more than cutting and resizing a 96-pixel patch. ``cache="disk"`` decodes
the training images once, in ``setup`` (``prepare_data`` under a Trainer, so one process per node builds it),
into a memory-mapped file that every worker and every later run shares (:mod:`sr_lightning.data.cache`); it is
rebuilt when a training file changes. ``degrade_on_device=True`` moves the bicubic LR to
:meth:`SRDataModule.on_after_batch_transfer`: one batched resize on the accelerator, with the same 8-bit
values as the workers' (:func:`~sr_lightning.data.degradation.bicubic_lr` computes in float64).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from sr_lightning.data.cache import DiskImageCache
from sr_lightning.data.datasets import CacheMode, TrainPatchDataset, cache_mode
from sr_lightning.data.degradation import bicubic_lr
from sr_lightning.data.embedded_photos import DEFAULT_TRAIN_NAMES, DEFAULT_VAL_NAMES
from sr_lightning.data.io import list_images
from sr_lightning.data.layout import PairedFolder, find_pairs, is_paired_folder, lr_folder
from sr_lightning.data.lr_images import LRImageDataset
from sr_lightning.data.paired import PairedImageDataset, collate_whole_images
from sr_lightning.data.paired_patches import PairedPatchDataset, build_pair_caches, pairs_with_lr
from sr_lightning.data.samplers import SeededPatchSampler
from sr_lightning.data.sources import FileSource, ImageSource, SampleSource, split_by_name

__all__ = ["SUPPORTED_SCALES", "SRDataModule"]

SUPPORTED_SCALES: tuple[int, ...] = (2, 3, 4)

_NO_TRAIN_DATA = (
    "No training images: set --data.train_dir (data.train_dir in a YAML config, SRDataModule(train_dir=...) in "
    "Python) to the folder of the HR training images (e.g. DIV2K/DIV2K_train_HR; searched recursively), or to a "
    "paired folder with HR/ and LR_bicubic/X<s>/ (DIV2K's separate LR folder goes in --data.train_lr_dir), or give "
    "--data.train_files. This data module has use_samples=False, so it does not train on the embedded sample "
    "photographs (use_samples=true does, for a smoke test)."
)
_NO_VAL_DATA = (
    "No validation images: set --data.val_dir (data.val_dir in a YAML config) to a folder of HR images or a paired "
    "folder with HR/ and LR_bicubic/X<s>/, or set --data.train_dir, whose images are then split. This data module "
    "has use_samples=False, so it does not validate on the embedded sample photographs."
)

_TrainImages = list[ImageSource] | PairedFolder
"""Training (or validation) images: HR sources (LR made by bicubic), or a folder of HR/LR pairs."""


def _check_scale(scale: int, patch_size: int) -> None:
    if scale not in SUPPORTED_SCALES:
        raise ValueError(f"scale must be one of {SUPPORTED_SCALES}, got {scale!r}.")
    if patch_size < 1 or patch_size % scale:
        raise ValueError(f"patch_size must be a positive multiple of scale {scale}, got {patch_size!r}.")


class SRDataModule(L.LightningDataModule):
    """HR/LR data for super-resolution: random patches to train, whole images to validate, test and predict.

    Training images come from ``train_dir`` (searched recursively), ``train_files``, or, with neither, the
    embedded scikit-image photographs (unless ``use_samples=False``: then ``fit`` raises). Their LR patches are
    made by MATLAB bicubic, except from paired training data: a ``train_dir`` with ``HR/`` and
    ``LR_bicubic/X<scale>/`` (a ``train_dir`` with ``HR/`` but no LR folder of the scale trains on ``HR/`` with
    bicubic LR), or ``train_dir`` + ``train_lr_dir`` (DIV2K's separate HR and LR folders); the patches are then
    cut from the LR files (:class:`~sr_lightning.data.paired_patches.PairedPatchDataset`).
    Validation images come from ``val_dir``; without it, the embedded default uses
    :data:`~sr_lightning.data.embedded_photos.DEFAULT_VAL_NAMES`, and training images are split by name
    (:func:`~sr_lightning.data.sources.split_by_name`: every ``round(1 / val_fraction)``-th image in name order,
    at least one on each side; pairs stay pairs). ``val_dir`` and ``test_dir`` are either paired folders
    (``HR/`` + ``LR_bicubic/X<s>/``, the official LR files are used) or folders of HR images (LR made by MATLAB
    bicubic). ``predict_dir`` holds the LR images to upscale (no HR image needed), or is a paired folder whose
    ``LR_bicubic/X<s>/`` files are upscaled (:class:`~sr_lightning.data.lr_images.LRImageDataset`).

    Batches: train ``{"lr": (B, 3, p/s, p/s), "hr": (B, 3, p, p)}``; val/test ``{"lr", "hr", "name"}``; predict
    ``{"lr", "name", "path"}`` with ``path`` the input's path relative to ``predict_dir`` (a paired folder:
    ``<HR sub-folder>/<name><suffix>``); ``name`` and ``path`` are lists of str. Every image is float32 in [0, 1]
    and every LR image is 8-bit quantized. With ``degrade_on_device``, the train loader yields ``{"hr"}`` and
    ``lr`` is added after the transfer.

    Args:
        scale: the super-resolution factor, 2, 3 or 4; :attr:`scale` can be changed during training.
        train_dir: folder of training HR images, or a paired folder (``HR/`` + ``LR_bicubic/X<s>/``).
        train_files: training HR image files, instead of ``train_dir``.
        val_dir: validation folder (paired, or HR images).
        test_dir: test folder (paired, or HR images), needed by ``trainer.test``.
        predict_dir: folder of LR images to upscale, or a paired folder, needed by ``trainer.predict``.
        patch_size: HR training patch side; a multiple of ``scale`` (a multiple of 12 allows every scale).
        repeat: random patches per training image per epoch.
        val_fraction: share of ``train_dir``/``train_files`` used for validation when ``val_dir`` is not set.
        augment: random flips and 90-degree rotations of training patches.
        batch_size: training batch size; the last incomplete batch is dropped unless it is the only one.
        val_batch_size: validation/test/predict batch size; whole images differ in size, so above 1 every
            image of a batch must have the same size (else a ValueError names the sizes).
        num_workers: DataLoader worker processes.
        persistent_workers: keep workers between epochs (only used when ``num_workers > 0``).
        pin_memory: pin batches in page-locked memory (faster host-to-GPU copies).
        seed: the seed of the training draws; the same seed gives the same batches with any ``num_workers``.
        skip_corrupt: skip unreadable images with a warning naming each one, instead of raising.
        cache: decoded training images: ``"none"`` (decode at every draw), ``"memory"`` (decode all at setup,
            in this process) or ``"disk"`` (decode once into ``cache_dir``, reused by later runs until a file
            changes; see :class:`~sr_lightning.data.datasets.TrainPatchDataset`).
        cache_dir: the disk cache's folder; None: ``.sr_lightning_cache`` in the training images' folder if
            writable, else ``~/.cache/sr_lightning/images``.
        cache_images: the older spelling of ``cache="memory"``.
        degrade_on_device: make training LR patches per batch in :meth:`on_after_batch_transfer` (on the
            accelerator) instead of in the workers; same values. Only the Trainer's datamodule gets the hook:
            a loop of your own calls ``dm.on_after_batch_transfer(batch, 0)`` itself. Not with paired training data
            (its LR patches are files): setting both raises when the training set is built.
        train_lr_dir: the folder of the LR images of ``train_dir`` at ``scale`` (DIV2K:
            ``DIV2K_train_LR_bicubic/X4``, files ``0001x4.png`` or ``0001.png`` for ``0001.png``); one scale only.
        use_samples: without ``train_dir``/``train_files``, train and validate on the embedded sample photographs
            (the offline quickstart). False: ``setup("fit")`` raises a ValueError naming ``--data.train_dir``, so a
            recipe that needs a dataset never trains on the samples by mistake; ``validate``/``test``/``predict``
            with their own folders work as usual.

    Raises:
        ValueError: for an unsupported ``scale``, a ``patch_size`` that is not a multiple of it, a
            ``val_fraction`` outside (0, 1), a non-positive batch size or ``repeat``, a negative
            ``num_workers``, both ``train_dir`` and ``train_files``, ``train_lr_dir`` without ``train_dir``, an
            unknown ``cache``, or ``cache_images=True`` with a ``cache`` other than ``"memory"``.

    Example:
        >>> dm = SRDataModule(scale=4, patch_size=48, batch_size=2)
        >>> batch = next(iter(dm.train_dataloader()))
        >>> batch["lr"].shape, batch["hr"].shape
        (torch.Size([2, 3, 12, 12]), torch.Size([2, 3, 48, 48]))
        >>> dm.scale = 2
        >>> next(iter(dm.train_dataloader()))["lr"].shape
        torch.Size([2, 3, 24, 24])
    """

    def __init__(
        self,
        scale: int = 2,
        train_dir: str | None = None,
        train_files: list[str] | None = None,
        val_dir: str | None = None,
        test_dir: str | None = None,
        predict_dir: str | None = None,
        patch_size: int = 96,
        repeat: int = 1,
        val_fraction: float = 0.1,
        augment: bool = True,
        batch_size: int = 16,
        val_batch_size: int = 1,
        num_workers: int = 0,
        persistent_workers: bool = False,
        pin_memory: bool = False,
        seed: int = 0,
        skip_corrupt: bool = False,
        cache: CacheMode = "none",
        cache_dir: str | None = None,
        cache_images: bool = False,
        degrade_on_device: bool = False,
        train_lr_dir: str | None = None,
        use_samples: bool = True,
    ) -> None:
        super().__init__()
        _check_scale(scale, patch_size)
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}.")
        for arg, value in (("repeat", repeat), ("batch_size", batch_size), ("val_batch_size", val_batch_size)):
            if value < 1:
                raise ValueError(f"{arg} must be >= 1, got {value!r}.")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers!r}.")
        if train_dir is not None and train_files:
            raise ValueError("Give train_dir or train_files, not both.")
        if train_lr_dir is not None and train_dir is None:
            raise ValueError(
                f"train_lr_dir={train_lr_dir!r} holds the LR images of train_dir, but train_dir is not set: set it to "
                "the folder of their HR images (e.g. DIV2K_train_HR)."
            )
        self._cache = cache_mode(cache)
        if cache_images and self._cache not in ("none", "memory"):
            raise ValueError(f"cache_images=True means cache='memory', but cache={cache!r}: give only cache.")
        self._cache = "memory" if cache_images else self._cache
        self.save_hyperparameters()
        self._scale = scale
        self.train_dataset: TrainPatchDataset | PairedPatchDataset | None = None
        self.val_dataset: PairedImageDataset | None = None
        self.test_dataset: PairedImageDataset | None = None
        self.predict_dataset: LRImageDataset | None = None

    @property
    def scale(self) -> int:
        """The current factor. Setting it switches every dataset already built, workers included.

        ``hparams.scale`` keeps the starting value. A change reaches the batches drawn after it; batches that
        workers already prefetched keep the old scale. So switch in ``on_train_epoch_start`` of the epoch before
        its first batch, except for the first epoch (or the first after resuming), whose iterator Lightning
        creates earlier: switch for it in ``setup`` or ``on_fit_start``.
        """
        return self._scale

    @scale.setter
    def scale(self, scale: int) -> None:
        _check_scale(scale, self.hparams.patch_size)
        datasets = [self.val_dataset, self.test_dataset, self.predict_dataset, self.train_dataset]
        built = [dataset for dataset in datasets if dataset is not None]
        try:
            for dataset in built:
                dataset.scale = scale
        except Exception:
            for dataset in built:  # undo, so a failed switch (a missing LR_bicubic file) leaves all at the old scale
                dataset.scale = self._scale
            raise
        self._scale = scale

    def _has_train_images(self) -> bool:
        return self.hparams.train_dir is not None or bool(self.hparams.train_files)

    def _train_folder(self) -> PairedFolder | None:
        """The training pairs, when the LR images are files: ``train_lr_dir``, or ``LR_bicubic/X<s>/`` in train_dir."""
        hp = self.hparams
        if hp.train_lr_dir is not None:
            return PairedFolder(Path(hp.train_dir), Path(hp.train_lr_dir), hp.scale)
        if (
            hp.train_dir is not None
            and is_paired_folder(hp.train_dir)
            and lr_folder(hp.train_dir, self._scale).is_dir()
        ):
            return PairedFolder(Path(hp.train_dir))
        return None

    def _sources(self) -> tuple[_TrainImages, _TrainImages | None, str]:
        """Training images, validation images (None: use val_dir) and where the training images come from."""
        hp = self.hparams
        if not self._has_train_images():
            if not hp.use_samples:
                raise ValueError(_NO_TRAIN_DATA)
            train: list[ImageSource] = [SampleSource(name) for name in DEFAULT_TRAIN_NAMES]
            return train, [SampleSource(name) for name in DEFAULT_VAL_NAMES], "the embedded samples"
        folder = self._train_folder()
        if folder is not None:
            return self._split_pairs(folder)
        if hp.train_dir is not None:
            origin = f"train_dir {hp.train_dir}"
            if is_paired_folder(hp.train_dir):  # HR/ without the LR folder of this scale: HR/ only, LR by bicubic
                train = [FileSource(pair.hr, name=pair.name) for pair in find_pairs(hp.train_dir, self._scale)]
            else:
                train = [FileSource(path) for path in list_images(hp.train_dir)]
        else:
            origin = f"train_files ({len(hp.train_files)} files)"
            train = [FileSource(Path(path)) for path in hp.train_files]
        if hp.val_dir is not None:
            return train, None, origin
        train, val = split_by_name(train, hp.val_fraction, origin)
        return train, val, origin

    def _split_pairs(self, folder: PairedFolder) -> tuple[PairedFolder, PairedFolder | None, str]:
        """Paired training data and, without val_dir, its validation pairs (split by name like HR images)."""
        origin = f"train_dir {folder.location}"
        if self.hparams.val_dir is not None:
            return folder, None, origin
        keyed = [FileSource(pair.hr, name=folder.key(pair)) for pair in folder.pairs(self._scale)]
        _, val = split_by_name(keyed, self.hparams.val_fraction, origin)
        val_keys = [source.name for source in val]
        return folder.subset(exclude=val_keys), folder.subset(keys=val_keys), origin

    def _train_dataset(self) -> TrainPatchDataset | PairedPatchDataset:
        if self.train_dataset is None:
            hp = self.hparams
            sources, _, origin = self._sources()
            patches = {  # what both training datasets take
                "scale": self._scale,
                "patch_size": hp.patch_size,
                "repeat": hp.repeat,
                "augment": hp.augment,
                "seed": hp.seed,
                "skip_corrupt": hp.skip_corrupt,
                "cache": self._cache,
                "cache_dir": hp.cache_dir,
            }
            if isinstance(sources, PairedFolder):
                if hp.degrade_on_device:
                    raise ValueError(
                        f"degrade_on_device=True makes the LR patches from the HR ones by bicubic, but {origin} has "
                        "LR image files, which training uses: set degrade_on_device=false (--data.degrade_on_device"
                        "=false)."
                    )
                self.train_dataset = PairedPatchDataset(sources, **patches)
                return self.train_dataset
            self.train_dataset = TrainPatchDataset(sources, **patches, make_lr=not hp.degrade_on_device, origin=origin)
        return self.train_dataset

    def _eval_dataset(self, stage: str) -> PairedImageDataset:
        attr = f"{stage}_dataset"
        if getattr(self, attr) is None:
            folder = getattr(self.hparams, f"{stage}_dir")
            if stage == "val" and folder is None:
                if not self.hparams.use_samples and not self._has_train_images():
                    raise ValueError(_NO_VAL_DATA)
                images: str | _TrainImages | None = self._sources()[1]
            elif folder is None:
                raise ValueError(
                    f"No {stage} images: set data.{stage}_dir (SRDataModule({stage}_dir=...)) to a folder of HR "
                    "images or a paired folder with HR/ and LR_bicubic/X<s>/."
                )
            else:
                images = folder
            assert images is not None  # without val_dir, _sources() always returns validation sources
            dataset = PairedImageDataset(
                images, scale=self._scale, skip_corrupt=self.hparams.skip_corrupt, for_metrics=True
            )
            setattr(self, attr, dataset)
        return getattr(self, attr)

    def _predict_dataset(self) -> LRImageDataset:
        if self.predict_dataset is None:
            if self.hparams.predict_dir is None:
                raise ValueError(
                    "No predict images: set data.predict_dir (SRDataModule(predict_dir=...)) to a folder of LR images "
                    "to upscale, or a paired folder with HR/ and LR_bicubic/X<s>/ (its LR images are upscaled)."
                )
            self.predict_dataset = LRImageDataset(
                self.hparams.predict_dir, scale=self._scale, skip_corrupt=self.hparams.skip_corrupt
            )
        return self.predict_dataset

    def prepare_data(self) -> None:
        """Build the disk cache (``cache="disk"``) if it is missing or stale, for ``fit`` only.

        Lightning runs this in one process per node before ``setup``, so DDP ranks then open a finished cache.
        """
        fitting = self.trainer is None or self.trainer.state.fn == "fit"
        if self._cache == "disk" and self.train_dataset is None and fitting:
            train, hp = self._sources()[0], self.hparams
            if isinstance(train, PairedFolder):
                build_pair_caches(
                    pairs_with_lr(train, self._scale), cache_dir=hp.cache_dir, skip_corrupt=hp.skip_corrupt
                )
            else:
                DiskImageCache(train, cache_dir=hp.cache_dir, skip_corrupt=hp.skip_corrupt)

    def setup(self, stage: str | None = None) -> None:
        """Build (once) the datasets the stage needs: ``fit`` train and val, ``validate`` val, and so on.

        Raises:
            ValueError: for ``fit`` without training images when ``use_samples=False`` (naming ``--data.train_dir``),
                and the errors of the datasets (missing folders, unreadable or mismatched images).
        """
        fit_data = self.hparams.use_samples or self._has_train_images()
        if stage == "fit" or (stage is None and fit_data):
            self._train_dataset()
        if stage in ("fit", "validate") or (stage is None and (fit_data or self.hparams.val_dir is not None)):
            self._eval_dataset("val")
        if stage == "test" or (stage is None and self.hparams.test_dir is not None):
            self._eval_dataset("test")
        if stage == "predict" or (stage is None and self.hparams.predict_dir is not None):
            self._predict_dataset()

    def _loader_options(self) -> dict[str, object]:
        workers = self.hparams.num_workers
        return {
            "num_workers": workers,
            "persistent_workers": self.hparams.persistent_workers and workers > 0,
            "pin_memory": self.hparams.pin_memory,
        }

    def train_dataloader(self) -> DataLoader:
        dataset = self._train_dataset()
        batch_size = self.hparams.batch_size
        # Under DDP the sampler shards itself (and Lightning then gives it the epoch, so a resumed run continues the
        # same sequence of patches); each process's batch is then batch_size, as with Lightning's own sampler.
        trainer = self.trainer
        world, rank = (trainer.world_size, trainer.global_rank) if trainer is not None else (1, 0)
        sampler = SeededPatchSampler(len(dataset), seed=self.hparams.seed, num_replicas=world, rank=rank)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=len(dataset) >= batch_size,
            **self._loader_options(),  # type: ignore[arg-type]
        )

    def _eval_dataloader(self, stage: str) -> DataLoader:
        return DataLoader(
            self._eval_dataset(stage),
            batch_size=self.hparams.val_batch_size,
            shuffle=False,
            collate_fn=collate_whole_images,
            **self._loader_options(),  # type: ignore[arg-type]
        )

    def val_dataloader(self) -> DataLoader:
        return self._eval_dataloader("val")

    def test_dataloader(self) -> DataLoader:
        return self._eval_dataloader("test")

    def predict_dataloader(self) -> DataLoader:
        return DataLoader(
            self._predict_dataset(),
            batch_size=self.hparams.val_batch_size,
            shuffle=False,
            collate_fn=collate_whole_images,
            **self._loader_options(),  # type: ignore[arg-type]
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """With ``degrade_on_device``, add ``lr`` (MATLAB bicubic, 8-bit) to a batch that has only ``hr``.

        Runs on the batch's device, at the current :attr:`scale`, so a scale switch reaches the very next batch.
        Batches that already have ``lr`` (validation, test, predict) pass unchanged.
        """
        if self.hparams.degrade_on_device and isinstance(batch, dict) and "lr" not in batch and "hr" in batch:
            batch["lr"] = bicubic_lr(batch["hr"], self._scale)
        return batch
