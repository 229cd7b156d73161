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
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.precision import MixedPrecision

from sr_lightning.cli import SRLightningCLI, main
from sr_lightning.data import SRDataModule
from sr_lightning.experiments import SRWandbLogger
from sr_lightning.losses import (
    dwivedi_hybrid_loss,
    dwivedi_vanilla_loss,
    tyagi_msa_gan_losses,
    wu_attention_srgan_losses,
)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "examples" / "configs").glob("*.yaml"))
TINY_WIDTHS = {"n_resblocks": 1, "n_feats": 8, "reduction": 4, "norm_groups": 4}


def _load(config: Path) -> dict[str, Any]:
    return yaml.safe_load(config.read_text())


def _scale(cfg: dict) -> int:
    return int((cfg.get("data") or {}).get("scale", 2))


def _loss_key(cfg: dict[str, Any]) -> str:
    """``loss`` for the pixel module, ``content_loss`` for the GAN module."""
    return "content_loss" if "content_loss" in cfg["model"]["init_args"] else "loss"


def _weights(cfg: dict[str, Any]) -> dict[str, float]:
    return (cfg["model"]["init_args"][_loss_key(cfg)].get("init_args") or {}).get("weights") or {}


def _offline_overrides(cfg: dict[str, Any]) -> list[str]:
    """``pretrained=false`` for every loss term that has the option (these machines cannot download weights)."""
    key = _loss_key(cfg)
    terms = (cfg["model"]["init_args"][key].get("init_args") or {}).get("terms") or {}
    return [
        f"--model.init_args.{key}.init_args.terms.{name}.init_args.pretrained=false"
        for name, term in terms.items()
        if "pretrained" in (term.get("init_args") or {})
    ]


def _tiny_overrides(cfg: dict[str, Any]) -> list[str]:
    """Shrink the generator (and discriminator) through the arguments the recipe itself sets."""
    model = cfg["model"]["init_args"]
    overrides = [
        f"--model.init_args.generator.init_args.{key}={value}"
        for key, value in TINY_WIDTHS.items()
        if key in model["generator"].get("init_args", {}) or key in ("n_resblocks", "n_feats")
    ]
    if "discriminator" in model:
        overrides.append("--model.init_args.discriminator.init_args.n_feats=4")
    if model.get("generator_weights"):  # a warm start from full-width weights cannot fit the shrunk generator
        overrides.append("--model.init_args.generator_weights=null")
    return overrides


def _build(config: Path, *overrides: str) -> SRLightningCLI:
    args = ["--config", str(config), *overrides, *_offline_overrides(_load(config))]
    return SRLightningCLI(datamodule_class=SRDataModule, subclass_mode_model=True, run=False, args=args)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_is_accepted_with_its_own_precision(config: Path, tmp_path: Path) -> None:
    cfg = _load(config)
    cli = _build(config, f"--trainer.logger.init_args.save_dir={tmp_path}", "--trainer.accelerator=cpu")
    assert cli.model.generator.scale == cfg["data"]["scale"] == cli.datamodule.scale
    loss = getattr(cli.model, _loss_key(cfg))
    assert type(loss).__name__ == cfg["model"]["init_args"][_loss_key(cfg)]["class_path"].split(".")[-1]
    if _weights(cfg):
        assert loss.weights == _weights(cfg)
    # A recipe without a precision gets the machine's (sr_lightning.precision): float32 on this CPU run.
    precision = str(cfg["trainer"].get("precision", "32"))
    if precision.endswith("-mixed"):
        # 16-mixed (the T4 setting) is accepted; on a CPU Lightning runs it as bf16 autocast, without a scaler.
        assert isinstance(cli.trainer.precision_plugin, MixedPrecision)
        assert cli.trainer.precision_plugin.precision in (precision, "bf16-mixed")
    else:
        assert cli.trainer.precision_plugin.precision in (precision, f"{precision}-true")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_logs_to_wandb_next_to_its_csv_logger(config: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_DIR", raising=False)  # it would win over the CSV logger's save_dir
    cfg = _load(config)
    cli = _build(
        config, f"--trainer.logger.init_args.save_dir={tmp_path}", "--wandb.project=sr", "--wandb.mode=offline"
    )
    csv_logger, wandb_logger = cli.trainer.loggers
    assert isinstance(csv_logger, CSVLogger) and isinstance(wandb_logger, SRWandbLogger)
    init = wandb_logger.init_kwargs
    assert init["project"] == "sr" and init["mode"] == "offline" and init["dir"] == str(tmp_path)
    assert init["name"] == f"{cfg['trainer']['logger']['init_args']['name']}/version_0"  # the CSV folder's name
    flat = init["config"]  # the whole config, dotted keys: W&B groups runs by any of them
    assert flat["model.init_args.generator.class_path"] == cfg["model"]["init_args"]["generator"]["class_path"]
    assert flat["data.init_args.scale"] == cfg["data"]["scale"]
    assert flat["trainer.max_epochs"] == cfg["trainer"]["max_epochs"]
    assert flat["run/log_dir"] == str(tmp_path / cfg["trainer"]["logger"]["init_args"]["name"] / "version_0")
    assert wandb_logger._experiment is None  # no W&B run starts before fit/validate/test does


RECIPES = {
    "dwivedi_srresnet_vanilla.yaml": lambda: dwivedi_vanilla_loss(pretrained=False),
    "dwivedi_se_srresnet_hybrid.yaml": lambda: dwivedi_hybrid_loss(pretrained=False),
    "tyagi_edsr_msa_gan_progressive.yaml": lambda: tyagi_msa_gan_losses(pretrained=False),
    "wu_attention_srgan.yaml": wu_attention_srgan_losses,
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_yaml_loss_is_the_python_recipe(name: str, tmp_path: Path) -> None:
    model = _build(CONFIGS[0].parent / name, f"--trainer.logger.init_args.save_dir={tmp_path}").model
    recipe = RECIPES[name]()
    if hasattr(recipe, "content"):  # an adversarial recipe: content, adversarial loss and weight
        assert repr(model.content_loss) == repr(recipe.content)
        assert model.adversarial_loss.mode == recipe.adversarial.mode
        assert model.adversarial_weight == recipe.adversarial_weight
    else:
        assert repr(model.loss) == repr(recipe)  # the same term classes with the same arguments, in the same order


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_config_trains_two_steps_on_tiny_data(config: Path, tmp_path: Path, write_images) -> None:
    cfg = _load(config)
    train = write_images(tmp_path / "train", count=4, size=(64, 64))
    val = write_images(tmp_path / "val", count=1, size=(64, 64))
    args = [
        "fit",
        "--config",
        str(config),
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
        "--trainer.accelerator=cpu",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.limit_val_batches=1",
        "--trainer.check_val_every_n_epoch=1",
        "--trainer.log_every_n_steps=1",
        "--trainer.enable_progress_bar=false",
        *_tiny_overrides(cfg),
        *_offline_overrides(cfg),
        f"--data.train_dir={train}",
        f"--data.val_dir={val}",
        f"--data.patch_size={8 * _scale(cfg)}",  # small, and a multiple of the config's scale (x3 configs too)
        "--data.batch_size=2",
        "--data.repeat=1",
        "--data.num_workers=0",
        "--data.persistent_workers=false",
        "--data.pin_memory=false",
    ]
    cli = main(args)
    logged = cli.trainer.logged_metrics
    gan = _loss_key(cfg) == "content_loss"
    if gan:  # each batch steps the discriminator and the generator; global_step counts both
        assert int(cli.model.generator_steps) == 2 and cli.trainer.global_step == 4
        assert torch.isfinite(logged["train/loss_d"]) and torch.isfinite(logged["train/loss_g"])
    else:
        assert cli.trainer.global_step == 2
    total = logged["train/loss_content" if gan else "train/loss"]
    assert torch.isfinite(total)
    weights = _weights(cfg)
    if weights:
        # The logged total is the weighted sum of the logged terms (same batch, same step).
        expected = sum(w * logged[f"train/loss_{n}"] for n, w in weights.items())
        assert total.item() == pytest.approx(float(expected), rel=1e-4, abs=1e-6)
    assert torch.isfinite(logged["val/psnr_y"])
    assert (Path(cli.trainer.log_dir) / "checkpoints" / "last.ckpt").is_file()
