"""The paths between commands, walked end to end: a checkpoint trained from Python, from the CLI or by a subclass goes
through upscale, benchmark, export and load_from_checkpoint; predict writes images; the command line lists its
tools, says what is wrong in its last line, and fails fast without data; any DataModule can be named."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest
import torch
from PIL import Image

from sr_lightning import EDSR, SRModule
from sr_lightning.callbacks import SRCheckpoint, SRMetrics
from sr_lightning.cli import main, run
from sr_lightning.inference import load_generator, load_safetensors, read_checkpoint

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "examples" / "configs" / "quickstart.yaml"
TINY = ["--model.init_args.generator.init_args.n_resblocks=1", "--model.init_args.generator.init_args.n_feats=8"]


def _cli_args(tmp_path: Path, train: Path) -> list[str]:
    return [
        f"--trainer.logger.init_args.save_dir={tmp_path / 'runs'}",
        "--trainer.max_epochs=1",
        "--trainer.limit_train_batches=2",
        "--trainer.limit_val_batches=1",
        "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false",
        *TINY,
        f"--data.train_dir={train}",
        "--data.patch_size=24",
        "--data.batch_size=2",
        "--data.repeat=1",
    ]


def _tools_accept(checkpoint: Path, tmp_path: Path, write_images, scale: int = 2) -> None:
    """upscale, benchmark and export take ``checkpoint`` with no other hint, at its scale."""
    photo = tmp_path / "photo.png"
    Image.new("RGB", (12, 10), (90, 40, 200)).save(photo)
    run(["upscale", "--ckpt", str(checkpoint), str(photo), "-o", str(tmp_path / "up"), "--quiet"])
    assert Image.open(tmp_path / "up" / f"photo_x{scale}.png").size == (12 * scale, 10 * scale)
    sets = write_images(tmp_path / "bench" / "HR", count=2, size=(48, 48)).parent
    run(["benchmark", "--ckpt", str(checkpoint), "--data", str(sets), "--scale", str(scale), "--lpips", "none",
         "--csv", str(tmp_path / "b.csv")])  # fmt: skip
    assert len((tmp_path / "b.csv").read_text().splitlines()) == 3  # header, bicubic, the model
    run(["export", "--ckpt", str(checkpoint), "-o", str(tmp_path / "g.safetensors")])
    exported = load_safetensors(tmp_path / "g.safetensors")
    assert exported.scale == scale
    assert all(
        torch.equal(a, b)
        for a, b in zip(exported.state_dict().values(), load_generator(checkpoint).state_dict().values(), strict=True)
    )


def test_a_checkpoint_trained_from_python_goes_through_every_tool(tmp_path, tiny_trainer, tiny_data, write_images):
    # The README's Python path: no LightningCLI, so no config records the generator; the module's record does.
    torch.manual_seed(0)
    module = SRModule(
        EDSR(scale=2, n_resblocks=1, n_feats=8), optimizer=partial(torch.optim.Adam, lr=1e-3), ema_decay=0.5
    )
    checkpoint = SRCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/psnr_y", mode="max", save_last=True)
    callbacks = [SRMetrics(), checkpoint]
    tiny_trainer(max_epochs=1, limit_train_batches=2, enable_checkpointing=True, callbacks=callbacks).fit(
        module, datamodule=tiny_data(1)
    )
    last = tmp_path / "ckpt" / "last.ckpt"
    record = read_checkpoint(last)["sr_lightning"]
    assert record["scale"] == 2 and record["generator"]["init_args"]["n_feats"] == 8
    _tools_accept(last, tmp_path, write_images)
    again = SRModule.load_from_checkpoint(last)  # the generator is rebuilt from the record
    assert torch.equal(again.ema.module.head.weight, module.ema.module.head.weight)


def test_a_subclass_trained_from_the_cli_goes_through_every_tool(tmp_path, write_images, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "from sr_lightning import EDSR, SRModule\n\n"
        "class WideEDSR(EDSR):\n"
        "    def __init__(self, scale: int = 2, n_resblocks: int = 1, n_feats: int = 8, extra: float = 0.5) -> None:\n"
        "        super().__init__(scale=scale, n_resblocks=n_resblocks, n_feats=n_feats)\n"
        "        self.extra = extra\n\n"
        "class MyModule(SRModule):\n"
        "    def __init__(self, *args, tag: str = 'mine', **kwargs) -> None:\n"
        "        super().__init__(*args, **kwargs)\n"
        "        self.tag = tag\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    train = write_images(tmp_path / "train", count=4, size=(48, 48))
    subclasses = ["--model=my_models.MyModule", "--model.init_args.generator=my_models.WideEDSR"]
    main(["fit", f"--config={QUICKSTART}", *_cli_args(tmp_path, train), *subclasses,
          "--model.init_args.generator.init_args.extra=0.25"])  # fmt: skip
    last = next((tmp_path / "runs").rglob("last.ckpt"))
    assert read_checkpoint(last)["sr_lightning"]["generator"]["class_path"] == "my_models.WideEDSR"
    generator = load_generator(last)
    assert type(generator).__name__ == "WideEDSR" and generator.extra == 0.25
    _tools_accept(last, tmp_path, write_images)


def test_predict_writes_the_upscaled_images(tmp_path, write_images):
    train = write_images(tmp_path / "train", count=4, size=(48, 48))
    main(["fit", f"--config={QUICKSTART}", *_cli_args(tmp_path, train)])
    last = next((tmp_path / "runs").rglob("last.ckpt"))
    photos = write_images(tmp_path / "photos" / "trip", count=2, size=(20, 14)).parent  # LR inputs, no HR
    main(["predict", f"--config={QUICKSTART}", *_cli_args(tmp_path, train), f"--ckpt_path={last}",
          f"--data.predict_dir={photos}", f"--predictions.output_dir={tmp_path / 'out'}"])  # fmt: skip
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert written == ["trip/img0_x2.png", "trip/img1_x2.png"]
    assert Image.open(tmp_path / "out" / "trip" / "img0_x2.png").size == (28, 40)


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("fit", "validate", "test", "predict", "benchmark", "compare", "upscale", "export"):
        assert f"\n  {command} " in out


def test_a_build_error_ends_with_the_librarys_message(tmp_path, capsys):
    wu = REPO / "examples" / "configs" / "wu_attention_srgan.yaml"
    args = ["fit", f"--config={wu}", "--model.init_args.generator.init_args.norm_groups=5"]
    with pytest.raises(SystemExit) as exit_info:
        run(args)
    message = str(exit_info.value)
    assert (
        message.splitlines()[0]
        == "sr-lightning: error: norm_groups=5 must be a positive divisor of n_feats=64 for GroupNorm."
    )
    assert "--debug" in message.splitlines()[-1] and "Traceback" not in message
    with pytest.raises(ValueError, match=r"Does not validate|norm_groups=5"):  # the whole exception, with --debug
        run([*args, "--debug"])


def test_a_recipe_that_needs_data_says_so_before_training(tmp_path, capsys):
    config = REPO / "examples" / "configs" / "abram_sadik_edsr_l1.yaml"
    with pytest.raises(SystemExit, match=r"--data\.train_dir"):
        run(["fit", f"--config={config}", *TINY, f"--trainer.logger.init_args.save_dir={tmp_path}"])
    assert not list(tmp_path.rglob("*.ckpt"))


def test_any_datamodule_can_be_named(tmp_path, write_images, monkeypatch):
    (tmp_path / "my_data.py").write_text(
        "from sr_lightning import SRDataModule\n\n"
        "class TaggedData(SRDataModule):\n"
        "    def __init__(self, tag: str = 'plain', **kwargs) -> None:\n"
        "        super().__init__(**kwargs)\n"
        "        self.tag = tag\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    train = write_images(tmp_path / "train", count=4, size=(48, 48))
    cli = main(["fit", f"--config={QUICKSTART}", "--data=my_data.TaggedData", "--data.tag=spicy",
                *_cli_args(tmp_path, train)])  # fmt: skip
    assert type(cli.datamodule).__name__ == "TaggedData" and cli.datamodule.tag == "spicy"
    assert cli.datamodule.hparams.train_dir == str(train)  # the config's data arguments carried over
    sys.modules.pop("my_data", None)
