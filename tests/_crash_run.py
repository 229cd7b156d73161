"""Run ``sr-lightning`` and die like a crashed or killed process, at a chosen point.

Usage: ``python tests/_crash_run.py EPOCH BATCH fit --config ...``: the process ends (``os._exit(17)``, no clean
shutdown) at the end of batch BATCH of epoch EPOCH, after whatever checkpoints the run wrote before it; ``-1 -1``
never. Two more ways to die, by environment variable, both with SIGKILL (nothing runs after it):

- ``SR_TEST_KILL_AFTER_S=<seconds>``: that many seconds after training started (may come after the run ended);
- ``SR_TEST_KILL_IN_STEP=<n>:<fraction>``: at an instant inside the n-th training step this process runs (n >= 2),
  ``fraction`` of the previous step's duration (checkpoint writes included) after the step began. Anchored to the
  run's own pace, so it always hits while the run still has steps to go, on a fast machine as on a slow one;
- ``SR_TEST_KILL_MID_SAVE=<n>``: in the middle of writing the n-th checkpoint file (1 = the first), with half of its
  bytes written: inside ``torch.save`` to a file (the library's writer), or inside the copy that moves a staged
  file across filesystems (Lightning's own writer when ``$TMPDIR`` is on another filesystem).

Used by tests/test_resume.py and tests/test_kill_loop.py.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import sys
import threading
import time

import lightning as L
import torch

from sr_lightning.cli import main


class _Crash(L.Callback):
    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if (trainer.current_epoch, batch_idx) == self.at:
            sys.stdout.flush()
            os._exit(17)


class _KillAfter(L.Callback):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_train_start(self, trainer, pl_module) -> None:
        timer = threading.Timer(self.seconds, os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()


class _KillInStep(L.Callback):
    def __init__(self, spec: str) -> None:
        step, fraction = spec.split(":")
        self.step, self.fraction = int(step), float(fraction)
        if self.step < 2:
            raise ValueError(f"SR_TEST_KILL_IN_STEP needs n >= 2 (a previous step to time), got {spec!r}")
        self.started: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.started.append(time.perf_counter())
        if len(self.started) == self.step:
            previous = self.started[-1] - self.started[-2]
            timer = threading.Timer(self.fraction * previous, os.kill, (os.getpid(), signal.SIGKILL))
            timer.daemon = True
            timer.start()


def _kill_mid_save(n: int) -> None:
    """SIGKILL this process halfway through writing its n-th checkpoint file."""
    saves = {"count": 0}
    real_save, real_copy = torch.save, shutil.copyfileobj

    def die_halfway(data: bytes, write) -> None:
        write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

    def save(obj, f, *args, **kwargs):
        if isinstance(f, io.BytesIO) or not hasattr(f, "write"):
            return real_save(obj, f, *args, **kwargs)  # staged in memory (Lightning's writer): not a file yet
        saves["count"] += 1
        if saves["count"] == n:
            buffer = io.BytesIO()
            real_save(obj, buffer, *args, **kwargs)
            die_halfway(buffer.getvalue(), lambda part: (f.write(part), f.flush()))
        return real_save(obj, f, *args, **kwargs)

    def copy(source, target, *args, **kwargs):  # shutil.move across filesystems copies into the destination
        saves["count"] += 1
        if saves["count"] == n:
            die_halfway(source.read(), lambda part: (target.write(part), target.flush()))
        return real_copy(source, target, *args, **kwargs)

    torch.save = save
    shutil.copyfileobj = copy
    shutil._fastcopy_sendfile = lambda source, target: copy(source, target)  # the Linux fast path of copyfile


if __name__ == "__main__":
    epoch, batch, *args = sys.argv[1:]
    extra: list[L.Callback] = [_Crash(int(epoch), int(batch))]
    if "SR_TEST_KILL_AFTER_S" in os.environ:
        extra.append(_KillAfter(float(os.environ["SR_TEST_KILL_AFTER_S"])))
    if "SR_TEST_KILL_IN_STEP" in os.environ:
        extra.append(_KillInStep(os.environ["SR_TEST_KILL_IN_STEP"]))
    if "SR_TEST_KILL_MID_SAVE" in os.environ:
        _kill_mid_save(int(os.environ["SR_TEST_KILL_MID_SAVE"]))
    original_init = L.Trainer.__init__

    def init_with_crash(self, *a, callbacks=None, **kw):
        original_init(self, *a, callbacks=[*(callbacks or []), *extra], **kw)

    L.Trainer.__init__ = init_with_crash
    main(args)
    sys.exit(0)  # reaching here means no crash point was hit
