"""LPIPSMonitor in a real fit: the logged value is the lpips package's per-image mean on that epoch's images."""

from __future__ import annotations

from pathlib import Path

import lpips
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor

from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks.lpips import LPIPSMonitor

pytestmark = pytest.mark.filterwarnings("ignore:.*(pretrained|weight enum).*:UserWarning")


class Recorder(Callback):
    def __init__(self) -> None:
        self.pairs: dict[str, list[tuple[Tensor, Tensor]]] = {}
        self.logged: dict[str, dict[str, float]] = {}

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking:
            key = f"val{trainer.current_epoch}"
            self.pairs.setdefault(key, []).append((outputs["sr"].clamp(0, 1).clone(), outputs["hr"].clone()))

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.logged[f"val{trainer.current_epoch}"] = {k: float(v) for k, v in trainer.callback_metrics.items()}


def test_lpips_metric_logs_the_per_image_mean_of_each_epoch(tmp_path: Path, tiny_data, tiny_trainer) -> None:
    data = tiny_data(3, size=(64, 64))
    callback, recorder = LPIPSMonitor(net="squeeze", pretrained=False), Recorder()
    torch.manual_seed(0)
    module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8))
    tiny_trainer(max_epochs=2, limit_train_batches=1, callbacks=[callback, recorder]).fit(module, datamodule=data)
    reference = lpips.LPIPS(net="squeeze", pretrained=True, pnet_rand=True, verbose=False).eval()
    reference.load_state_dict(callback._metric.distance.lpips.state_dict())  # the callback's random network
    for epoch in ("val0", "val1"):
        with torch.no_grad():
            values = torch.cat([reference(2 * sr - 1, 2 * hr - 1).flatten() for sr, hr in recorder.pairs[epoch]])
        assert values.shape == (3,)
        assert recorder.logged[epoch]["val/lpips_squeeze"] == pytest.approx(values.mean().item(), rel=1e-5)
    assert recorder.logged["val0"]["val/lpips_squeeze"] != recorder.logged["val1"]["val/lpips_squeeze"]


def test_lpips_metric_rejects_unknown_nets_before_building_anything() -> None:
    with pytest.raises(ValueError, match=r"net must be one of \['alex', 'vgg', 'squeeze'\], got 'resnet'"):
        LPIPSMonitor(net="resnet")
    with pytest.raises(ValueError, match="every_n_epochs must be an integer >= 1, got 0"):
        LPIPSMonitor(every_n_epochs=0)


def test_old_names_are_deprecated_aliases_of_lpips_monitor() -> None:
    import importlib
    import sys

    import sr_lightning
    from sr_lightning.callbacks import LPIPSMetric

    with pytest.warns(DeprecationWarning, match="LPIPSMetric is deprecated.*LPIPSMonitor"):
        old = LPIPSMetric(net="squeeze", pretrained=False, every_n_epochs=2)
    assert isinstance(old, LPIPSMonitor) and (old.net, old.every_n_epochs) == ("squeeze", 2)
    assert sr_lightning.LPIPSMetric is LPIPSMetric and sr_lightning.LPIPSMonitor is LPIPSMonitor
    sys.modules.pop("sr_lightning.callbacks.perceptual", None)
    with pytest.warns(DeprecationWarning, match="sr_lightning.callbacks.perceptual is deprecated"):
        shim = importlib.import_module("sr_lightning.callbacks.perceptual")
    assert shim.LPIPSMonitor is LPIPSMonitor and shim.LPIPSMetric is LPIPSMetric
