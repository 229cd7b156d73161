"""A disk cache of decoded training images: one memory-mapped ``uint8`` file, keyed on the image files.

Decoding a 2K PNG takes tens of milliseconds; cutting a 96-pixel patch out of decoded pixels takes microseconds.
:class:`DiskImageCache` decodes every training image once, into ``<cache_dir>/<folder id>-<key>/``:
``pixels.u8`` holds each image's (3, H, W) ``uint8`` pixels one after another, ``index.json`` each image's
offset and size (or why it could not be read). ``key`` hashes the cache format and, in order, the fingerprint of
every source (a file's resolved path, size and modification time), so touching, adding, removing or reordering
a file gives a new key and a new cache, which then replaces the caches of the same folder. An unchanged list
reuses the cache without reading any image file.

A build writes into a temporary folder and renames it into place once complete (one atomic step): a killed build
leaves only a ``.tmp_*`` folder, never read, and removed by the next build once its process is gone. Processes
building the same cache at once (DDP ranks) each build it, and the first rename wins.

Every process maps ``pixels.u8`` lazily, at its first read (``np.memmap`` copy-on-write, nothing is written
back), so DataLoader workers, forked or spawned, share the OS page cache: ``N`` workers use the memory of one
copy. Pickling the cache (spawned workers) sends the index, not the pixels.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from sr_lightning.data.io import ImageReadError
from sr_lightning.data.sources import FileSource, ImageSource

__all__ = ["CACHE_FORMAT", "CachedSource", "DiskImageCache", "default_cache_dir", "source_fingerprint"]

CACHE_FORMAT = "sr_lightning-image-cache-1"
"""Part of every key: a new format (or a change in how images are decoded) never reads an old cache."""

_PIXELS, _INDEX, _TMP = "pixels.u8", "index.json", ".tmp_"


def source_fingerprint(source: ImageSource) -> str:
    """What identifies a source's pixels for the cache: its ``fingerprint()`` (files: path, size, mtime).

    Raises:
        TypeError: if the source has no ``fingerprint()`` method (a custom source): add one, or use the
            in-memory cache, which needs none.
    """
    fingerprint = getattr(source, "fingerprint", None)
    if fingerprint is None:
        raise TypeError(
            f"{type(source).__name__} ({source.location}) has no fingerprint() method, which the disk cache needs "
            "to notice changed files: add one (see FileSource.fingerprint) or use cache='memory'."
        )
    return str(fingerprint())


def _common_folder(sources: Sequence[ImageSource]) -> Path | None:
    """The deepest folder holding every file source, or None when no source is a file."""
    parents = [str(source.path.resolve().parent) for source in sources if isinstance(source, FileSource)]
    return Path(os.path.commonpath(parents)) if parents else None


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


def default_cache_dir(sources: Sequence[ImageSource]) -> Path:
    """``.sr_lightning_cache`` in the folder the image files share, if writable, else the user cache folder.

    The user cache folder is ``$XDG_CACHE_HOME/sr_lightning/images`` (``~/.cache/sr_lightning/images``); the
    embedded samples, which have no folder, are cached there too.

    Raises:
        OSError: if neither folder is writable; set ``cache_dir`` to a writable folder.
    """
    folder = _common_folder(sources)
    if folder is not None and _writable(folder / ".sr_lightning_cache"):
        return folder / ".sr_lightning_cache"
    user = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sr_lightning" / "images"
    if not _writable(user):
        raise OSError(f"Cannot write the image cache in {folder or 'the image folder'} nor in {user}: set cache_dir.")
    return user


@dataclass(frozen=True, eq=False)
class CachedSource:
    """A source whose pixels and size come from a :class:`DiskImageCache` (no file is read).

    ``size()`` raises the :class:`~sr_lightning.data.io.ImageReadError` recorded when the file could not be
    decoded, so :func:`~sr_lightning.data.sources.usable_sources` skips or raises as for the file itself.
    """

    source: ImageSource
    cache: DiskImageCache
    index: int

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def location(self) -> str:
        return self.source.location

    def size(self, verify: bool = True) -> tuple[int, int]:
        return self.cache.size(self.index)

    def load(self) -> Tensor:
        return self.cache[self.index]


class DiskImageCache:
    """Decoded ``uint8`` images of some sources, in a memory-mapped file that is built once and then reused.

    Args:
        sources: the images, in order.
        cache_dir: where caches live; None: :func:`default_cache_dir`.
        skip_corrupt: record unreadable images (their ``size()`` then raises) instead of stopping the build
            at the first one with its :class:`~sr_lightning.data.io.ImageReadError`.
        progress: show a progress bar (stderr) while building.

    Attributes:
        path: the cache's folder.
        built: whether this call built it (False: an existing cache was reused, no image file was read).
        nbytes: the size of the pixel file.
        sources: the sources, wrapped as :class:`CachedSource` (size and pixels from the cache).

    Raises:
        ImageReadError: for an unreadable image, when not ``skip_corrupt``; no cache is kept.
        TypeError: for a source without ``fingerprint()``.

    Example:
        >>> from sr_lightning.data.sources import SampleSource
        >>> cache = DiskImageCache([SampleSource("rocket")], cache_dir=tempfile.mkdtemp(), progress=False)
        >>> cache.built, cache.size(0), DiskImageCache(cache.sources, cache.path.parent).built
        (True, (427, 640), False)
    """

    def __init__(
        self,
        sources: Sequence[ImageSource],
        cache_dir: str | Path | None = None,
        skip_corrupt: bool = False,
        progress: bool = True,
    ) -> None:
        sources = [source.source if isinstance(source, CachedSource) else source for source in sources]
        fingerprints = []
        for source in sources:
            try:
                fingerprints.append(source_fingerprint(source))
            except ImageReadError as error:  # a missing file: its size() raises, as without a cache
                if not skip_corrupt:
                    raise
                fingerprints.append(f"unreadable {error}")
        folder = _common_folder(sources)
        group = hashlib.sha256(str(folder or "embedded samples").encode()).hexdigest()[:12]
        key = hashlib.sha256(json.dumps([CACHE_FORMAT, fingerprints]).encode()).hexdigest()[:20]
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir(sources)
        self.path = root / f"{group}-{key}"
        index = _read_index(self.path, key)
        self.built = index is None
        if index is None:
            _build(sources, self.path, key, skip_corrupt, progress)
            index = _read_index(self.path, key)
            if index is None:
                raise OSError(f"The image cache {self.path} was built but cannot be read back; check the disk.")
        self._entries: list[dict[str, Any]] = index["entries"]
        self.nbytes: int = index["bytes"]
        self._flat: Tensor | None = None
        self.sources = [CachedSource(source, self, i) for i, source in enumerate(sources)]

    def __len__(self) -> int:
        return len(self._entries)

    def size(self, index: int) -> tuple[int, int]:
        """The (height, width) of image ``index``; raises its recorded ``ImageReadError`` if it is unreadable."""
        entry = self._entries[index]
        if "error" in entry:
            raise ImageReadError(entry["error"])
        return entry["height"], entry["width"]

    def __getitem__(self, index: int) -> Tensor:
        """Image ``index``, (3, H, W) ``uint8``: a view of the mapped file, copy-on-write."""
        height, width = self.size(index)
        if self._flat is None:  # first read in this process (each worker maps the file itself)
            self._flat = torch.from_numpy(np.memmap(self.path / _PIXELS, dtype=np.uint8, mode="c"))
        offset = self._entries[index]["offset"]
        return self._flat[offset : offset + 3 * height * width].view(3, height, width)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_flat": None}  # the index travels to spawned workers, not the pixels


def _read_index(entry: Path, key: str) -> dict[str, Any] | None:
    """The index of a complete cache for ``key`` at ``entry``, or None (missing, other format, wrong size)."""
    try:
        index = json.loads((entry / _INDEX).read_text())
        complete = (entry / _PIXELS).stat().st_size == index["bytes"]
        if index.get("format") == CACHE_FORMAT and index.get("key") == key and complete:
            return index
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _remove_stale(root: Path, group: str, keep: str) -> None:
    """Remove the other caches of the same folder, and temporary folders of builds whose process is gone."""
    host = socket.gethostname()
    for path in root.iterdir():
        name = path.name
        stale = name.startswith(f"{group}-") and name != keep
        if name.startswith(f"{_TMP}{group}-"):
            parts = name[len(_TMP) :].split("_")
            stale = len(parts) == 3 and parts[1] == host and parts[2].isdigit() and not _alive(int(parts[2]))
        if stale:
            shutil.rmtree(path, ignore_errors=True)


def _build(sources: Sequence[ImageSource], target: Path, key: str, skip_corrupt: bool, progress: bool) -> None:
    """Decode every source into a temporary folder, then rename it to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{_TMP}{target.name}_{socket.gethostname()}_{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    try:
        entries: list[dict[str, Any]] = []
        offset = 0
        bar = tqdm(sources, desc=f"Caching decoded images in {target}", unit="image", disable=not progress)
        with open(temporary / _PIXELS, "wb") as file:
            for source in bar:
                try:
                    pixels = source.load().contiguous().numpy()
                except ImageReadError as error:
                    if not skip_corrupt:
                        raise
                    entries.append({"error": str(error)})
                    continue
                file.write(memoryview(pixels).cast("B"))
                entries.append({"offset": offset, "height": pixels.shape[1], "width": pixels.shape[2]})
                offset += pixels.nbytes
            file.flush()
            os.fsync(file.fileno())
        index = {"format": CACHE_FORMAT, "key": key, "bytes": offset, "entries": entries}
        (temporary / _INDEX).write_text(json.dumps(index))
        if progress:
            print(f"Cached {len(sources)} images ({offset / 1e9:.2f} GB) in {target}", file=sys.stderr, flush=True)
        if target.exists() and _read_index(target, key) is None:
            shutil.rmtree(target, ignore_errors=True)  # an unreadable leftover under the final name
        try:
            temporary.rename(target)
        except OSError:
            if _read_index(target, key) is None:  # not another process that finished first: a real failure
                raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    _remove_stale(target.parent, target.name.split("-")[0], keep=target.name)
