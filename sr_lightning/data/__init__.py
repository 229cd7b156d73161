"""Data: reading images, the MATLAB-bicubic degradation, training/evaluation datasets and the DataModule.

Files -> :func:`read_image` (8-bit RGB) -> :class:`TrainPatchDataset` (random HR patch, LR by :func:`bicubic_lr`)
or :class:`PairedPatchDataset` (aligned random patches of HR images and their LR files) or
:class:`PairedImageDataset` (whole images, official LR files when a paired folder has them) or
:class:`LRImageDataset` (LR images to upscale, for predict) -> :class:`SRDataModule`. Float images are in
[0, 1]; LR images are quantized to 8 bits like the benchmark files.
Decoded training images can be cached in memory or in a memory-mapped file on disk (:class:`DiskImageCache`),
and the LR patches made per batch on the accelerator (``SRDataModule(degrade_on_device=True)``).
"""

from sr_lightning.data.cache import DiskImageCache, default_cache_dir
from sr_lightning.data.datamodule import SUPPORTED_SCALES, SRDataModule
from sr_lightning.data.datasets import CACHE_MODES, TrainPatchDataset
from sr_lightning.data.degradation import bicubic_lr, crop_to_multiple, quantize_8bit
from sr_lightning.data.embedded_photos import DEFAULT_TRAIN_NAMES, DEFAULT_VAL_NAMES, SAMPLE_NAMES, load_sample
from sr_lightning.data.image_parts import ImageParts, compose, read_parts, split_image, upright
from sr_lightning.data.imresize import imresize
from sr_lightning.data.io import IMAGE_EXTENSIONS, ImageReadError, image_size, list_images, read_image, to_float
from sr_lightning.data.layout import ImagePair, PairedFolder, find_lr_pairs, find_pairs, is_paired_folder
from sr_lightning.data.lr_images import LRImageDataset
from sr_lightning.data.paired import PairedImageDataset, collate_whole_images
from sr_lightning.data.paired_patches import PairedPatchDataset
from sr_lightning.data.samplers import SeededPatchSampler
from sr_lightning.data.sources import FileSource, ImageSource, SampleSource, split_by_name
from sr_lightning.data.transforms import dihedral

__all__ = [
    "CACHE_MODES",
    "DEFAULT_TRAIN_NAMES",
    "DEFAULT_VAL_NAMES",
    "IMAGE_EXTENSIONS",
    "SAMPLE_NAMES",
    "SUPPORTED_SCALES",
    "DiskImageCache",
    "FileSource",
    "ImagePair",
    "ImageParts",
    "ImageReadError",
    "ImageSource",
    "LRImageDataset",
    "PairedFolder",
    "PairedImageDataset",
    "PairedPatchDataset",
    "SRDataModule",
    "SampleSource",
    "SeededPatchSampler",
    "TrainPatchDataset",
    "bicubic_lr",
    "collate_whole_images",
    "compose",
    "crop_to_multiple",
    "default_cache_dir",
    "dihedral",
    "find_lr_pairs",
    "find_pairs",
    "image_size",
    "imresize",
    "is_paired_folder",
    "list_images",
    "load_sample",
    "quantize_8bit",
    "read_image",
    "read_parts",
    "split_by_name",
    "split_image",
    "to_float",
    "upright",
]
