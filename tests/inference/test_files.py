"""Upscaling files and folders: output names and tree, the checkpoint's EMA weights, collisions and bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_lightning.data import ImageReadError
from sr_lightning.inference import load_generator, output_paths, upscale_files, upscale_image
from sr_lightning.models import EDSR


def _save(path: Path, size: tuple[int, int] = (20, 16), mode: str = "RGB", seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(rgb).convert(mode).save(path)
    return path


def test_folders_are_mirrored_with_the_checkpoint_ema_weights(tiny_checkpoint: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    _save(photos / "a.png", size=(20, 16))
    _save(photos / "trip" / "b.jpg", size=(12, 10), mode="L", seed=1)
    single = _save(tmp_path / "c.bmp", size=(9, 7), seed=2)
    out = tmp_path / "out"
    written = upscale_files(tiny_checkpoint, [photos, single], out, tile=8, overlap=8, progress=False)
    assert written == [out / "a_x2.png", out / "trip" / "b_x2.png", out / "c_x2.png"]
    sizes = {path.name: (Image.open(path).size, Image.open(path).mode) for path in written}
    assert sizes == {"a_x2.png": ((40, 32), "RGB"), "b_x2.png": ((24, 20), "L"), "c_x2.png": ((18, 14), "RGB")}
    ema = upscale_image(load_generator(tiny_checkpoint), photos / "a.png", tile=8, overlap=8)
    trained = upscale_image(load_generator(tiny_checkpoint, use_ema=False), photos / "a.png", tile=8, overlap=8)
    assert np.array_equal(np.asarray(Image.open(out / "a_x2.png")), np.asarray(ema))
    assert not np.array_equal(np.asarray(ema), np.asarray(trained))  # the EMA (decay 0.5) is other weights


def test_a_generator_can_be_given_instead_of_a_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = EDSR(scale=3, n_resblocks=1, n_feats=8).eval()
    image = _save(tmp_path / "in" / "x.png", size=(7, 5))
    (written,) = upscale_files(net, image, tmp_path / "out", device="cpu", progress=False)
    assert written == tmp_path / "out" / "x_x3.png" and Image.open(written).size == (21, 15)
    assert np.array_equal(np.asarray(Image.open(written)), np.asarray(upscale_image(net, image)))
    with pytest.raises(ValueError, match=r"upscales x3, not x2"):
        upscale_files(net, image, tmp_path / "out", scale=2, progress=False)
    with pytest.raises(ValueError, match=r"device 'gpu' is not a torch device; use auto, cpu, cuda or cuda:N"):
        upscale_files(net, image, tmp_path / "out", device="gpu", progress=False)


def test_outputs_never_overwrite_inputs_or_each_other(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    _save(folder / "a.png")
    _save(folder / "a_x2.png")
    with pytest.raises(ValueError, match=r"a\.png would overwrite the input .*a_x2\.png"):
        output_paths([folder], folder, scale=2)
    _save(tmp_path / "other" / "a.jpg")
    with pytest.raises(ValueError, match=r"a\.png and .*a\.jpg would both be written to .*a_x2\.png"):
        output_paths([folder / "a.png", tmp_path / "other" / "a.jpg"], tmp_path / "out", scale=2)
    with pytest.raises(FileNotFoundError, match=r"input .*nope\.png does not exist"):
        output_paths([tmp_path / "nope.png"], tmp_path / "out", scale=2)
    # An output folder inside the input folder: its earlier results are not inputs again.
    _save(folder / "up" / "a_x4.png")
    with pytest.warns(UserWarning, match=r"left out 1 image\(s\) of .*imgs inside the output folder"):
        pairs = output_paths([folder], folder / "up", scale=4)
    assert [(s.name, t.relative_to(folder).as_posix()) for s, t in pairs] == [
        ("a.png", "up/a_x4.png"),
        ("a_x2.png", "up/a_x2_x4.png"),
    ]


def test_unreadable_images_raise_or_are_skipped_by_name(tmp_path: Path) -> None:
    net = EDSR(scale=2, n_resblocks=1, n_feats=8).eval()
    folder = tmp_path / "imgs"
    _save(folder / "good.png")
    (folder / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        upscale_files(net, folder, tmp_path / "out", progress=False)
    with pytest.warns(UserWarning, match=r"skipped .*broken\.png"):
        written = upscale_files(net, folder, tmp_path / "out", progress=False, skip_errors=True)
    assert written == [tmp_path / "out" / "good_x2.png"]


class _Nearest(torch.nn.Module):
    """x2 nearest-neighbour "generator": the output shows exactly where each input pixel went."""

    scale = 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_photo_comes_out_upright_as_its_exif_orientation_says(tmp_path: Path, orientation: int) -> None:
    from PIL import ImageOps

    photo = _save(tmp_path / "phone.png", size=(6, 4), mode="RGBA", seed=orientation)
    with Image.open(photo) as im:
        exif = im.getexif()
        exif[274] = orientation  # what a phone writes for a picture taken sideways
        im.save(photo, exif=exif)
    (written,) = upscale_files(_Nearest(), [photo], tmp_path / "out", tile=None, progress=False)
    with Image.open(photo) as im:
        shown = ImageOps.exif_transpose(im).convert("RGBA")  # what an image viewer shows
    expected = shown.resize((shown.width * 2, shown.height * 2), Image.Resampling.NEAREST)
    result = Image.open(written)
    assert result.size == expected.size
    assert np.array_equal(np.asarray(result)[..., :3], np.asarray(expected)[..., :3])  # alpha goes by bicubic


def test_an_unwritable_output_folder_is_an_error_before_any_work(tmp_path: Path, monkeypatch) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the output folder should be")
    calls = []
    monkeypatch.setattr("sr_lightning.inference.files.upscale_image", lambda *a, **k: calls.append(a))
    with pytest.raises(PermissionError, match=rf"cannot write to the output folder {blocked / 'out'}"):
        upscale_files(_Nearest(), [_save(tmp_path / "a.png")], blocked / "out", progress=False)
    assert calls == []  # no image was computed
    from sr_lightning.cli import run

    with pytest.raises(SystemExit, match=r"^sr-lightning upscale: error: cannot write to the output folder"):
        run(["upscale", "--ckpt", str(tmp_path / "any.ckpt"), str(tmp_path / "a.png"), "-o", str(blocked / "o")])


def test_skip_errors_counts_and_names_the_skipped_files(tiny_checkpoint: Path, tmp_path: Path, capsys) -> None:
    from sr_lightning.cli import run

    good = _save(tmp_path / "in" / "good.png")
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.warns(UserWarning, match=r"skipped .*broken\.png"):
        run(["upscale", "--ckpt", str(tiny_checkpoint), str(good.parent), "-o", str(tmp_path / "out"), "--skip-errors",
             "--quiet"])  # fmt: skip
    out = capsys.readouterr().out
    assert "Wrote 1 image(s)" in out and "Skipped 1 unreadable image(s):" in out and "broken.png" in out
