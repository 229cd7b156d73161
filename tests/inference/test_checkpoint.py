"""Loading a generator from a checkpoint: the architecture from its config, EMA weights, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sr_lightning.inference import generator_config, load_generator, read_checkpoint
from sr_lightning.models import EDSR, EDSRMSA


def test_the_generator_comes_back_with_its_ema_weights(tiny_checkpoint: Path) -> None:
    state = read_checkpoint(tiny_checkpoint)["state_dict"]
    generator = load_generator(tiny_checkpoint)
    assert isinstance(generator, EDSR) and generator.scale == 2 and not generator.training
    weights = generator.state_dict()
    assert weights and all(torch.equal(value, state[f"ema.module.{key}"]) for key, value in weights.items())
    # The EMA (decay 0.5, 2 steps) is not the trained weights, and use_ema=False gives those.
    assert not torch.equal(state["ema.module.head.weight"], state["generator.head.weight"])
    raw = load_generator(tiny_checkpoint, use_ema=False).state_dict()
    assert all(torch.equal(value, state[f"generator.{key}"]) for key, value in raw.items())


def test_bad_files_and_scales_are_clear_errors(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.ckpt does not exist"):
        load_generator(tmp_path / "nope.ckpt")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(tiny_checkpoint.read_bytes()[:1000])  # truncated
    with pytest.raises(ValueError, match=r"junk\.ckpt is not a readable checkpoint"):
        load_generator(junk)
    plain = tmp_path / "plain.pt"
    torch.save(EDSR(scale=2, n_resblocks=1, n_feats=8).state_dict(), plain)
    with pytest.raises(ValueError, match=r"plain\.pt is not a Lightning checkpoint"):
        load_generator(plain)
    with pytest.raises(ValueError, match=r"holds a x2 EDSR; it cannot upscale x4"):
        load_generator(tiny_checkpoint, scale=4)
    with pytest.raises(ValueError, match=r"do not fit EDSR .*another architecture"):
        load_generator(tiny_checkpoint, generator=EDSR(scale=2, n_resblocks=2, n_feats=8))
    # A checkpoint of an earlier version written outside the CLI has no generator config: say how to pass it.
    checkpoint = read_checkpoint(tiny_checkpoint)
    checkpoint["hyper_parameters"] = {"lr": 1e-4}
    del checkpoint["sr_lightning"]
    bare = tmp_path / "bare.ckpt"
    torch.save(checkpoint, bare)
    with pytest.raises(ValueError, match=r"bare.ckpt does not say which generator.*generator=EDSR"):
        generator_config(read_checkpoint(bare), bare)
    loaded = load_generator(bare, generator=EDSR(scale=2, n_resblocks=1, n_feats=8))
    assert torch.equal(loaded.head.weight, checkpoint["state_dict"]["ema.module.head.weight"])


def test_a_multi_scale_generator_switches_to_the_scale_asked_for(tmp_path: Path) -> None:
    net = EDSRMSA(scale=2, scales=(2, 4), n_resblocks=1, n_feats=8)
    config = {
        "class_path": "sr_lightning.models.EDSRMSA",
        "init_args": {"scale": 2, "scales": [2, 4], "n_resblocks": 1, "n_feats": 8},
    }
    path = tmp_path / "msa.ckpt"
    torch.save(
        {
            "state_dict": {f"generator.{k}": v for k, v in net.state_dict().items()},
            "hyper_parameters": {"generator": config},
        },
        path,
    )
    loaded = load_generator(path, scale=4)
    assert loaded.scale == 4
    assert loaded(torch.rand(1, 3, 5, 6)).shape == (1, 3, 20, 24)
