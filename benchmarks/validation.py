"""What one validation of the quickstart costs, before and after the two validation speed-ups, in one run.

The quickstart validates on chelsea and coffee (the embedded photos, 451x300 and 600x400) with
:class:`~sr_lightning.callbacks.SRMetrics` (PSNR/SSIM on Y and RGB, for the model and for bicubic) and an
:class:`~sr_lightning.callbacks.ImagePanel`. Two variants run ``trainer.validate`` on the same module, alternating:

- **before**: SSIM blurs with one 11x11 2-D convolution, and the bicubic baseline is upscaled and scored again at
  every validation (the library before the change, reproduced here by patching those two pieces);
- **after**: the library as it is: two 1-D Gaussian passes, and bicubic scores kept per image after the first
  validation.

Both log the same values (the largest difference is printed, to show it). Times are medians over rounds, and the
first validation of the "after" variant, which fills the bicubic cache, is reported apart::

    python benchmarks/validation.py                   # quickstart widths (8 x 32), 5 rounds
    python benchmarks/validation.py --rounds 9 --blocks 16 --feats 64
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from sr_lightning import EDSR, ImagePanel, SRDataModule, SRMetrics, SRModule
from sr_lightning.metrics import functional


def _blur_2d(x: Tensor, size: int = 11, sigma: float = 1.5) -> Tensor:
    """The former SSIM blur: one (size x size) 2-D convolution of every plane."""
    b, c, h, w = x.shape
    g = functional._gaussian_1d(size, sigma, x.dtype).to(x.device)
    window = (g[:, None] * g[None, :]).view(1, 1, size, size)
    return F.conv2d(x.reshape(b * c, 1, h, w), window).reshape(b, c, h - size + 1, w - size + 1)


class _UncachedSRMetrics(SRMetrics):
    """SRMetrics that forgets the bicubic scores before every validation, as before the change."""

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._bicubic_scores.clear()


@contextmanager
def _former_ssim() -> Iterator[None]:
    current = functional._gaussian_blur_valid
    functional._gaussian_blur_valid = _blur_2d
    try:
        yield
    finally:
        functional._gaussian_blur_valid = current


def _validate(module: SRModule, data: SRDataModule, metrics: SRMetrics, root: str) -> tuple[float, dict[str, float]]:
    trainer = L.Trainer(
        default_root_dir=root,  # the panels' PNGs
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[metrics, ImagePanel(num_images=2, crop_size=128)],
    )
    start = time.perf_counter()
    trainer.validate(module, datamodule=data, verbose=False)
    seconds = time.perf_counter() - start
    return seconds, {k: float(v) for k, v in trainer.callback_metrics.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of both variants")
    parser.add_argument("--blocks", type=int, default=8, help="EDSR residual blocks (quickstart: 8)")
    parser.add_argument("--feats", type=int, default=32, help="EDSR features (quickstart: 32)")
    parser.add_argument("--val-dir", help="validation images (default: the quickstart's chelsea and coffee)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)
    module = SRModule(EDSR(scale=2, n_resblocks=args.blocks, n_feats=args.feats))
    data = SRDataModule(scale=2, patch_size=48, val_dir=args.val_dir)  # default: the quickstart's validation images
    before, after = _UncachedSRMetrics(), SRMetrics()
    times: dict[str, list[float]] = {"before": [], "after": []}
    first_after, values = None, {}
    root = tempfile.mkdtemp(prefix="sr_validation_")
    for round_ in range(args.rounds + 1):  # round 0 warms up both (and fills the bicubic cache of "after")
        for name in ("before", "after") if round_ % 2 == 0 else ("after", "before"):
            if name == "before":
                with _former_ssim():
                    seconds, values[name] = _validate(module, data, before, root)
            else:
                seconds, values[name] = _validate(module, data, after, root)
            if round_ == 0 and name == "after":
                first_after = seconds
            elif round_ > 0:
                times[name].append(seconds)
    median = {name: statistics.median(values_) for name, values_ in times.items()}
    print(f"| variant | validation (s), median of {args.rounds} | vs before |")
    print("|---|---|---|")
    print(f"| before (2-D SSIM, bicubic every time) | {median['before']:.3f} | 1.00 |")
    print(f"| after, first validation (fills the cache) | {first_after:.3f} | {first_after / median['before']:.2f} |")
    print(f"| after, later validations | {median['after']:.3f} | {median['after'] / median['before']:.2f} |")
    keys = [k for k in values["before"] if k.startswith("val/")]
    difference = max(abs(values["before"][k] - values["after"][k]) for k in keys)
    print(
        f"\nEDSR {args.blocks}x{args.feats} x2 on {args.val_dir or 'chelsea and coffee'}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}. "
        f"Largest difference between the logged values of the two variants: {difference:.1e} "
        f"(val/psnr_y {values['after']['val/psnr_y']:.4f}, val/bicubic_ssim {values['after']['val/bicubic_ssim']:.6f})."
    )
    return {"before": median["before"], "after": median["after"], "first_after": first_after, "difference": difference}


if __name__ == "__main__":
    main()
