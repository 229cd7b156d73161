"""The predict dataset: low-resolution images to upscale, with the relative paths their results are written under.

``trainer.predict`` upscales images nobody has an HR version of. So a plain folder holds the LR inputs themselves
(any image the library reads, as 8-bit RGB: :func:`~sr_lightning.data.io.read_image`), searched recursively;
a paired folder (``HR/`` + ``LR_bicubic/X<s>/``, see :mod:`sr_lightning.data.layout`) gives its LR files of the
current scale. Each item is ``{"lr", "name", "path"}``: ``path`` is where the result goes, relative to the output
folder (:class:`~sr_lightning.callbacks.PredictionWriter` writes ``<path without suffix>_x<s>.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from torch import Tensor
from torch.utils.data import Dataset

from sr_lightning.data.datasets import shared_int
from sr_lightning.data.io import list_images, to_float
from sr_lightning.data.layout import find_pairs, is_paired_folder, lr_folder, lr_scales
from sr_lightning.data.sources import FileSource, ImageSource, usable_sources

__all__ = ["LRImageDataset"]


class _Input(NamedTuple):
    source: ImageSource
    path: str


class LRImageDataset(Dataset[dict[str, Tensor | str]]):
    """LR images to upscale, for ``trainer.predict``: no HR image is needed.

    Args:
        folder: a folder of LR images (sub-folders included: ``path`` keeps them), or a paired folder whose
            ``LR_bicubic/X<scale>/`` files are used (``path`` is then ``<HR sub-folder>/<name><suffix>``).
        scale: the factor; it only picks a paired folder's LR files. Settable.
        skip_corrupt: skip unreadable images with a warning naming each one, instead of raising.

    Raises:
        FileNotFoundError: a missing or empty folder, or a paired folder without ``LR_bicubic/X<scale>/``.
        ImageReadError: an unreadable image, unless ``skip_corrupt``.
        ValueError: when no image is usable.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "sub").mkdir()
        >>> Image.new("L", (5, 4)).save(root / "sub" / "scan.png")
        >>> item = LRImageDataset(root, scale=4)[0]
        >>> item["name"], item["path"], tuple(item["lr"].shape)
        ('scan', 'sub/scan.png', (3, 4, 5))
    """

    def __init__(self, folder: str | Path, scale: int, skip_corrupt: bool = False) -> None:
        self.root = Path(folder)
        self.skip_corrupt = skip_corrupt
        self._items: dict[int, list[_Input]] = {}
        self._scale = shared_int(scale)
        self._files: dict[Path, None] = {}
        self.scale = scale

    @property
    def scale(self) -> int:
        """The super-resolution factor (a paired folder's LR files of this scale are the inputs)."""
        return int(self._scale[0])

    @scale.setter
    def scale(self, scale: int) -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}.")
        self._items_for(scale)
        self._scale[0] = scale

    def _items_for(self, scale: int) -> list[_Input]:
        if scale not in self._items:
            if self._items and not is_paired_folder(self.root):  # a plain folder's inputs are the same at any scale
                self._items[scale] = next(iter(self._items.values()))
            else:
                self._items[scale] = self._resolve(scale)
        return self._items[scale]

    def _resolve(self, scale: int) -> list[_Input]:
        inputs: list[_Input] = []
        if is_paired_folder(self.root):
            if not lr_folder(self.root, scale).is_dir():
                found = ", ".join(f"x{s}" for s in lr_scales(self.root)) or "none"
                raise FileNotFoundError(
                    f"predict_dir {self.root} is a paired folder (HR/) without {lr_folder(self.root, scale)} (LR "
                    f"folders: {found}). Predict upscales LR images: add that folder, or point predict_dir at a "
                    "folder of LR images."
                )
            for pair in find_pairs(self.root, scale):
                assert pair.lr is not None  # the LR folder exists, so find_pairs found every LR file or raised
                relative = pair.hr.parent.relative_to(self.root / "HR") / f"{pair.name}{pair.lr.suffix}"
                inputs.append(_Input(FileSource(pair.lr, pair.name), relative.as_posix()))
                self._files.update(dict.fromkeys((pair.hr, pair.lr)))
        else:
            for path in list_images(self.root):
                inputs.append(_Input(FileSource(path), path.relative_to(self.root).as_posix()))
                self._files[path] = None
        usable = {source for source, _ in usable_sources([i.source for i in inputs], skip_corrupt=self.skip_corrupt)}
        kept = [item for item in inputs if item.source in usable]
        if not kept:
            raise ValueError(f"No readable image to upscale in {self.root}: every image was skipped (see warnings).")
        return kept

    @property
    def input_files(self) -> list[Path]:
        """Every file read so far (the inputs, and a paired folder's HR files): results must overwrite none."""
        return list(self._files)

    @property
    def paths(self) -> list[str]:
        """The items' relative paths at the current scale, in item order."""
        return [item.path for item in self._items_for(self.scale)]

    def __len__(self) -> int:
        return len(self._items_for(self.scale))

    def __getitem__(self, index: int) -> dict[str, Tensor | str]:
        item = self._items_for(self.scale)[index]
        return {"lr": to_float(item.source.load()), "name": item.source.name, "path": item.path}
