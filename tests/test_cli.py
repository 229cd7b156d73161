"""The `sr-lightning` command end to end on tiny data: fit writes everything, test scores Set5, resume continues."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sr_lightning.cli import main

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "examples" / "configs"


def _tiny_overrides(tmp_path: Path, train_dir: Path) -> list[str]:
    return [
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.log_every_n_steps=1",
        "--trainer.accelerator=cpu",
        "--model.init_args.generator.init_args.n_resblocks=1",
        "--model.init_args.generator.init_args.n_feats=8",
        f"--data.train_dir={train_dir}",
        "--data.patch_size=24",
        "--data.batch_size=2",
        "--data.repeat=1",
    ]


@pytest.fixture
def train_dir(tmp_path: Path, write_images) -> Path:
    return write_images(tmp_path / "train", count=6, size=(48, 48))


def test_quickstart_fit_writes_run_folder_then_resumes(tmp_path, train_dir, capsys) -> None:
    args = ["fit", "--config", str(CONFIGS / "quickstart.yaml"), *_tiny_overrides(tmp_path, train_dir)]
    main(args)
    printed = capsys.readouterr().out
    run = tmp_path / "runs" / "quickstart" / "version_0"
    ckpts = run / "checkpoints"
    assert (ckpts / "last.ckpt").is_file()
    best = list(ckpts.glob("best-epoch000-psnr_y*.ckpt"))
    assert len(best) == 1
    assert (run / "metrics.csv").read_text().count("val/bicubic_psnr_y") == 1
    assert (run / "images" / "val_epoch000.png").is_file()
    assert (run / "config.yaml").is_file()
    assert "PSNR-Y (dB)" in printed and "bicubic" in printed and str(run.resolve()) in printed

    checkpoint = torch.load(ckpts / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 0 and checkpoint["global_step"] == 2
    assert checkpoint["optimizer_states"] and checkpoint["lr_schedulers"]
    assert checkpoint["hyper_parameters"]["generator"]["class_path"] == "sr_lightning.models.EDSR"

    # Resume: one more epoch continues the counters of the first, in a new version folder, losing nothing.
    resumed = main([*args, "--trainer.max_epochs=2", "--ckpt_path=last"])
    assert Path(resumed.trainer.ckpt_path) == ckpts / "last.ckpt"
    assert resumed.trainer.current_epoch == 2 and resumed.trainer.global_step == 4
    epochs = [row.split(",")[0] for row in (run.parent / "version_1" / "metrics.csv").read_text().splitlines()[1:]]
    assert "0" not in epochs and "1" in epochs  # only epoch 1 was trained by the resumed run
    assert (run / "metrics.csv").read_text().count("\n") > 1  # the first run's log is intact


def test_ckpt_path_last_without_a_previous_run_is_a_clear_error(tmp_path, train_dir) -> None:
    args = ["fit", "--config", str(CONFIGS / "quickstart.yaml"), *_tiny_overrides(tmp_path, train_dir)]
    with pytest.raises(FileNotFoundError, match=r"no usable last\.ckpt under"):
        main([*args, "--ckpt_path=last"])


def test_run_config_tests_a_checkpoint_on_set5(tmp_path, train_dir, set5_root, capsys) -> None:
    main(["fit", "--config", str(CONFIGS / "quickstart.yaml"), *_tiny_overrides(tmp_path, train_dir)])
    run = tmp_path / "runs" / "quickstart" / "version_0"
    best = next((run / "checkpoints").glob("best-*.ckpt"))
    capsys.readouterr()
    cli = main(["test", "--config", str(run / "config.yaml"), f"--ckpt_path={best}", f"--data.test_dir={set5_root}"])
    printed = capsys.readouterr().out
    metrics = cli.trainer.callback_metrics
    for key in ("psnr", "ssim", "psnr_y", "ssim_y"):
        assert f"test/{key}" in metrics and f"test/bicubic_{key}" in metrics
    # Set5 x2 bicubic, published: 33.66 dB / 0.9299 (the LR is the official MATLAB one).
    assert metrics["test/bicubic_psnr_y"].item() == pytest.approx(33.66, abs=0.03)
    assert metrics["test/bicubic_ssim_y"].item() == pytest.approx(0.9299, abs=0.001)
    assert "Test (Y: BT.601" in printed


# ---------------------------------------------------------------------------------------------- resume rules
def _two_runs(tmp_path: Path, train_dir: Path) -> tuple[list[str], Path, Path]:
    """Two short runs of the quickstart; the fit arguments and both last.ckpt, oldest first."""
    args = ["fit", "--config", str(CONFIGS / "quickstart.yaml"), *_tiny_overrides(tmp_path, train_dir)]
    main(args)
    main(args)
    runs = tmp_path / "runs" / "quickstart"
    return args, runs / "version_0" / "checkpoints" / "last.ckpt", runs / "version_1" / "checkpoints" / "last.ckpt"


def test_ckpt_path_last_passes_over_a_broken_newest_checkpoint(tmp_path, train_dir, capsys) -> None:
    args, older, newest = _two_runs(tmp_path, train_dir)
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 3])  # what a save killed halfway once left behind
    capsys.readouterr()
    resumed = main([*args, "--trainer.max_epochs=2", "--ckpt_path=last"])
    assert Path(resumed.trainer.ckpt_path) == older
    out = capsys.readouterr().out
    assert f"passed over 1 newer unusable last.ckpt:\n  {newest} is not a readable checkpoint" in out
    for path in newest.parents[2].rglob("last.ckpt"):  # the resumed run's too
        path.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"no usable last\.ckpt under .*\n  .*the file is empty"):
        main([*args, "--trainer.max_epochs=2", "--ckpt_path=last"])


def test_an_explicit_unreadable_checkpoint_is_named(tmp_path, train_dir) -> None:
    args = ["--config", str(CONFIGS / "quickstart.yaml"), *_tiny_overrides(tmp_path, train_dir)]
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"\x00" * 100)
    for command in ("fit", "test"):
        with pytest.raises(ValueError, match=rf"{junk} is not a readable checkpoint: it is not a PyTorch zip"):
            main([command, *args, f"--ckpt_path={junk}", f"--data.test_dir={train_dir}"])


def test_a_checkpoint_of_another_model_is_an_error_naming_both(tmp_path, train_dir) -> None:
    args, _, checkpoint = _two_runs(tmp_path, train_dir)
    with pytest.raises(ValueError, match=r"n_feats: 16 in the config, 8 in the checkpoint"):
        main([*args, "--model.init_args.generator.init_args.n_feats=16", f"--ckpt_path={checkpoint}"])
    srgan = [
        "--model=sr_lightning.lit.SRGANModule",
        "--model.init_args.generator=sr_lightning.models.SRResNet",
        "--model.init_args.discriminator=sr_lightning.models.SRGANDiscriminator",
    ]
    with pytest.raises(ValueError, match=r"model: sr_lightning\.lit\.SRGANModule in the config, .*SRModule in the"):
        main(["test", "--config", str(CONFIGS / "quickstart.yaml"), *srgan, f"--ckpt_path={checkpoint}"])
    # The same rule for `last`: the newest run is the SRModule one.
    with pytest.raises(ValueError, match=r"n_feats: 16 in the config, 8 in the checkpoint"):
        main([*args, "--model.init_args.generator.init_args.n_feats=16", "--ckpt_path=last"])


# ---------------------------------------------------------------------------------------------- one optimizer idiom
def test_the_learning_rate_given_is_the_one_trained_with(tmp_path, train_dir) -> None:
    import warnings

    args = ["fit", "--config", str(CONFIGS / "quickstart.yaml"), *_tiny_overrides(tmp_path, train_dir)]
    cli = main([*args, "--model.init_args.optimizer.init_args.lr=0.5"])
    assert cli.trainer.optimizers[0].defaults["lr"] == 0.5
    assert not [f for f in warnings.filters if "configure_optimizers" in str(f[1])]  # no process-wide filter
    # The former `lr` argument is never ignored: next to an optimizer it is an error naming both...
    with pytest.raises(ValueError, match=r"SRModule got lr=0\.5 and an optimizer"):
        main([*args, "--model.init_args.lr=0.5"])
    # ... alone it still works, with a deprecation warning.
    with pytest.warns(DeprecationWarning, match=r"SRModule\(lr=\.\.\.\) is deprecated"):
        cli = main(
            [*args, "--model.init_args.optimizer=null", "--model.init_args.scheduler=null", "--model.init_args.lr=0.25"]
        )
    assert cli.trainer.optimizers[0].defaults["lr"] == 0.25


def test_a_top_level_optimizer_becomes_the_modules_and_both_are_an_error(tmp_path, train_dir) -> None:
    import yaml

    config = yaml.safe_load((CONFIGS / "quickstart.yaml").read_text())
    config["optimizer"] = config["model"]["init_args"].pop("optimizer")  # the LightningCLI style of earlier configs
    config["optimizer"]["init_args"]["lr"] = 0.125
    old_style = tmp_path / "old.yaml"
    old_style.write_text(yaml.safe_dump(config))
    args = ["fit", "--config", str(old_style), *_tiny_overrides(tmp_path, train_dir)]
    cli = main(args)
    assert cli.trainer.optimizers[0].defaults["lr"] == 0.125
    assert cli.trainer.lr_scheduler_configs[0].scheduler.milestones  # the module's own scheduler is kept
    with pytest.raises(ValueError, match=r"both the top-level `optimizer:` .*and `model\.init_args\.optimizer`"):
        main([*args, "--model.init_args.optimizer=torch.optim.SGD", "--model.init_args.optimizer.init_args.lr=0.1"])
