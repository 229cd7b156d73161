"""The speed options of SRBaseModule: ``channels_last`` and ``compile_generator`` change the layout and the execution,
never the numbers, the parameter names or the checkpoints. (Their speed is measured in benchmarks/train_step.py.)

``torch.compile`` runs with the ``aot_eager`` backend here: AOTAutograd captures forward and backward graphs as
``inductor`` would, without generating C++ code, so the tests take seconds."""

from __future__ import annotations

import copy
import pickle
from functools import partial

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from sr_lightning import EDSR, SRGANDiscriminator, SRGANModule, SRMetrics, SRModule

BACKEND = "aot_eager"


def _module(**options) -> SRModule:
    torch.manual_seed(0)
    return SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), optimizer=partial(torch.optim.Adam, lr=1e-3), **options)


def _batch(size: int = 8) -> dict[str, Tensor]:
    generator = torch.Generator().manual_seed(1)
    return {"lr": torch.rand(2, 3, size, size, generator=generator), "hr": torch.rand(2, 3, 2 * size, 2 * size)}


def _loss_and_grads(module: SRModule, batch: dict[str, Tensor]) -> tuple[float, dict[str, Tensor]]:
    module.train()
    loss = module.training_step(batch, 0)
    loss.backward()
    return loss.item(), {name: p.grad.clone() for name, p in module.named_parameters() if p.grad is not None}


def _loader(batches: int = 2) -> DataLoader:
    generator = torch.Generator().manual_seed(2)
    data = [
        {"lr": torch.rand(3, 8, 8, generator=generator), "hr": torch.rand(3, 16, 16, generator=generator)}
        for _ in range(2 * batches)
    ]
    return DataLoader(data, batch_size=2)


def _conv_weights(net: nn.Module) -> list[Tensor]:
    return [m.weight for m in net.modules() if isinstance(m, nn.Conv2d)]


# ------------------------------------------------------------------------------------------------ channels_last
def test_channels_last_gives_the_same_loss_and_gradients_with_weights_in_channels_last() -> None:
    batch = _batch()
    loss, grads = _loss_and_grads(_module(), batch)
    fast = _module(channels_last=True, ema_decay=0.5)
    loss_cl, grads_cl = _loss_and_grads(fast, batch)
    assert loss_cl == pytest.approx(loss, rel=1e-6)
    assert grads_cl.keys() == grads.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(grads_cl[name], grad, rtol=1e-4, atol=1e-7, msg=name)
    for net in (fast.generator, fast.ema.module):
        weights = _conv_weights(net)
        assert all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
        assert sum(not w.is_contiguous() for w in weights) == len(weights)  # every 3x3 kernel was really reordered


def test_channels_last_checkpoints_load_into_either_layout(tiny_trainer, tmp_path) -> None:
    trained = _module(channels_last=True, ema_decay=0.5)
    trainer = tiny_trainer(max_steps=2, limit_val_batches=0)
    trainer.fit(trained, train_dataloaders=_loader())
    trainer.save_checkpoint(tmp_path / "cl.ckpt")
    plain = SRModule.load_from_checkpoint(
        tmp_path / "cl.ckpt", generator=EDSR(scale=2, n_resblocks=1, n_feats=8), channels_last=False
    )
    for (name, saved), loaded in zip(trained.state_dict().items(), plain.state_dict().values(), strict=True):
        assert torch.equal(saved, loaded), name
    assert all(w.is_contiguous() for w in _conv_weights(plain.generator))
    torch.save(plain.state_dict(), tmp_path / "plain.pt")
    back = _module(channels_last=True, ema_decay=0.5)
    back.load_state_dict(torch.load(tmp_path / "plain.pt", weights_only=True))
    assert all(torch.equal(a, b) for a, b in zip(back.state_dict().values(), plain.state_dict().values(), strict=True))
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(back.generator))


def test_channels_last_validation_metrics_equal_the_default_layout(tiny_trainer) -> None:
    results = [
        tiny_trainer(callbacks=[SRMetrics()]).validate(_module(**options), _loader(), verbose=False)[0]
        for options in ({}, {"channels_last": True})
    ]
    assert results[0].keys() == results[1].keys() and "val/psnr_y" in results[0]
    for key, value in results[0].items():
        # PSNR/SSIM score 8-bit levels: an output that differs by an ulp across layouts may round to the next level,
        # which moves these 4-image means by up to 4e-4 (measured); the loss is a plain float mean.
        scored = key.startswith(("val/psnr", "val/ssim"))
        assert results[1][key] == (pytest.approx(value, abs=2e-3) if scored else pytest.approx(value, rel=1e-5)), key


# ------------------------------------------------------------------------------------------------------ compile
def test_compiled_training_step_equals_eager_and_keeps_the_state_dict_keys() -> None:
    batch = _batch()
    loss, grads = _loss_and_grads(_module(), batch)
    compiled = _module(compile_generator=True, compile_backend=BACKEND)
    loss_c, grads_c = _loss_and_grads(compiled, batch)
    assert compiled._compiled_generator is not None  # the training step did go through torch.compile
    assert loss_c == pytest.approx(loss, abs=1e-5)
    for name, grad in grads.items():
        torch.testing.assert_close(grads_c[name], grad, rtol=1e-5, atol=1e-5, msg=name)
    assert list(compiled.state_dict()) == list(_module().state_dict())
    assert [name for name, _ in compiled.named_modules()] == [name for name, _ in _module().named_modules()]
    compiled.eval()  # evaluation runs the eager generator
    with torch.no_grad():
        torch.testing.assert_close(compiled(batch["lr"]), _module().eval()(batch["lr"]), rtol=0, atol=1e-5)


def test_a_checkpoint_of_a_compiled_fit_loads_into_an_uncompiled_module(tiny_trainer, tmp_path) -> None:
    compiled = _module(compile_generator=True, compile_backend=BACKEND, channels_last=True, ema_decay=0.5)
    trainer = tiny_trainer(max_steps=2, limit_val_batches=0)
    trainer.fit(compiled, train_dataloaders=_loader())
    trainer.save_checkpoint(tmp_path / "compiled.ckpt")
    saved = torch.load(tmp_path / "compiled.ckpt", weights_only=True)["state_dict"]
    assert list(saved) == list(_module(ema_decay=0.5).state_dict())
    plain = SRModule.load_from_checkpoint(
        tmp_path / "compiled.ckpt", generator=EDSR(scale=2, n_resblocks=1, n_feats=8), compile_generator=False
    )
    assert all(torch.equal(saved[k], v) for k, v in plain.state_dict().items())
    assert not torch.equal(saved["generator.head.weight"], _module().generator.head.weight)  # it did train


def test_a_compiled_module_pickles_and_copies_without_its_compiled_callable() -> None:
    module = _module(compile_generator=True, compile_backend=BACKEND)
    _loss_and_grads(module, _batch())
    for clone in (copy.deepcopy(module), pickle.loads(pickle.dumps(module))):
        assert clone._compiled_generator is None
        loss = clone.training_step(_batch(), 0)  # compiled again on first use
        assert clone._compiled_generator is not None and torch.isfinite(loss)


# ------------------------------------------------------------------------------------------------ progress bar
@pytest.mark.parametrize("progress_bar", [False, True])
def test_the_training_loss_goes_to_the_progress_bar_only_when_there_is_one(tiny_trainer, progress_bar: bool) -> None:
    # Lightning calls .item() on every progress-bar value after each batch: a GPU sync that only a shown bar needs.
    trainer = tiny_trainer(max_steps=1, limit_val_batches=0, enable_progress_bar=progress_bar)
    trainer.fit(_module(), train_dataloaders=_loader(1))
    assert ("train/loss" in trainer.progress_bar_metrics) is progress_bar
    assert "train/loss" in trainer.callback_metrics and "train/loss" in trainer.logged_metrics


def test_gan_module_trains_with_both_options(tiny_trainer) -> None:
    torch.manual_seed(0)
    module = SRGANModule(
        EDSR(scale=2, n_resblocks=1, n_feats=8),
        SRGANDiscriminator(n_feats=4, pool_size=1),
        channels_last=True,
        compile_generator=True,
        compile_backend=BACKEND,
        ema_decay=0.5,
    )
    trainer = tiny_trainer(max_steps=4, limit_val_batches=1, callbacks=[SRMetrics()])
    trainer.fit(module, _loader(), _loader(1))
    assert int(module.generator_steps) == 2 and int(module.skipped_steps) == 0
    assert "train/loss_g" in trainer.callback_metrics and not trainer.progress_bar_metrics.keys() & {"train/loss_g"}
    assert module._compiled_generator is not None
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(module.generator))


def test_an_unknown_compile_backend_is_an_error_that_names_it() -> None:
    with pytest.raises(ValueError, match=r"compile_backend 'inductr' is not a torch.compile backend.*inductor"):
        _module(compile_generator=True, compile_backend="inductr")


# ------------------------------------------------------------------------------------------------------- on CUDA
@pytest.mark.gpu
def test_channels_last_and_inductor_compile_train_on_cuda_like_eager(cuda, tiny_trainer, tmp_path) -> None:
    batch = {key: value.to(cuda) for key, value in _batch(size=16).items()}
    eager = _module().to(cuda)
    fast = _module(channels_last=True, compile_generator=True, compile_backend="inductor").to(cuda)
    loss, grads = _loss_and_grads(eager, batch)
    loss_fast, grads_fast = _loss_and_grads(fast, batch)
    # cuDNN may pick other algorithms (and TF32) for the two layouts and for the fused kernels: agreement to ~1e-3
    # relative is float rounding; a wrong layout or a missing term would be off by far more.
    assert loss_fast == pytest.approx(loss, rel=1e-2)
    assert grads_fast.keys() == grads.keys()
    for name, grad in grads.items():
        cosine = torch.nn.functional.cosine_similarity(grads_fast[name].flatten(), grad.flatten(), dim=0)
        assert cosine > 0.99, name
    trainer = tiny_trainer(accelerator="gpu", devices=1, max_steps=4, limit_val_batches=0, enable_checkpointing=True)
    trainer.fit(_module(channels_last=True, compile_generator=True), train_dataloaders=_loader())
    assert torch.isfinite(trainer.callback_metrics["train/loss"])
    path = tmp_path / "compiled.ckpt"
    trainer.save_checkpoint(path)
    state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
    assert sorted(state) == sorted(_module().state_dict())  # the compiled wrapper adds no keys
