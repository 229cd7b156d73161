"""Run ``sr-lightning`` and die like a crashed process (``os._exit``, no clean shutdown) at a chosen batch.

Usage: ``python tests/_crash_run.py EPOCH BATCH fit --config ...``: the process ends at the end of batch BATCH of
epoch EPOCH, after whatever checkpoints the run wrote before it. Used by tests/test_resume.py.
"""

from __future__ import annotations

import os
import sys

import lightning as L

from sr_lightning.cli import main


class _Crash(L.Callback):
    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if (trainer.current_epoch, batch_idx) == self.at:
            sys.stdout.flush()
            os._exit(17)


if __name__ == "__main__":
    epoch, batch, *args = sys.argv[1:]
    original_init = L.Trainer.__init__

    def init_with_crash(self, *a, callbacks=None, **kw):
        callbacks = [*(callbacks or []), _Crash(int(epoch), int(batch))]
        original_init(self, *a, callbacks=callbacks, **kw)

    L.Trainer.__init__ = init_with_crash
    main(args)
    sys.exit(0)  # reaching here means the crash point was never hit
