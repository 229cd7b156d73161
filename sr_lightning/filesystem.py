"""Small file-system rules shared by every writer of the library (checkpoints, exports, predictions)."""

from __future__ import annotations

import os

__all__ = ["usual_file_mode"]


def usual_file_mode() -> int:
    """The permissions ``open()`` gives a new file here (``0o666`` less the umask), for files written through a
    temporary (``mkstemp`` and some writers create them ``0o600``)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
