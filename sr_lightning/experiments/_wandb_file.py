"""Reading the records of a W&B run's transaction log (``run-<id>.wandb``), the file ``wandb sync`` uploads.

The file is a LevelDB log: a 7-byte header (``:W&B``, magic ``0xBEE1``, version 0), then 32 KiB blocks of records,
each ``crc32 (4 bytes LE) | length (2 bytes LE) | type (1 byte) | data``, where a protobuf ``Record`` too long for
one block is split into FIRST, MIDDLE... LAST pieces and a block's last < 7 bytes are zero padding. wandb itself no
longer ships a Python reader (the Go core writes these files), so this is one, checked against real offline runs.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["read_records"]

_HEADER = struct.Struct("<4sHB")
_RECORD = struct.Struct("<IHB")
_IDENT, _MAGIC, _VERSION = b":W&B", 0xBEE1, 0
_BLOCK = 32768
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4
_SEED = {kind: zlib.crc32(bytes([kind])) for kind in (_FULL, _FIRST, _MIDDLE, _LAST)}


def _chunks(data: bytes, path: Path) -> Iterator[tuple[int, bytes]]:
    offset = _HEADER.size
    while offset + _RECORD.size <= len(data):
        left = _BLOCK - offset % _BLOCK
        if left < _RECORD.size:  # block trailer
            offset += left
            continue
        checksum, length, kind = _RECORD.unpack_from(data, offset)
        if kind == 0 and length == 0:  # zero-filled rest of a block
            offset += left
            continue
        start = offset + _RECORD.size
        chunk = data[start : start + length]
        if len(chunk) < length:  # a run still being written: the last record is not complete yet
            return
        if kind not in _SEED or zlib.crc32(chunk, _SEED[kind]) != checksum:
            raise ValueError(f"{path} is corrupt at byte {offset} (bad record type or checksum).")
        yield kind, chunk
        offset = start + length


def read_records(path: str | Path) -> Iterator[Any]:
    """Yield the ``wandb_internal_pb2.Record`` messages of a ``.wandb`` file, in the order they were written.

    Raises:
        ValueError: naming the file when it is not a W&B transaction log or a record is corrupt.
    """
    from wandb.proto import wandb_internal_pb2

    path = Path(path)
    data = path.read_bytes()
    if len(data) < _HEADER.size or _HEADER.unpack_from(data) != (_IDENT, _MAGIC, _VERSION):
        raise ValueError(f"{path} is not a W&B run file (no ':W&B' header); pass a run folder or run-<id>.wandb.")
    pending = b""
    for kind, chunk in _chunks(data, path):
        if kind == _FULL:
            yield wandb_internal_pb2.Record.FromString(chunk)
        elif kind == _FIRST:
            pending = chunk
        elif kind == _MIDDLE:
            pending += chunk
        else:
            yield wandb_internal_pb2.Record.FromString(pending + chunk)
            pending = b""
