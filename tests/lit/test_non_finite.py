"""No NaN is ever trained on or saved: SRModule skips non-finite steps (as SRGANModule does), stops after a run of them,
and refuses to write a checkpoint whose weights are not finite; the tools refuse such weights."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from sr_lightning import EDSR, SRModule
from sr_lightning.cli import main
from sr_lightning.inference import load_generator
from sr_lightning.lit import NonFiniteLossError, NonFiniteWeightsError

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "configs" / "quickstart.yaml"


class _NaNOnCalls(nn.Module):
    """L1, except NaN on the given (0-based) calls."""

    def __init__(self, nan_calls: set[int] | None = None, always: bool = False) -> None:
        super().__init__()
        self.calls, self.nan_calls, self.always = 0, nan_calls or set(), always

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        loss = (sr - hr).abs().mean()
        nan = self.always or self.calls in self.nan_calls
        self.calls += 1
        return loss * float("nan") if nan else loss


def _module(loss: nn.Module, **kwargs) -> SRModule:
    torch.manual_seed(0)
    return SRModule(
        EDSR(scale=2, n_resblocks=1, n_feats=8), loss=loss, optimizer=partial(torch.optim.Adam, lr=1e-3), **kwargs
    )


def test_a_nan_step_is_skipped_and_counted(tiny_trainer, tiny_data) -> None:
    data = tiny_data(1)
    one_step = _module(_NaNOnCalls())
    tiny_trainer(max_steps=1, limit_val_batches=0).fit(one_step, datamodule=data)
    skipped = _module(_NaNOnCalls({1}))  # the same start, then a NaN loss on the second step
    trainer = tiny_trainer(max_epochs=1, limit_train_batches=2, limit_val_batches=0, log_every_n_steps=1)
    trainer.fit(skipped, datamodule=data)
    # The NaN step changed nothing: the weights are those after the first step alone (Adam leaves parameters
    # without a gradient untouched).
    after = skipped.generator.state_dict()
    for name, value in one_step.generator.state_dict().items():
        assert torch.equal(after[name], value), name
    assert int(skipped.skipped_steps) == 1 and int(skipped.consecutive_skips) == 1
    assert trainer.logged_metrics["train/skipped_steps"] == 1


def test_a_run_of_nan_steps_stops_with_a_clear_error(tiny_trainer, tiny_data) -> None:
    module = _module(_NaNOnCalls(always=True), max_consecutive_skips=3)
    trainer = tiny_trainer(max_epochs=5, limit_val_batches=0)
    with pytest.raises(NonFiniteLossError, match=r"3 consecutive training steps were skipped .* not finite"):
        trainer.fit(module, datamodule=tiny_data(1))
    assert int(module.skipped_steps) == 3


def test_non_finite_weights_are_never_written(tmp_path, tiny_trainer, tiny_data) -> None:
    module = _module(nn.L1Loss())
    trainer = tiny_trainer(max_steps=1, limit_val_batches=0)
    trainer.fit(module, datamodule=tiny_data(1))
    good = tmp_path / "good.ckpt"
    trainer.save_checkpoint(good)
    with torch.no_grad():
        module.generator.head.weight[0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteWeightsError, match=r"NaN or inf in 1 of \d+ tensors: generator\.head\.weight"):
        trainer.save_checkpoint(good)
    assert torch.isfinite(torch.load(good, weights_only=True)["state_dict"]["generator.head.weight"]).all()


def test_a_diverging_cli_run_stops_and_leaves_only_finite_checkpoints(tmp_path, write_images) -> None:
    # The reproduction: Adam at lr 1e6. Before the guard the run ended "successfully" with NaN weights in last.ckpt
    # and a best-...-psnr_ynan.ckpt.
    train = write_images(tmp_path / "train", count=4, size=(48, 48))
    args = [
        "fit",
        f"--config={QUICKSTART}",
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
        "--trainer.accelerator=cpu",
        "--trainer.max_epochs=3",
        "--trainer.limit_train_batches=4",
        "--trainer.enable_progress_bar=false",
        "--model.init_args.generator.init_args.n_resblocks=4",
        "--model.init_args.generator.init_args.n_feats=8",
        "--model.init_args.max_consecutive_skips=3",
        "--model.init_args.optimizer.init_args.lr=1e6",
        f"--data.train_dir={train}",
        "--data.val_fraction=0.25",
        "--data.patch_size=24",
        "--data.batch_size=2",
        "--data.repeat=4",
    ]
    with pytest.raises(NonFiniteLossError):
        main(args)
    checkpoints = sorted((tmp_path / "runs").rglob("*.ckpt"))
    assert not [p for p in checkpoints if "nan" in p.name]
    for path in checkpoints:
        state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
        assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point()), path


def test_the_tools_refuse_non_finite_weights(tiny_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(tiny_checkpoint, map_location="cpu", weights_only=True)
    for key in ("generator.tail.1.bias", "ema.module.tail.1.bias"):
        checkpoint["state_dict"][key] = torch.full_like(checkpoint["state_dict"][key], float("nan"))
    poisoned = tmp_path / "poisoned.ckpt"
    torch.save(checkpoint, poisoned)
    with pytest.raises(ValueError, match=r"poisoned\.ckpt are not finite .*tail\.1\.bias"):
        load_generator(poisoned)
    image = tmp_path / "in.png"
    from PIL import Image

    Image.new("RGB", (16, 12), (90, 120, 30)).save(image)
    from sr_lightning.cli import run

    for command in (
        ["upscale", "--ckpt", str(poisoned), str(image), "-o", str(tmp_path / "out")],
        ["export", "--ckpt", str(poisoned), "-o", str(tmp_path / "g.safetensors")],
    ):
        with pytest.raises(SystemExit, match=r"error: the weights in .*poisoned\.ckpt are not finite"):
            run(command)
    assert not list((tmp_path / "out").glob("*.png")) and not (tmp_path / "g.safetensors").exists()
