"""The pretrained zoo: each shipped model reproduces its recorded Set5 score; models load by name offline, upscale and
benchmark from the command line, and warm-start training (across scales too)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from PIL import Image

from sr_lightning import EDSR, SRModule, pretrained
from sr_lightning.cli import run
from sr_lightning.evaluation import run_benchmark
from sr_lightning.inference import export_safetensors

SHIPPED = pretrained.available()


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_model_reproduces_its_recorded_set5_score(name: str, set5_root: Path) -> None:
    recorded = pretrained.info(name)
    scale = int(recorded["scale"])
    bicubic, row = run_benchmark([], set5_root, scale=scale, lpips=None, tile=None, models=[name], device="cpu")
    # The recorded score is this very computation's, rounded to 4 decimals: 0.01 dB leaves room for another
    # CPU's float rounding (which moves a few 8-bit levels, ~1e-4 dB), and catches any change of weights or metric.
    assert row.psnr_y == pytest.approx(float(recorded["set5_psnr_y"]), abs=0.01)
    assert row.ssim_y == pytest.approx(float(recorded["set5_ssim_y"]), abs=1e-4)
    assert row.psnr_y > bicubic.psnr_y + 2.5  # far above bicubic: the right weights at the right scale
    assert f"{row.psnr_y:.2f}" in pretrained.model_card(name)  # the card shows the score the file records


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_files_are_small_and_hold_their_recipe(name: str) -> None:
    assert pretrained.weights_file(name).stat().st_size < 8e6
    recorded = pretrained.info(name)
    assert (Path(__file__).resolve().parents[1] / recorded["recipe"]).is_file()
    model = pretrained.load(name)
    assert model.scale == int(recorded["scale"]) and not model.training


@pytest.fixture
def zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A zoo holding one tiny x2 model, ``tiny-x2``, exported like the shipped ones."""
    torch.manual_seed(0)
    net = EDSR(scale=2, n_resblocks=1, n_feats=8)
    config = {"class_path": "sr_lightning.models.EDSR", "init_args": {"scale": 2, "n_resblocks": 1, "n_feats": 8}}
    folder = tmp_path / "zoo"
    export_safetensors(net, folder / "tiny-x2.safetensors", config=config, extra={"recipe": "r.yaml"})
    (folder / "tiny-x2.md").write_text("# tiny-x2\n")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", folder)
    return "tiny-x2"


def test_a_model_loads_by_name_and_unknown_names_list_the_zoo(zoo: str) -> None:
    assert pretrained.available() == [zoo]
    model = pretrained.load(zoo)
    assert type(model).__name__ == "EDSR" and model.scale == 2 and not model.training
    assert pretrained.info(zoo)["recipe"] == "r.yaml" and pretrained.model_card(zoo) == "# tiny-x2\n"
    with pytest.raises(ValueError, match=r"no pretrained model named 'edsr-x9'; the pretrained models are: tiny-x2"):
        pretrained.load("edsr-x9")


def test_upscale_and_benchmark_take_a_model_name(zoo: str, tmp_path: Path, write_images) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (20, 14), (40, 90, 160)).save(photo)
    run(["upscale", "--model", zoo, str(photo), "-o", str(tmp_path / "out"), "--quiet"])
    assert Image.open(tmp_path / "out" / "photo_x2.png").size == (40, 28)
    sets = tmp_path / "sets"
    write_images(sets / "tiny" / "HR", count=2, size=(32, 32))
    csv_path = tmp_path / "rows.csv"
    run(["benchmark", "--model", zoo, "--data", str(sets / "tiny"), "--scale", "2", "--lpips", "none",
         "--csv", str(csv_path)])  # fmt: skip
    rows = list(csv.DictReader(csv_path.open()))
    assert [row["model"] for row in rows] == ["Bicubic", zoo]
    with pytest.raises(SystemExit, match=r"tiny-x2 upscales x2, not x4"):
        run(["benchmark", "--model", zoo, "--data", str(sets / "tiny"), "--scale", "4", "--lpips", "none"])


def test_warm_start_across_scales_loads_everything_that_fits(zoo: str) -> None:
    x2 = pretrained.load(zoo).state_dict()
    x4 = EDSR(scale=4, n_resblocks=1, n_feats=8)  # two x2 pixel-shuffle stages where x2 has one
    with pytest.raises(ValueError, match=r"do not fit EDSR .*missing \['tail\.0\.2\.bias', 'tail\.0\.2\.weight'\]"):
        SRModule(x4, generator_weights=zoo)
    with pytest.warns(UserWarning, match=r"warm start from tiny-x2: \d+ of \d+ tensors loaded; 2 keep .*tail\.0\.2"):
        module = SRModule(x4, generator_weights=zoo, generator_weights_strict=False, ema_decay=0.9)
    state, ema = module.generator.state_dict(), module.ema.module.state_dict()
    for key, value in x2.items():  # body, head, the first upsampling stage, the last conv; the EMA starts there too
        assert torch.equal(state[key], value) and torch.equal(ema[key], value), key
