"""Data: reading images, the MATLAB-bicubic degradation, training/evaluation datasets and the DataModule.

Files -> :func:`read_image` (8-bit RGB) -> :class:`TrainPatchDataset` (random HR patch, LR by :func:`bicubic_lr`)
or :class:`PairedImageDataset` (whole images, official LR files when a paired folder has them) ->
:class:`SRDataModule`. Float images are in [0, 1]; LR images are quantized to 8 bits like the benchmark files.
"""

from sr_lightning.data.datamodule import SUPPORTED_SCALES, SRDataModule
from sr_lightning.data.datasets import TrainPatchDataset
from sr_lightning.data.degradation import bicubic_lr, crop_to_multiple, quantize_8bit
from sr_lightning.data.imresize import imresize
from sr_lightning.data.io import IMAGE_EXTENSIONS, ImageReadError, image_size, list_images, read_image, to_float
from sr_lightning.data.layout import ImagePair, find_pairs, is_paired_folder
from sr_lightning.data.paired import PairedImageDataset, collate_whole_images
from sr_lightning.data.samplers import SeededPatchSampler
from sr_lightning.data.samples import DEFAULT_TRAIN_NAMES, DEFAULT_VAL_NAMES, SAMPLE_NAMES, load_sample
from sr_lightning.data.sources import FileSource, ImageSource, SampleSource, split_by_name

__all__ = [
    "DEFAULT_TRAIN_NAMES",
    "DEFAULT_VAL_NAMES",
    "IMAGE_EXTENSIONS",
    "SAMPLE_NAMES",
    "SUPPORTED_SCALES",
    "FileSource",
    "ImagePair",
    "ImageReadError",
    "ImageSource",
    "PairedImageDataset",
    "SRDataModule",
    "SampleSource",
    "SeededPatchSampler",
    "TrainPatchDataset",
    "bicubic_lr",
    "collate_whole_images",
    "crop_to_multiple",
    "find_pairs",
    "image_size",
    "imresize",
    "is_paired_folder",
    "list_images",
    "load_sample",
    "quantize_8bit",
    "read_image",
    "split_by_name",
    "to_float",
]
