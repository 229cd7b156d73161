"""Finding HR/LR pairs in the folder layouts of the super-resolution benchmarks.

A *paired folder* holds ``HR/`` and, per scale, ``LR_bicubic/X<s>/``. Two naming schemes are recognised:

- the Set5/Set14 release: ``HR/img_001_SRF_2_HR.png`` with ``LR_bicubic/X2/img_001_SRF_2_LR.png``. Each scale
  has its own HR file (cropped to a multiple of that scale), so only the ``_SRF_<s>_`` files of the requested
  scale are used, and the image is named ``img_001``;
- the DIV2K style: ``HR/0801.png`` with ``LR_bicubic/X2/0801.png`` or ``LR_bicubic/X2/0801x2.png``.

Sub-folders of ``HR/`` are mirrored under ``LR_bicubic/X<s>/``. The LR file may have the HR file's extension
or ``.png``. When ``LR_bicubic/X<s>/`` does not exist, the pairs have no LR file and the dataset makes the LR
image from the HR one with MATLAB bicubic (the same degradation the official files were made with).

DIV2K itself ships its HR and LR images as separate folders (``DIV2K_train_HR/0001.png`` with
``DIV2K_train_LR_bicubic/X4/0001x4.png``): :func:`find_lr_pairs` pairs an HR folder with the LR folder of one
scale by the same names, and :class:`PairedFolder` holds either layout (and a subset of its images, for a split).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from sr_lightning.data.io import list_images

__all__ = ["ImagePair", "PairedFolder", "find_lr_pairs", "find_pairs", "is_paired_folder", "lr_folder", "lr_scales"]

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


def lr_scales(root: str | Path) -> list[int]:
    """The scales whose LR folder ``root/LR_bicubic/X<s>`` exists, in increasing order (for messages)."""
    folder = Path(root) / "LR_bicubic"
    if not folder.is_dir():
        return []
    return sorted(int(path.name[1:]) for path in folder.iterdir() if path.is_dir() and path.name[1:].isdigit())


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
    hint = f"Add the LR file, or remove {lr_dir} to make every LR image from its HR image."
    return _match(hr_dir, lr_dir, candidates, hint)


def find_lr_pairs(hr_dir: str | Path, lr_dir: str | Path, scale: int) -> list[ImagePair]:
    """Pair the images of an HR folder with those of the LR folder of one scale (DIV2K's own layout).

    The LR file of ``hr_dir/<sub>/0001.png`` is ``lr_dir/<sub>/0001x<scale>.png`` or ``lr_dir/<sub>/0001.png``
    (with the HR file's extension or ``.png``); the image is named ``0001``.

    Raises:
        FileNotFoundError: if a folder is missing, ``hr_dir`` holds no image, or an HR image has no LR file (the
            message names the HR file and every LR path that was tried).

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for rel, size in [("HR/0001.png", 8), ("LR/X4/0001x4.png", 2)]:
        ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ...     Image.new("RGB", (size, size)).save(root / rel)
        >>> [(p.hr.name, p.lr.name, p.name) for p in find_lr_pairs(root / "HR", root / "LR/X4", 4)]
        [('0001.png', '0001x4.png', '0001')]
    """
    hr_dir, lr_dir = Path(hr_dir), Path(lr_dir)
    if not lr_dir.is_dir():
        what = "is not a folder" if lr_dir.exists() else "does not exist"
        raise FileNotFoundError(f"LR image folder {lr_dir} {what} (the LR images of {hr_dir} at x{scale}).")
    candidates = [(hr, hr.stem, [hr.stem, f"{hr.stem}x{scale}"]) for hr in list_images(hr_dir)]
    hint = f"Add the LR file, or remove the HR file from {hr_dir}."
    return _match(hr_dir, lr_dir, candidates, hint)


def _match(hr_dir: Path, lr_dir: Path, candidates: list[tuple[Path, str, list[str]]], hint: str) -> list[ImagePair]:
    """Find the LR file of each ``(hr, name, LR stems to try)``, mirroring the HR sub-folders under ``lr_dir``."""
    pairs = []
    for hr, name, stems in candidates:
        subfolder = lr_dir / hr.parent.relative_to(hr_dir)
        suffixes = dict.fromkeys((hr.suffix, ".png"))
        tried = [subfolder / f"{stem}{suffix}" for stem in stems for suffix in suffixes]
        found = next((path for path in tried if path.is_file()), None)
        if found is None:
            raise FileNotFoundError(
                f"No LR image for {hr} in {lr_dir}; looked for {', '.join(str(path) for path in tried)}. {hint}"
            )
        pairs.append(ImagePair(hr, found, name))
    return pairs


@dataclass(frozen=True)
class PairedFolder:
    """Where HR/LR image pairs are: a paired folder, or an HR folder with the LR folder of one scale.

    A small picklable record (datasets keep it and list the pairs of a scale when they need them).

    Args:
        hr_dir: a paired folder (``HR/`` + ``LR_bicubic/X<s>/``, see :func:`find_pairs`) when ``lr_dir`` is None,
            else a folder of HR images (see :func:`find_lr_pairs`).
        lr_dir: the folder of the LR images of ``lr_scale``.
        lr_scale: the scale of ``lr_dir``; needed with it.
        keys: keep only the pairs with these :meth:`key` values (None: all).
        exclude: leave out the pairs with these :meth:`key` values.

    Example:
        >>> import tempfile
        >>> from PIL import Image
        >>> root = Path(tempfile.mkdtemp())
        >>> for rel, size in [("HR/a.png", 8), ("HR/b.png", 8), ("LR_bicubic/X2/a.png", 4), ("LR_bicubic/X2/b.png", 4)]:
        ...     (root / rel).parent.mkdir(parents=True, exist_ok=True)
        ...     Image.new("RGB", (size, size)).save(root / rel)
        >>> [pair.name for pair in PairedFolder(root, exclude=frozenset({"a"})).pairs(2)]
        ['b']
    """

    hr_dir: Path
    lr_dir: Path | None = None
    lr_scale: int | None = None
    keys: frozenset[str] | None = None
    exclude: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hr_dir", Path(self.hr_dir))
        if self.lr_dir is not None:
            object.__setattr__(self, "lr_dir", Path(self.lr_dir))
            if self.lr_scale is None:
                raise ValueError(f"PairedFolder({self.hr_dir}, lr_dir={self.lr_dir}) needs lr_scale, its scale.")

    @property
    def location(self) -> str:
        """The folders, for messages."""
        return str(self.hr_dir) if self.lr_dir is None else f"{self.hr_dir} with LR images {self.lr_dir}"

    def has_lr(self, scale: int) -> bool:
        """Whether LR files exist for ``scale`` (else :meth:`pairs` has no LR file or raises)."""
        if self.lr_dir is not None:
            return scale == self.lr_scale and self.lr_dir.is_dir()
        return lr_folder(self.hr_dir, scale).is_dir()

    def key(self, pair: ImagePair) -> str:
        """What identifies a pair at every scale: its HR sub-folder and name (``"sub/0001"``)."""
        hr_root = self.hr_dir if self.lr_dir is not None else self.hr_dir / "HR"
        return (pair.hr.parent.relative_to(hr_root) / pair.name).as_posix()

    def subset(self, keys: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> PairedFolder:
        """The same folder restricted to ``keys`` and without ``exclude`` (a training/validation split)."""
        return replace(self, keys=None if keys is None else frozenset(keys), exclude=frozenset(exclude))

    def pairs(self, scale: int) -> list[ImagePair]:
        """The pairs of ``scale``, in HR file order.

        Raises:
            ValueError: with ``lr_dir``, for a scale other than ``lr_scale``.
            FileNotFoundError: as :func:`find_pairs` / :func:`find_lr_pairs`.
        """
        if self.lr_dir is None:
            found = find_pairs(self.hr_dir, scale)
        elif scale != self.lr_scale:
            raise ValueError(
                f"{self.lr_dir} holds the x{self.lr_scale} LR images of {self.hr_dir}, not x{scale} ones: one LR "
                f"folder serves one scale. Train at x{self.lr_scale}, or give the LR folder of x{scale} "
                "(train_lr_dir)."
            )
        else:
            found = find_lr_pairs(self.hr_dir, self.lr_dir, scale)
        return [
            pair
            for pair in found
            if (self.keys is None or self.key(pair) in self.keys) and self.key(pair) not in self.exclude
        ]
