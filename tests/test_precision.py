"""The precision rule: mixed precision on CUDA (bf16 from Ampere on, fp16 before), float32 on a CPU; the CLI applies it
when the config leaves the precision unset, and says so."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from sr_lightning.cli import main
from sr_lightning.precision import auto_precision, resolve_precision

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "configs" / "quickstart.yaml"


def test_cpu_runs_train_in_float32() -> None:
    assert resolve_precision(None, "cpu")[0] == "32"
    assert resolve_precision("auto", "mps")[0] == "32"
    assert auto_precision("cpu", verbose=False) == "32"


@pytest.mark.parametrize(
    ("capability", "expected"), [((7, 5), "16-mixed"), ((8, 0), "bf16-mixed"), ((9, 0), "bf16-mixed")]
)
def test_cuda_runs_train_in_mixed_precision(monkeypatch, capability, expected) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "a test GPU")
    precision, reason = resolve_precision(None, "auto")
    assert precision == expected and "a test GPU" in reason
    assert resolve_precision(None, "cpu")[0] == "32"  # a CPU run on a machine with a GPU


def test_an_explicit_precision_is_kept_and_mixed_on_a_cpu_is_flagged(monkeypatch) -> None:
    assert resolve_precision("32", "cpu") == ("32", "as configured")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_precision("bf16-mixed", "gpu") == ("bf16-mixed", "as configured")
    precision, reason = resolve_precision("16-mixed", "cpu")
    assert precision == "16-mixed" and "slower than float32" in reason


def _fit(tmp_path, *overrides: str):
    return main(
        [
            "fit",
            f"--config={QUICKSTART}",
            f"--trainer.logger.init_args.save_dir={tmp_path}",
            "--trainer.accelerator=cpu",
            "--trainer.max_epochs=1",
            "--trainer.limit_train_batches=1",
            "--trainer.limit_val_batches=0",
            "--trainer.enable_progress_bar=false",
            "--model.init_args.generator.init_args.n_resblocks=1",
            "--model.init_args.generator.init_args.n_feats=8",
            "--data.repeat=1",
            *overrides,
        ]
    )


def test_the_cli_picks_float32_on_a_cpu_when_the_config_leaves_it_unset(tmp_path, caplog) -> None:
    with caplog.at_level(logging.INFO):
        cli = _fit(tmp_path, "--trainer.precision=null")
    assert cli.trainer.precision == "32-true"
    assert "Precision: 32 (auto: the run is on the CPU" in caplog.text
    assert "precision: 32" in (tmp_path / "quickstart" / "version_0" / "config.yaml").read_text()  # what it used


def test_the_cli_warns_about_mixed_precision_on_a_cpu(tmp_path) -> None:
    with pytest.warns(UserWarning, match="16-mixed .*slower than float32"):
        _fit(tmp_path, "--trainer.precision=16-mixed")
