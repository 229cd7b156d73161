"""Using a trained generator: load it from a checkpoint, upscale large images in tiles, self-ensemble."""

from sr_lightning.inference.checkpoint import generator_config, load_generator, read_checkpoint
from sr_lightning.inference.ensemble import self_ensemble
from sr_lightning.inference.tiling import tile_spans, tiled_upscale

__all__ = ["generator_config", "load_generator", "read_checkpoint", "self_ensemble", "tile_spans", "tiled_upscale"]
