"""Using a trained generator: load it from a checkpoint, upscale images and folders in tiles, self-ensemble,
export it to safetensors or ONNX; choose the device it runs on."""

from sr_lightning.inference.checkpoint import generator_config, load_generator, read_checkpoint
from sr_lightning.inference.device import device_of, resolve_device
from sr_lightning.inference.ensemble import self_ensemble
from sr_lightning.inference.export import export_safetensors, load_safetensors
from sr_lightning.inference.files import UpscaledFiles, output_paths, upscale_files
from sr_lightning.inference.onnx_export import check_onnx, export_onnx
from sr_lightning.inference.tiling import tile_spans, tiled_upscale
from sr_lightning.inference.upscale import upscale_image, upscale_tensor

__all__ = [
    "UpscaledFiles",
    "check_onnx",
    "device_of",
    "export_onnx",
    "export_safetensors",
    "generator_config",
    "load_generator",
    "load_safetensors",
    "output_paths",
    "read_checkpoint",
    "resolve_device",
    "self_ensemble",
    "tile_spans",
    "tiled_upscale",
    "upscale_files",
    "upscale_image",
    "upscale_tensor",
]
