"""Export: safetensors rebuilds the same generator; ONNX runs any size in onnxruntime as PyTorch does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from sr_lightning.commands.export import main
from sr_lightning.inference import check_onnx, export_onnx, export_safetensors, load_generator, load_safetensors
from sr_lightning.models import EDSR, EDSRMSA, AttentionSRGANGenerator, SRResNet


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_safetensors_round_trip_of_a_checkpoint(tiny_checkpoint: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "edsr_x2.safetensors"
    assert main(["--ckpt", str(tiny_checkpoint), "-o", str(path)]) == path
    printed = capsys.readouterr().out
    assert f"Wrote {path} (safetensors, " in printed and "EDSR x2, EMA weights" in printed
    from safetensors import safe_open

    with safe_open(path, framework="pt") as file:
        metadata = file.metadata()
    assert metadata["class_path"] == "sr_lightning.models.edsr.EDSR" and metadata["scale"] == "2"
    assert json.loads(metadata["generator"])["init_args"]["n_feats"] == 8
    rebuilt, original = load_safetensors(path), load_generator(tiny_checkpoint)
    assert isinstance(rebuilt, EDSR) and _same_weights(rebuilt, original)
    lr = torch.rand(1, 3, 11, 9)
    with torch.no_grad():
        assert torch.equal(rebuilt(lr), original(lr))
    main(["--ckpt", str(tiny_checkpoint), "-o", str(path), "--no-ema"])
    assert _same_weights(load_safetensors(path), load_generator(tiny_checkpoint, use_ema=False))


def test_safetensors_multi_scale_and_errors(tmp_path: Path) -> None:
    net = EDSRMSA(scale=2, scales=(2, 4), n_resblocks=1, n_feats=8)
    net.scale = 4
    config = {"class_path": "sr_lightning.models.EDSRMSA", "init_args": {"scale": 2, "scales": [2, 4], "n_feats": 8}}
    config["init_args"]["n_resblocks"] = 1
    rebuilt = load_safetensors(export_safetensors(net, tmp_path / "msa.safetensors", config=config))
    assert rebuilt.scale == 4 and _same_weights(rebuilt, net)  # exported at x4, comes back at x4
    bare = export_safetensors(EDSR(scale=2, n_resblocks=1, n_feats=8), tmp_path / "bare.safetensors")
    with pytest.raises(ValueError, match=r"bare\.safetensors does not say how to build .*generator=EDSR"):
        load_safetensors(bare)
    assert isinstance(load_safetensors(bare, generator=EDSR(scale=2, n_resblocks=1, n_feats=8)), EDSR)
    with pytest.raises(ValueError, match=r"weights in .*bare\.safetensors do not fit EDSR"):
        load_safetensors(bare, generator=EDSR(scale=2, n_resblocks=2, n_feats=8))
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"junk\.safetensors is not a readable safetensors file"):
        load_safetensors(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError, match=r"nope\.safetensors does not exist"):
        load_safetensors(tmp_path / "nope.safetensors")


GENERATORS = {
    "edsr": lambda: EDSR(scale=2, n_resblocks=1, n_feats=8),
    "edsr_msa_x4_of_2_4": lambda: EDSRMSA(scale=4, scales=(2, 4), n_resblocks=1, n_feats=8),
    "srresnet_x4": lambda: SRResNet(scale=4, n_resblocks=1, n_feats=8),
    "attention_srgan": lambda: AttentionSRGANGenerator(scale=2, n_resblocks=1, n_feats=8, norm_groups=4),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_onnx_matches_pytorch_at_another_size(name: str, tmp_path: Path) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    net = GENERATORS[name]().eval()
    path = export_onnx(net, tmp_path / f"{name}.onnx", example_size=(32, 32))  # verify=True: checked already
    image = torch.rand(3, 3, 19, 45)  # another batch, height and width than the example's (1, 3, 32, 32)
    assert check_onnx(path, net, image) < 1e-4
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"lr": image.numpy()})
    assert out.shape == (3, 3, 19 * net.scale, 45 * net.scale)
    assert session.get_modelmeta().custom_metadata_map["scale"] == str(net.scale)


def test_onnx_export_command(tiny_checkpoint: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "edsr_x2.onnx"
    main(["--ckpt", str(tiny_checkpoint), "-o", str(path), "--example-size", "24", "40"])
    printed = capsys.readouterr().out
    assert f"Wrote {path} (onnx, " in printed and "on a 2x3x37x47 image: max abs diff" in printed
    difference = float(printed.split("max abs diff ")[1].split()[0])
    assert difference < 1e-4
    assert check_onnx(path, load_generator(tiny_checkpoint), torch.rand(1, 3, 50, 20)) < 1e-4
    # A difference above --atol fails the command.
    monkeypatch.setattr("sr_lightning.commands.export.check_onnx", lambda *args: 3e-3)
    with pytest.raises(SystemExit, match=r"differs from PyTorch by 3\.00e-03"):
        main(["--ckpt", str(tiny_checkpoint), "-o", str(path), "--format", "onnx"])
    with pytest.raises(SystemExit, match=r"give --format safetensors\|onnx"):
        main(["--ckpt", str(tiny_checkpoint), "-o", str(tmp_path / "model.bin")])
    with pytest.raises(SystemExit, match=r"holds a x2 EDSR; it cannot upscale x4"):
        main(["--ckpt", str(tiny_checkpoint), "-o", str(path), "--scale", "4"])


def test_an_exported_file_gets_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    import os
    import stat

    umask = os.umask(0o022)
    try:
        path = export_safetensors(EDSR(scale=2, n_resblocks=1, n_feats=8), tmp_path / "net.safetensors")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # safetensors alone writes 0600
