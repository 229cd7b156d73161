"""Finding HR/LR pairs in the folder layouts of the super-resolution benchmarks.

A *paired folder* holds ``HR/`` and, per scale, ``LR_bicubic/X<s>/``. Two naming schemes are recognised:

- the Set5/Set14 release: ``HR/img_001_SRF_2_HR.png`` with ``LR_bicubic/X2/img_001_SRF_2_LR.png``. Each scale
  has its own HR file (cropped to a multiple of that scale), so only the ``_SRF_<s>_`` files of the requested
  scale are used, and the image is named ``img_001``;
- the DIV2K style: ``HR/0801.png`` with ``LR_bicubic/X2/0801.png`` or ``LR_bicubic/X2/0801x2.png``.

Sub-folders of ``HR/`` are mirrored under ``LR_bicubic/X<s>/``. The LR file may have the HR file's extension
or ``.png``. When ``LR_bicubic/X<s>/`` does not exist, the pairs have no LR file and the dataset makes the LR
image from the HR one with MATLAB bicubic (the same degradation the official files were made with).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from sr_lightning.data.io import list_images

__all__ = ["ImagePair", "find_pairs", "is_paired_folder", "lr_folder"]

_SRF_NAME = re.compile(r"^(?P<base>.+)_SRF_(?P<scale>\d+)_HR$")


class ImagePair(NamedTuple):
    """An HR file, its LR file (``None``: make it by bicubic downscaling) and the image's name."""

    hr: Path
    lr: Path | None
    name: str


def is_paired_folder(root: str | Path) -> bool:
    """Whether ``root`` has an ``HR/`` sub-folder (a paired folder) rather than being a plain image folder."""
    return (Path(root) / "HR").is_dir()


def lr_folder(root: str | Path, scale: int) -> Path:
    """The folder that holds the LR images of ``scale``: ``root/LR_bicubic/X<scale>``."""
    return Path(root) / "LR_bicubic" / f"X{scale}"


def find_pairs(root: str | Path, scale: int) -> list[ImagePair]:
    """List the (HR, LR) pairs of a paired folder for one scale.

    Args:
        root: the folder holding ``HR/`` (and usually ``LR_bicubic/X<scale>/``).
        scale: the super-resolution factor.

    Returns:
        The pairs in HR file order. ``lr`` is ``None`` for every pair when ``LR_bicubic/X<scale>/`` is absent.

    Raises:
        FileNotFoundError: if ``HR/`` holds no image (for this scale, with ``_SRF_<s>_`` names), or if an HR
            image has no LR file; the message names the HR file and every LR path that was tried.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for rel, size in [("HR/bird.png", 8), ("LR_bicubic/X2/birdx2.png", 4)]:
        ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ...     Image.new("RGB", (size, size)).save(root / rel)
        >>> [(p.hr.name, p.lr.name, p.name) for p in find_pairs(root, 2)]
        [('bird.png', 'birdx2.png', 'bird')]
        >>> find_pairs(root, 4)[0].lr is None
        True
    """
    hr_dir = Path(root) / "HR"
    lr_dir = lr_folder(root, scale)
    candidates: list[tuple[Path, str, list[str]]] = []
    for hr in list_images(hr_dir):
        match = _SRF_NAME.match(hr.stem)
        if match is None:
            candidates.append((hr, hr.stem, [hr.stem, f"{hr.stem}x{scale}"]))
        elif int(match["scale"]) == scale:
            candidates.append((hr, match["base"], [f"{match['base']}_SRF_{scale}_LR"]))
    if not candidates:
        raise FileNotFoundError(
            f"{hr_dir} has no HR image for scale {scale}: its files are named *_SRF_<s>_HR.* and none has "
            f"_SRF_{scale}_."
        )
    if not lr_dir.is_dir():
        return [ImagePair(hr, None, name) for hr, name, _ in candidates]
    pairs = []
    for hr, name, stems in candidates:
        subfolder = lr_dir / hr.parent.relative_to(hr_dir)
        suffixes = dict.fromkeys((hr.suffix, ".png"))
        tried = [subfolder / f"{stem}{suffix}" for stem in stems for suffix in suffixes]
        found = next((path for path in tried if path.is_file()), None)
        if found is None:
            raise FileNotFoundError(
                f"No LR image for {hr} in {lr_dir}; looked for {', '.join(str(path) for path in tried)}. "
                f"Add the LR file, or remove {lr_dir} to make every LR image from its HR image."
            )
        pairs.append(ImagePair(hr, found, name))
    return pairs
