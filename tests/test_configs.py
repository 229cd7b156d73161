"""Every recipe under examples/configs: accepted with its own precision, and two training steps run on tiny data.

The networks are shrunk and pretrained feature networks (VGG, LPIPS backbones) switched to random weights from the
command line, exactly as a user would override a recipe; everything else is the recipe's own setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from lightning.pytorch.plugins.precision import MixedPrecision

from sr_lightning.cli import SRLightningCLI, main
from sr_lightning.data import SRDataModule
from sr_lightning.losses import seed002_hybrid_loss, seed002_vanilla_loss

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "examples" / "configs").glob("*.yaml"))


def _offline_overrides(cfg: dict[str, Any]) -> list[str]:
    """``pretrained=false`` for every loss term that has the option (these machines cannot download weights)."""
    loss = cfg["model"]["init_args"].get("loss") or {}
    terms = (loss.get("init_args") or {}).get("terms") or {}
    prefix = "--model.init_args.loss.init_args.terms"
    return [
        f"{prefix}.{name}.init_args.pretrained=false"
        for name, term in terms.items()
        if "pretrained" in (term.get("init_args") or {})
    ]


def _build(config: Path, *overrides: str) -> SRLightningCLI:
    args = ["--config", str(config), *overrides, *_offline_overrides(_load(config))]
    return SRLightningCLI(datamodule_class=SRDataModule, subclass_mode_model=True, run=False, args=args)


def _load(config: Path) -> dict[str, Any]:
    return yaml.safe_load(config.read_text())


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_is_accepted_with_its_own_precision(config: Path, tmp_path: Path) -> None:
    cfg = _load(config)
    cli = _build(config, f"--trainer.logger.init_args.save_dir={tmp_path}", "--trainer.accelerator=cpu")
    assert cli.model.generator.scale == cfg["data"]["scale"] == cli.datamodule.scale
    assert type(cli.model.loss).__name__ == cfg["model"]["init_args"]["loss"]["class_path"].split(".")[-1]
    weights = (cfg["model"]["init_args"]["loss"].get("init_args") or {}).get("weights")
    if weights is not None:
        assert cli.model.loss.weights == weights
    precision = str(cfg["trainer"]["precision"])
    if precision.endswith("-mixed"):
        # 16-mixed (the T4 setting) is accepted; on a CPU Lightning runs it as bf16 autocast, without a scaler.
        assert isinstance(cli.trainer.precision_plugin, MixedPrecision)
        assert cli.trainer.precision_plugin.precision in (precision, "bf16-mixed")
    else:
        assert cli.trainer.precision_plugin.precision in (precision, f"{precision}-true")


RECIPES = {
    "seed002_srresnet_vanilla.yaml": seed002_vanilla_loss,
    "seed002_se_srresnet_hybrid.yaml": seed002_hybrid_loss,
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_yaml_loss_is_the_python_recipe(name: str, tmp_path: Path) -> None:
    built = _build(CONFIGS[0].parent / name, f"--trainer.logger.init_args.save_dir={tmp_path}").model.loss
    recipe = RECIPES[name](pretrained=False)
    assert built.weights == recipe.weights
    assert repr(built) == repr(recipe)  # the same term classes with the same arguments, in the same order


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_trains_two_steps_on_tiny_data(config: Path, tmp_path: Path, write_images) -> None:
    cfg = _load(config)
    train = write_images(tmp_path / "train", count=4, size=(64, 64))
    val = write_images(tmp_path / "val", count=1, size=(64, 64))
    generator_args = cfg["model"]["init_args"]["generator"].get("init_args", {})
    shrink = ["--model.init_args.generator.init_args.n_resblocks=1", "--model.init_args.generator.init_args.n_feats=8"]
    if "reduction" in generator_args:
        shrink.append("--model.init_args.generator.init_args.reduction=4")
    args = [
        "fit",
        "--config",
        str(config),
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
        "--trainer.accelerator=cpu",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.limit_val_batches=1",
        "--trainer.log_every_n_steps=1",
        "--trainer.enable_progress_bar=false",
        *shrink,
        *_offline_overrides(cfg),
        f"--data.train_dir={train}",
        f"--data.val_dir={val}",
        "--data.patch_size=32",
        "--data.batch_size=2",
        "--data.repeat=1",
        "--data.num_workers=0",
        "--data.persistent_workers=false",
        "--data.pin_memory=false",
    ]
    cli = main(args)
    assert cli.trainer.global_step == 2
    logged = cli.trainer.logged_metrics
    assert torch.isfinite(logged["train/loss"])
    weights = (cfg["model"]["init_args"]["loss"].get("init_args") or {}).get("weights") or {}
    for name in weights:
        assert torch.isfinite(logged[f"train/loss_{name}"]), name
    if weights:
        # The logged total is the weighted sum of the logged terms (same batch, same step).
        total = sum(w * logged[f"train/loss_{n}"] for n, w in weights.items())
        assert logged["train/loss"].item() == pytest.approx(float(total), rel=1e-4, abs=1e-6)
    assert "val/psnr_y" in logged
