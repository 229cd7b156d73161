"""Checkpoint files that a kill at any instant cannot destroy, and unreadable ones named at once.

Lightning's own writer stages a checkpoint in ``$TMPDIR`` and moves it into place; when ``$TMPDIR`` lies on another
filesystem (``/tmp`` on tmpfs, a Colab runtime writing to Drive), that move is a copy into the destination itself, so
a kill during it leaves a truncated ``last.ckpt`` and the previous good one is gone. :class:`AtomicCheckpointIO`
writes next to the destination instead, flushes the file to disk, and renames it over the old one in one atomic step
(the same directory, hence the same filesystem): at every instant the destination holds either the previous complete
checkpoint or the new complete one. A kill leaves at most a hidden ``.<name>.<pid>.<random>.tmp`` file beside it,
removed by the next save to that name.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from sr_lightning.filesystem import usual_file_mode
from sr_lightning.weights import CheckpointReadError, describe_unreadable

__all__ = ["AtomicCheckpointIO", "CheckpointReadError", "install_atomic_checkpoint_io", "remove_stale_temporaries"]


def _is_local(path: str | Path) -> bool:
    return "://" not in str(path) or str(path).startswith("file://")


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _temporaries(folder: Path) -> list[tuple[Path, int]]:
    """The temporary files of this writer in ``folder``, with the process id that wrote each."""
    if not folder.is_dir():
        return []
    found = [(path, _TEMPORARY.match(path.name)) for path in folder.iterdir()]
    return [(path, int(match["pid"])) for path, match in found if match]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files that killed writers left in ``folder``; return them.

    A temporary of a process that is still running (another run writing to the same folder) is left alone.
    """
    removed = []
    for temporary, pid in _temporaries(folder):
        if pid != os.getpid() and _process_alive(pid):
            continue
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
            removed.append(temporary)
    return removed


def _fsync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that writes each checkpoint atomically and reports unreadable ones by name.

    Saving: the checkpoint is written to a temporary file in the destination's folder, flushed with ``fsync``,
    renamed over the destination (``os.replace``, atomic on POSIX and Windows) and the folder is synced; a failure or
    a kill leaves the previous file untouched. Remote paths (``s3://``...) go to Lightning's writer unchanged.

    Loading: the temporaries that killed writers left beside the file are removed; a file that cannot be read
    raises :class:`CheckpointReadError` naming the file and the reason (empty, truncated, not a checkpoint, pickled
    code) instead of a bare ``EOFError`` or ``KeyError``.

    The LightningModules of the library install it in ``setup`` when the Trainer uses Lightning's default
    ``TorchCheckpointIO`` (:func:`install_atomic_checkpoint_io`); pass ``Trainer(plugins=[AtomicCheckpointIO()])`` to
    use it with any other module.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None or not _is_local(path):
            return super().save_checkpoint(checkpoint, path, storage_options)
        path = Path(str(path).removeprefix("file://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path.parent)
        descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        temporary = Path(name)
        try:
            os.chmod(descriptor, usual_file_mode())  # mkstemp makes 0600; a checkpoint is as shareable as any file
            with os.fdopen(descriptor, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            raise
        _fsync_directory(path.parent)

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if not _is_local(path):
            return super().load_checkpoint(path, *args, **kwargs)
        local = Path(str(path).removeprefix("file://"))
        if not local.is_file():
            raise FileNotFoundError(f"checkpoint {local} does not exist.")
        remove_stale_temporaries(local.parent)  # what a killed run left beside the checkpoint it resumes from
        try:
            return super().load_checkpoint(path, *args, **kwargs)
        except Exception as error:
            raise CheckpointReadError(
                f"{local} is not a readable checkpoint: {describe_unreadable(local, error)}."
            ) from error


def install_atomic_checkpoint_io(trainer: Any) -> bool:
    """Give ``trainer`` an :class:`AtomicCheckpointIO` when it uses Lightning's default writer; True if it did.

    A checkpoint plugin of the user's own (async, cloud, XLA...) is kept.
    """
    strategy = trainer.strategy
    if type(strategy.checkpoint_io) is TorchCheckpointIO:
        strategy.checkpoint_io = AtomicCheckpointIO()
        return True
    return False
