"""What every LightningModule of the library shares: the generator, its EMA, scale checks and evaluation steps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn

from sr_lightning.inference.tiling import tiled_upscale
from sr_lightning.lit.checkpoint_io import install_atomic_checkpoint_io
from sr_lightning.lit.ema import ModelEMA
from sr_lightning.losses import WeightedLoss
from sr_lightning.models.spec import network_spec
from sr_lightning.weights import CHECKPOINT_RECORD, generator_state, load_weights, read_weights

__all__ = [
    "NonFiniteLossError",
    "NonFiniteWeightsError",
    "SRBaseModule",
    "load_generator_weights",
    "loss_with_terms",
]

# Steps skipped for a non-finite loss: the total, and how many in a row (the run stops at max_consecutive_skips).
_SKIP_COUNTERS = ("skipped_steps", "consecutive_skips")


class NonFiniteLossError(RuntimeError):
    """Too many consecutive training steps had a NaN or infinite loss."""


class NonFiniteWeightsError(RuntimeError):
    """The weights became NaN or infinite: nothing is saved, the last good checkpoint stays as it was."""


def loss_with_terms(loss: nn.Module, sr: Tensor, hr: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
    """``loss(sr, hr)`` and its unweighted terms by name: those of a :class:`~sr_lightning.losses.WeightedLoss`,
    none for any other loss."""
    if isinstance(loss, WeightedLoss):
        return loss.compute(sr, hr)
    return loss(sr, hr), {}


class SRBaseModule(L.LightningModule):
    """Base class: holds ``generator`` (and its :class:`ModelEMA` when ``ema_decay`` is set) and runs evaluation.

    Validation, test and predict use the EMA weights when there are any (:attr:`inference_generator`); their
    steps return ``{"lr", "sr", "hr", "name"}`` for the callbacks. Subclasses define ``training_step``,
    ``configure_optimizers`` and ``compute_loss(sr, hr) -> (total, terms)``; their training steps run the generator
    through :meth:`forward`, which applies the speed options below (``channels_last``, ``compile_generator``,
    ``compile_backend``), documented here for every subclass; their measured effect is in ``docs/benchmarks.md``.

    Args:
        generator: the network, (B, 3, H, W) in [0, 1] -> (B, 3, sH, sW), with an integer ``scale`` attribute.
        ema_decay: keep an exponential moving average of the generator's weights with this decay (e.g. 0.999).
        channels_last: hold the generator's (and its EMA's) 4-D weights and feed its inputs in
            ``torch.channels_last`` memory format, the layout tensor cores and oneDNN convolutions prefer. Outputs
            (then channels-last too) and losses have the same values, and a checkpoint saved with either setting
            loads into a module with either.
        compile_generator: run the generator's training forward through ``torch.compile``. The compiled callable
            is kept outside the module tree: parameter names, ``state_dict`` keys and checkpoints are those of the
            uncompiled module, and evaluation, the EMA and export use the eager generator. The first training steps
            pay the compilation.
        compile_backend: the ``torch.compile`` backend, ``"inductor"`` (fused kernels) or e.g. ``"eager"`` or
            ``"aot_eager"`` to check the capture without code generation.
        max_consecutive_skips: a training step whose generator output or loss is NaN or infinite is skipped
            (nothing is stepped; ``train/skipped_steps`` counts it); after this many in a row the run stops with
            :class:`NonFiniteLossError`.
        generator_weights: warm start: the generator's weights from a checkpoint of the library (its raw
            ``generator.*`` weights, not its EMA), a state dict, a ``.safetensors`` export or a pretrained model's
            name (:mod:`sr_lightning.pretrained`), read without running pickled code. The file is read again
            whenever the module is built from its hyperparameters; once it is gone, pass ``generator_weights=None``
            to ``load_from_checkpoint`` (the checkpoint holds the trained weights).
        generator_weights_strict: every weight must fit; ``False`` loads the ones whose name and shape fit and
            keeps the rest (a x3 or x4 model started from x2 weights: all but the upsampling tail, as EDSR does).

    Raises:
        ValueError: a generator without an integer ``scale``, a ``max_consecutive_skips`` below 1, or, with
            ``compile_generator``, a ``compile_backend`` torch does not know.
        NonFiniteWeightsError: when a checkpoint would be saved with NaN or infinite weights (none is written).

    Example:
        >>> import torch
        >>> from sr_lightning.lit import SRModule
        >>> from sr_lightning.models import EDSR
        >>> module = SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8), channels_last=True, compile_generator=True)
        >>> module.generator.head.weight.is_contiguous(memory_format=torch.channels_last)
        True
        >>> sorted(module.state_dict()) == sorted(SRModule(EDSR(scale=2, n_resblocks=1, n_feats=8)).state_dict())
        True
    """

    def __init__(
        self,
        generator: nn.Module,
        ema_decay: float | None = None,
        channels_last: bool = False,
        compile_generator: bool = False,
        compile_backend: str = "inductor",
        max_consecutive_skips: int = 10,
        generator_weights: str | None = None,
        generator_weights_strict: bool = True,
    ) -> None:
        super().__init__()
        if generator_weights is not None:  # before the EMA copies the generator
            load_generator_weights(generator, generator_weights, strict=generator_weights_strict)
        if not isinstance(getattr(generator, "scale", None), int):
            raise ValueError(f"generator {type(generator).__name__} needs an integer `scale` attribute.")
        if max_consecutive_skips < 1:
            raise ValueError(f"max_consecutive_skips must be at least 1, got {max_consecutive_skips!r}.")
        backends = torch._dynamo.list_backends(exclude_tags=()) if compile_generator else [compile_backend]
        if compile_backend not in backends:
            raise ValueError(
                f"compile_backend {compile_backend!r} is not a torch.compile backend of this torch; use one of "
                f"{', '.join(b for b in ('inductor', 'aot_eager', 'eager', 'cudagraphs') if b in backends)}."
            )
        if channels_last:
            generator.to(memory_format=torch.channels_last)  # before the EMA copies it
        self.generator = generator
        self.ema = ModelEMA(generator, decay=ema_decay) if ema_decay is not None else None
        self.channels_last = channels_last
        self.compile_generator = compile_generator
        self.compile_backend = compile_backend
        self._compiled_generator: Callable[[Tensor], Tensor] | None = None
        self.max_consecutive_skips = max_consecutive_skips
        for counter in _SKIP_COUNTERS:  # in the state dict, so checkpoints restore them exactly
            self.register_buffer(counter, torch.zeros((), dtype=torch.long))

    @property
    def scale(self) -> int:
        """The generator's upscaling factor (the metrics' border follows it)."""
        return int(self.generator.scale)

    @property
    def inference_generator(self) -> nn.Module:
        """The weights to evaluate and export: the EMA's when enabled, else the generator itself."""
        if self.ema is None:
            return self.generator
        if getattr(self.ema.module, "scale", None) != self.scale:
            self.ema.module.scale = self.scale  # progressive training switched the generator's scale
        return self.ema.module

    def forward(self, lr: Tensor) -> Tensor:
        """Upscale with the training weights while training (compiled with ``compile_generator``), with
        :attr:`inference_generator` otherwise; the input goes in channels-last layout with ``channels_last``."""
        if self.channels_last:
            lr = lr.contiguous(memory_format=torch.channels_last)
        if not self.training:
            return self.inference_generator(lr)
        if not self.compile_generator:
            return self.generator(lr)
        if self._compiled_generator is None:
            # A plain attribute, not a submodule: the compiled wrapper adds no ``state_dict`` keys.
            compiled = torch.compile(self.generator, backend=self.compile_backend)
            object.__setattr__(self, "_compiled_generator", compiled)
        return self._compiled_generator(lr)

    # Tiles of predict_step; the PredictionWriter callback sets them from its own arguments.
    predict_tile: int | None = 256
    predict_overlap: int = 16

    def __getstate__(self) -> dict[str, Any]:
        """Pickles and deep copies leave the compiled callable out; it is compiled again on first use."""
        state = super().__getstate__()
        state["_compiled_generator"] = None
        return state

    def setup(self, stage: str) -> None:
        """Check that data and generator agree on the scale, and make the Trainer write checkpoints atomically
        (:class:`~sr_lightning.lit.checkpoint_io.AtomicCheckpointIO`, unless it has a checkpoint plugin of its own)."""
        if self._trainer is not None:
            install_atomic_checkpoint_io(self._trainer)
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        data_scale = getattr(datamodule, "scale", None)
        if data_scale is not None and data_scale != self.scale:
            raise ValueError(
                f"The data scale ({data_scale}) differs from the generator's scale ({self.scale}); "
                "set data.scale and the generator's scale to the same value."
            )

    # ----------------------------------------------------------------------------------- non-finite guard
    @staticmethod
    def _all_finite(*tensors: Tensor | None) -> bool:
        return all(t is None or bool(torch.isfinite(t).all()) for t in tensors)

    def _skip(self, what: str, batch_size: int) -> None:
        """Count a step skipped because ``what`` was not finite; raise after ``max_consecutive_skips`` in a row."""
        self.skipped_steps += 1
        self.consecutive_skips += 1
        self.log("train/skipped_steps", self.skipped_steps.float(), batch_size=batch_size)
        if int(self.consecutive_skips) >= self.max_consecutive_skips:
            raise NonFiniteLossError(
                f"{int(self.consecutive_skips)} consecutive training steps were skipped because {what} was not finite "
                f"(last at global step {self.global_step}). Lower the learning rate, clip gradients, try bf16-mixed "
                "instead of 16-mixed, or check the data for NaNs. The checkpoints written so far hold finite weights."
            )

    def set_scale(self, scale: int) -> None:
        """Switch the run to ``scale``: the generator (one of its ``scales``), its EMA copy and the Trainer's data.

        The one place the current scale changes (progressive training calls it); checkpoints record it.

        Raises:
            ValueError: the generator has no tail for ``scale``.
        """
        scales = tuple(getattr(self.generator, "scales", (self.generator.scale,)))
        if scale not in scales:
            raise ValueError(
                f"{type(self.generator).__name__} upscales x{'/x'.join(map(str, scales))}, not x{scale}: build it "
                f"with a tail for every scale, e.g. EDSRMSA(scales={tuple(sorted({*scales, scale}))})."
            )
        self.generator.scale = scale
        if self.ema is not None:
            self.ema.module.scale = scale
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if datamodule is not None and getattr(datamodule, "scale", scale) != scale:
            datamodule.scale = scale

    def generator_record(self) -> dict[str, Any]:
        """How to rebuild the generator, as every checkpoint records it (``checkpoint["sr_lightning"]``):
        ``{"generator": {"class_path", "init_args"}, "scale": current scale}``, and the discriminator's spec for
        modules that have one. ``init_args`` is None for a network of your own that records nothing (see
        :class:`~sr_lightning.models.RecordsSpec`): the tools then need the network passed in."""
        record: dict[str, Any] = {"scale": self.scale}
        for name in ("generator", "discriminator"):
            network = getattr(self, name, None)
            if not isinstance(network, nn.Module):
                continue
            given = self.hparams.get(name) if hasattr(self, "hparams") else None
            spec = dict(given) if isinstance(given, dict) and given.get("class_path") else network_spec(network)
            record[name] = spec or {"class_path": f"{type(network).__module__}.{type(network).__qualname__}",
                                    "init_args": None}  # fmt: skip
        return record

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Record how to rebuild the generator and its current scale (:meth:`generator_record`), and refuse to save
        non-finite weights: they would poison every later resume, upscale and export."""
        checkpoint[CHECKPOINT_RECORD] = self.generator_record()
        bad = [
            key
            for key, value in checkpoint["state_dict"].items()
            if value.is_floating_point() and not bool(torch.isfinite(value).all())
        ]
        if bad:
            total = len(checkpoint["state_dict"])
            raise NonFiniteWeightsError(
                f"the weights are not finite at global step {self.global_step} (NaN or inf in {len(bad)} of {total} "
                f"tensors: {', '.join(bad[:4])}{', ...' if len(bad) > 4 else ''}); no checkpoint was written, the last "
                "good one is unchanged. Lower the learning rate or clip gradients, and resume from it."
            )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Take the recorded scale (a progressive run resumes at its stage); checkpoints of earlier versions have no
        skip counters: they start at 0."""
        state = checkpoint.get("state_dict", {})
        for counter in _SKIP_COUNTERS:
            state.setdefault(counter, torch.zeros((), dtype=torch.long))
        scale = (checkpoint.get(CHECKPOINT_RECORD) or {}).get("scale")
        if scale is not None and scale != self.scale:
            self.set_scale(int(scale))

    @classmethod
    def load_from_checkpoint(cls, checkpoint_path: str | Path, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Lightning's ``load_from_checkpoint``, also for checkpoints of modules built in Python: the networks the
        hyperparameters leave out are built from the checkpoint's record (:meth:`generator_record`)."""
        from sr_lightning.weights import build_generator

        checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True, mmap=True)
        hparams = checkpoint.get("hyper_parameters") or {}
        for name, spec in (checkpoint.get(CHECKPOINT_RECORD) or {}).items():
            if name in ("generator", "discriminator") and name not in kwargs and name not in hparams:
                if spec.get("init_args") is None:
                    raise ValueError(
                        f"{checkpoint_path} records the {name} class {spec['class_path']} but not its arguments (a "
                        f"network of your own that does not inherit sr_lightning.models.RecordsSpec): pass it, "
                        f"load_from_checkpoint(path, {name}=...)."
                    )
                kwargs[name] = build_generator(spec, checkpoint_path)
        return super().load_from_checkpoint(checkpoint_path, *args, **kwargs)

    def update_ema(self) -> None:
        """Move the EMA towards the generator; call after each generator optimizer step."""
        if self.ema is not None:
            self.ema.update(self.generator)

    def compute_loss(self, sr: Tensor, hr: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        raise NotImplementedError

    @property
    def _progress_bar_shown(self) -> bool:
        """Whether the trainer shows a progress bar: Lightning turns every ``prog_bar`` value into a Python float
        after each batch (a device synchronisation on a GPU), so without a bar the training losses skip it."""
        return self._trainer is not None and self._trainer.progress_bar_callback is not None

    def _log_loss(self, stage: str, total: Tensor, terms: dict[str, Tensor], batch_size: int) -> None:
        is_train = stage == "train"
        prog_bar = is_train and self._progress_bar_shown
        self.log(f"{stage}/loss", total, prog_bar=prog_bar, sync_dist=not is_train, batch_size=batch_size)
        for term, value in terms.items():
            self.log(f"{stage}/loss_{term}", value, sync_dist=not is_train, batch_size=batch_size)

    def _evaluation_step(self, batch: dict[str, Any], stage: str) -> dict[str, Any]:
        sr = self(batch["lr"])
        loss, terms = self.compute_loss(sr, batch["hr"])
        self._log_loss(stage, loss, terms, sr.shape[0])
        return {"lr": batch["lr"], "sr": sr.detach(), "hr": batch["hr"], "name": batch.get("name")}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        return self._evaluation_step(batch, "val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        return self._evaluation_step(batch, "test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> dict[str, Any]:
        """``{"sr", "name"}``: the batch upscaled (in tiles of :attr:`predict_tile` LR pixels with
        :attr:`predict_overlap` of blended context; ``None``: whole images) by :attr:`inference_generator`."""
        lr = batch["lr"]
        sr = tiled_upscale(self, lr, self.scale, tile=self.predict_tile, overlap=self.predict_overlap)
        return {"sr": sr.clamp(0, 1), "name": batch.get("name")}


def load_generator_weights(
    generator: nn.Module, path: str | Path, state_dict: dict[str, Tensor] | None = None, strict: bool = True
) -> None:
    """Load a generator's weights (a warm start): from a library checkpoint (its raw ``generator.*`` entries, not its
    EMA), a plain state dict, a ``.safetensors`` file (``sr-lightning export``) or a pretrained model's name
    (:func:`sr_lightning.pretrained.available`).

    Files are read without running pickled code. With ``state_dict`` given, those weights are loaded instead, and
    ``path`` only names them in errors. ``strict=False`` loads every tensor whose name and shape fit and keeps the
    rest, with a warning naming them: EDSR's way to start a x3 or x4 model from x2 weights (all but the tail).

    Raises:
        FileNotFoundError: the file does not exist (and is no pretrained name).
        ValueError: the file is not a checkpoint, state dict or safetensors file, or its weights do not fit
            ``generator`` (another architecture, width or scale); the message names the file and the keys.
    """
    if state_dict is None:
        source = Path(path)
        if not source.is_file():
            from sr_lightning import pretrained

            if str(path) not in pretrained.available():
                raise FileNotFoundError(
                    f"generator weights file {path} does not exist (nor is it one of the pretrained models: "
                    f"{', '.join(pretrained.available()) or 'none'})."
                )
            source = pretrained.weights_file(str(path))
        state_dict = generator_state(read_weights(source)[0], use_ema=False)
    load_weights(generator, state_dict, path, strict=strict)
