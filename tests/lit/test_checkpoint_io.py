"""AtomicCheckpointIO: a failed or killed save never touches the previous checkpoint, leaves nothing behind for long,
and an unreadable checkpoint is named with what is wrong with it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sr_lightning import EDSR, SRModule
from sr_lightning.lit import checkpoint_io
from sr_lightning.lit.checkpoint_io import AtomicCheckpointIO, CheckpointReadError


def _state(value: float) -> dict:
    return {"state_dict": {"w": torch.full((64, 64), value)}, "epoch": int(value)}


def _dead_pid() -> int:
    """The id of a process that has exited (and was reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_save_that_fails_halfway_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint(_state(1.0), path)

    def half_then_fail(obj, file, *args, **kwargs):
        file.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint_io.torch, "save", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint(_state(2.0), path)
    monkeypatch.undo()
    assert io.load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # the temporary went with the failure


def test_temporaries_of_killed_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    dead = tmp_path / f".last.ckpt.{_dead_pid()}.k1ll3d.tmp"
    live = tmp_path / f".best.ckpt.{os.getppid()}.w0rk1n.tmp"  # a process that is running
    dead.write_bytes(b"PK half")
    live.write_bytes(b"PK half")
    io.save_checkpoint(_state(3.0), path)
    assert not dead.exists() and live.exists()
    assert io.load_checkpoint(path)["epoch"] == 3


def test_loading_beside_a_killed_save_cleans_up(tmp_path: Path) -> None:
    io, path = AtomicCheckpointIO(), tmp_path / "last.ckpt"
    io.save_checkpoint(_state(4.0), path)
    dead = tmp_path / f".last.ckpt.{_dead_pid()}.k1ll3d.tmp"
    dead.write_bytes(b"PK half")
    assert io.load_checkpoint(path)["epoch"] == 4 and not dead.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", r"the file is empty \(0 bytes"),
        (b"definitely not a checkpoint", r"it is not a PyTorch zip checkpoint"),
        ("truncated", r"it is not a PyTorch zip checkpoint \(truncated"),
    ],
)
def test_an_unreadable_checkpoint_is_named_with_the_reason(tmp_path: Path, content, reason: str) -> None:
    io, path = AtomicCheckpointIO(), tmp_path / "run" / "last.ckpt"
    io.save_checkpoint(_state(5.0), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if content == "truncated" else content)
    with pytest.raises(CheckpointReadError, match=rf"{path} is not a readable checkpoint: {reason}"):
        io.load_checkpoint(path)


def test_a_trainer_resuming_from_a_bad_file_names_it(tmp_path: Path, tiny_trainer, tiny_data) -> None:
    bad = tmp_path / "last.ckpt"
    bad.write_bytes(b"\x80\x02}q\x00.")  # a pickle, not a zip checkpoint
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    with pytest.raises(CheckpointReadError, match=rf"{bad} is not a readable checkpoint"):
        tiny_trainer(max_steps=1).fit(module, datamodule=tiny_data(1), ckpt_path=bad)


def test_a_checkpoint_gets_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    """Written through a temporary that mkstemp creates 0600, the checkpoint still ends 0666 less the umask, as a
    plain ``torch.save`` would leave it (a checkpoint on a shared machine can be read by the group)."""
    umask = os.umask(0o022)
    try:
        AtomicCheckpointIO().save_checkpoint({"w": torch.ones(1)}, tmp_path / "last.ckpt")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "last.ckpt").stat().st_mode) == 0o644
