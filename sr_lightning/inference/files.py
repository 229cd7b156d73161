"""Upscaling image files and folders into an output folder: ``sr-lightning upscale`` in Python."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from sr_lightning.data.io import ImageReadError, list_images
from sr_lightning.inference.checkpoint import load_generator
from sr_lightning.inference.device import resolve_device
from sr_lightning.inference.upscale import _check_scale, upscale_image

__all__ = ["UpscaledFiles", "output_paths", "upscale_files"]


class UpscaledFiles(list[Path]):
    """The files :func:`upscale_files` wrote (a list), with ``skipped``: ``(input, reason)`` of the images it could
    not read (with ``skip_errors``)."""

    def __init__(self) -> None:
        super().__init__()
        self.skipped: list[tuple[Path, str]] = []


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and make sure files can be written in it, before any work is done.

    Raises:
        PermissionError: naming the folder and the reason (read-only, no permission, a file in the way...).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".sr_lightning_write_check_"):
            pass
    except OSError as error:
        raise PermissionError(
            f"cannot write to the output folder {folder}: {error.strerror or error}; choose another one."
        ) from error


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def output_paths(inputs: Sequence[str | Path], out_dir: str | Path, scale: int) -> list[tuple[Path, Path]]:
    """The ``(input, output)`` pairs of :func:`upscale_files`: ``out_dir/<stem>_x<scale>.png`` for a file,
    ``out_dir/<sub-folders>/<stem>_x<scale>.png`` for each image of a folder (its tree mirrored).

    When ``out_dir`` is a sub-folder of an input folder, the images already in it (earlier results) are left out,
    with a warning.

    Raises:
        FileNotFoundError: an input does not exist, or a folder holds no image.
        ValueError: an output would overwrite an input, or two inputs would write the same output.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "photos" / "2024").mkdir(parents=True)
        >>> for name in ("photos/a.jpg", "photos/2024/b.png", "c.tif"):
        ...     Image.new("RGB", (4, 4)).save(root / name)
        >>> pairs = output_paths([root / "photos", root / "c.tif"], root / "out", scale=4)
        >>> [str(out.relative_to(root)) for _, out in pairs]
        ['out/2024/b_x4.png', 'out/a_x4.png', 'out/c_x4.png']
    """
    out_dir = Path(out_dir)
    pairs: list[tuple[Path, Path]] = []
    for given in map(Path, inputs):
        if given.is_dir():
            found = list_images(given)
            nested = _inside(out_dir, given) and out_dir.resolve() != given.resolve()
            earlier = [path for path in found if nested and _inside(path, out_dir)]
            if earlier:
                warnings.warn(
                    f"left out {len(earlier)} image(s) of {given} inside the output folder {out_dir}.", stacklevel=3
                )
            for path in found:
                if path not in earlier:
                    pairs.append((path, out_dir / path.relative_to(given).parent / f"{path.stem}_x{scale}.png"))
        elif given.is_file():
            pairs.append((given, out_dir / f"{given.stem}_x{scale}.png"))
        else:
            raise FileNotFoundError(f"input {given} does not exist; give image files or folders of images.")
    if not pairs:
        raise FileNotFoundError(f"no images to upscale in {[str(p) for p in inputs]} (outside {out_dir}).")
    sources = {source.resolve() for source, _ in pairs}
    claimed: dict[Path, Path] = {}
    for source, target in pairs:
        key = target.resolve()
        if key in sources:
            raise ValueError(f"upscaling {source} would overwrite the input {target}; choose another output folder.")
        if key in claimed:
            raise ValueError(f"{claimed[key]} and {source} would both be written to {target}; upscale them apart.")
        claimed[key] = source
    return pairs


class _TileBar:
    """A tqdm bar over one image's tiles, opened at the first tile of an image that has more than one."""

    def __init__(self, name: str) -> None:
        self.name, self.bar = name, None

    def __call__(self, done: int, total: int) -> None:
        if total > 1:
            self.bar = self.bar or tqdm(total=total, desc=self.name, unit="tile", leave=False)
            self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def upscale_files(
    model: str | Path | nn.Module,
    inputs: Sequence[str | Path] | str | Path,
    out_dir: str | Path,
    scale: int | None = None,
    tile: int | None = 256,
    overlap: int = 16,
    self_ensemble: bool = False,
    use_ema: bool = True,
    device: str | torch.device = "auto",
    progress: bool = True,
    skip_errors: bool = False,
) -> UpscaledFiles:
    """Upscale image files and folders of images into ``out_dir`` as lossless PNGs; returns the files written.

    Each image is upscaled as :func:`upscale_image` describes (any mode; gray stays gray, alpha by bicubic,
    16-bit in -> 8-bit out) and written as ``<stem>_x<scale>.png`` (see :func:`output_paths`). Existing outputs
    are replaced; inputs never are.

    Args:
        model: a checkpoint of ``sr-lightning fit`` (its EMA weights when it has them and ``use_ema``) or a
            generator (moved to ``device``).
        inputs: image files and folders (searched recursively, sub-folders mirrored in ``out_dir``).
        out_dir: the output folder, created if needed.
        scale: the factor; ``None`` takes the model's. A checkpoint of another scale is an error.
        tile: tile side in LR pixels (``None``: whole images); memory is bounded by the tile, not the image.
        overlap: blended context pixels around each tile.
        self_ensemble: average the 8 flips and rotations (EDSR+, 8x the time).
        use_ema: use a checkpoint's EMA weights when it has them.
        device: where the model runs: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:1"``...
        progress: show a progress bar over the images (and over the tiles of large images).
        skip_errors: warn about an unreadable image (naming it) and go on, instead of raising.

    Returns:
        The files written, in input order (an :class:`UpscaledFiles` list whose ``skipped`` lists the images
        skipped with ``skip_errors``).

    Raises:
        FileNotFoundError: the checkpoint or an input does not exist.
        PermissionError: ``out_dir`` cannot be written (checked before anything is computed).
        ValueError: the checkpoint is not one, holds another scale or non-finite weights, outputs would collide
            with inputs, or ``device`` is not available.
        ImageReadError: an image cannot be read (unless ``skip_errors``); the message names it.
    """
    inputs = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    check_writable(Path(out_dir))
    run_on = resolve_device(device)
    generator = model if isinstance(model, nn.Module) else load_generator(model, use_ema=use_ema, scale=scale)
    generator = generator.to(run_on).eval()
    scale = _check_scale(generator, scale)
    pairs = output_paths(inputs, out_dir, scale)
    written = UpscaledFiles()
    for source, target in tqdm(pairs, unit="image", disable=not progress):
        tiles = _TileBar(source.name) if progress else None
        try:
            image = upscale_image(
                generator, source, scale, tile=tile, overlap=overlap, self_ensemble=self_ensemble, progress=tiles
            )
        except ImageReadError as error:
            if not skip_errors:
                raise
            warnings.warn(f"skipped {source}: {error}", stacklevel=2)
            written.skipped.append((source, str(error)))
            continue
        finally:
            if tiles is not None:
                tiles.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, format="PNG")
        written.append(target)
    return written
