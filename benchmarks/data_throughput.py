"""Training-data throughput: SRDataModule's loader against a plain per-item loader, and what a training step eats.

On a folder of DIV2K-sized PNGs it generates (smooth colour fields plus noise: decoding cost is what matters,
not natural-image statistics), the script measures, at the same batch size and number of workers:

- ``plain``: a Dataset whose ``__getitem__`` opens the PNG with PIL, crops a random patch and makes its LR
  patch with PIL's bicubic resize (what most SR repositories do);
- ``sr_lightning cache=none`` (with ``--uncached``): the library decoding the file at every draw;
- ``sr_lightning cache=disk``: after building the disk cache (timed apart), epoch 1 and epoch 2;
- ``... + degrade_on_device``: the workers only crop (HR-only batches); the batched LR that
  ``on_after_batch_transfer`` then makes on ``--device`` is timed apart.

Rates are patches per second from the first batch to the last (the time to the first batch, worker start-up
included, is shown apart). Then it times an EDSR-baseline training step (16 blocks x 64 features, L1, Adam) on
``--device`` (default: the GPU if there is one) on a fixed batch (and, with ``--fed-steps``, fed by the cached
loader, whose workers then share the CPU with the step), and says whether the loader keeps up. The main process
uses ``torch.set_num_threads(--threads)`` (default: every core); DataLoader workers run one thread each
(PyTorch's default in workers). All figures come from one run, so the ratios compare like with like::

    python benchmarks/data_throughput.py                       # 8 images of 2040x1356: under a minute
    python benchmarks/data_throughput.py --images 32 --batches 40 --steps 4 --fed-steps 4 --uncached
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from sr_lightning.data import SRDataModule
from sr_lightning.models import EDSR


def write_images(folder: Path, count: int, height: int, width: int, seed: int = 0) -> float:
    """Write ``count`` RGB PNGs (smooth colour fields plus noise) unless they exist; return the seconds spent."""
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        path = folder / f"{i:04d}.png"
        if path.is_file():
            continue
        coarse = Image.fromarray(rng.integers(0, 256, (height // 80 + 2, width // 80 + 2, 3), dtype=np.uint8))
        smooth = np.asarray(coarse.resize((width, height), Image.BICUBIC), dtype=np.int16)
        noisy = smooth + rng.normal(0, 6, smooth.shape).astype(np.int16)
        Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(path, compress_level=3)
    return time.perf_counter() - start


class PlainPatches(Dataset):
    """The usual per-item loader: PIL open, random crop, PIL bicubic resize, float tensors in [0, 1]."""

    def __init__(self, files: list[Path], patch: int, scale: int, length: int) -> None:
        self.files, self.patch, self.scale, self.length = files, patch, scale, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(index)
        with Image.open(self.files[index % len(self.files)]) as im:
            img = im.convert("RGB")
        top = int(rng.integers(0, img.height - self.patch + 1))
        left = int(rng.integers(0, img.width - self.patch + 1))
        hr = img.crop((left, top, left + self.patch, top + self.patch))
        lr = hr.resize((self.patch // self.scale,) * 2, Image.BICUBIC)
        return {
            "hr": torch.from_numpy(np.asarray(hr).copy()).permute(2, 0, 1).float() / 255,
            "lr": torch.from_numpy(np.asarray(lr).copy()).permute(2, 0, 1).float() / 255,
        }


def measure(batches: Iterable[dict], count: int) -> tuple[float, float]:
    """(seconds to the first batch, patches per second from the first batch to batch ``count``)."""
    start = time.perf_counter()
    first = 0.0
    patches = 0
    for i, batch in enumerate(batches):
        if i == 0:
            first = time.perf_counter()
        else:
            patches += len(batch["hr"])
        if i + 1 == count:
            break
    if i + 1 < count:
        raise ValueError(f"The loader gave only {i + 1} batches, fewer than --batches {count}.")
    return first - start, patches / max(time.perf_counter() - first, 1e-9)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_steps(model: nn.Module, batches: Iterable[dict], steps: int, device: torch.device) -> float:
    """Patches per second of ``steps`` L1 + Adam steps on ``device`` after one warm-up step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    start, patches = 0.0, 0
    for i, batch in enumerate(batches):
        if i == 1:
            _sync(device)
            start = time.perf_counter()
        lr, hr = batch["lr"].to(device, non_blocking=True), batch["hr"].to(device, non_blocking=True)
        loss = nn.functional.l1_loss(model(lr), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        patches += len(hr) if i else 0
        if i == steps:
            break
    _sync(device)
    return patches / max(time.perf_counter() - start, 1e-9)


def degrade_rate(dm: SRDataModule, hr: torch.Tensor, repeats: int = 20) -> float:
    """Patches per second of the batched LR that ``dm.on_after_batch_transfer`` adds on ``hr.device``."""
    dm.on_after_batch_transfer({"hr": hr}, 0)
    _sync(hr.device)
    start = time.perf_counter()
    for _ in range(repeats):
        dm.on_after_batch_transfer({"hr": hr}, 0)
    _sync(hr.device)
    return repeats * len(hr) / max(time.perf_counter() - start, 1e-9)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8, help="number of generated images (default 8)")
    parser.add_argument("--size", default="2040x1356", help="image WIDTHxHEIGHT (default 2040x1356, DIV2K-like)")
    parser.add_argument("--patch", type=int, default=96, help="HR patch side (default 96)")
    parser.add_argument("--scale", type=int, default=4, choices=(2, 3, 4))
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=10, help="batches per loader (default 10; 1 is warm-up)")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps after a warm-up (default 2)")
    parser.add_argument("--fed-steps", type=int, default=0, help="also time steps fed by the cached loader")
    parser.add_argument("--uncached", action="store_true", help="also time the library without a cache")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads of the main process")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="training device")
    parser.add_argument("--data-dir", type=Path, help="keep the images (and the cache) here; default: a temp folder")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    folder = args.data_dir or Path(tempfile.mkdtemp(prefix="sr_throughput_"))
    try:
        return _run(args, folder, width, height)
    finally:
        torch.set_num_threads(threads)  # a caller in the same process (the tests) keeps its own setting
        if args.data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


def _run(args: argparse.Namespace, folder: Path, width: int, height: int) -> dict:
    generated = write_images(folder, args.images, height, width)
    files = sorted(folder.glob("*.png"))[: args.images]
    mb = sum(f.stat().st_size for f in files) / 1e6
    print(f"{len(files)} PNGs of {width}x{height} ({mb / len(files):.1f} MB each) in {folder} ({generated:.1f} s)")
    print(
        f"batch {args.batch}, HR patch {args.patch}, x{args.scale}, {args.workers} workers, "
        f"{args.batches} batches per loader, torch threads {torch.get_num_threads()} (workers: 1 each); "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (other jobs skew every rate)\n"
    )
    repeat = -(-args.batches * args.batch // len(files))
    loader_options = {"batch_size": args.batch, "num_workers": args.workers}
    rows: dict[str, tuple[float, float]] = {}
    plain = PlainPatches(files, args.patch, args.scale, len(files) * repeat)
    rows["plain (PIL open + crop + PIL bicubic)"] = measure(
        DataLoader(plain, shuffle=True, drop_last=True, **loader_options), args.batches
    )
    common = {
        "train_dir": str(folder),
        "val_dir": str(folder),
        "scale": args.scale,
        "patch_size": args.patch,
        "repeat": repeat,
        **loader_options,
    }
    if args.uncached:
        rows["sr_lightning cache=none"] = measure(SRDataModule(**common).train_dataloader(), args.batches)
    cached = SRDataModule(**common, cache="disk", cache_dir=str(folder / ".cache"), persistent_workers=True)
    start = time.perf_counter()
    loader = cached.train_dataloader()  # builds the training dataset, and with it the disk cache
    build = time.perf_counter() - start
    rows["sr_lightning cache=disk, epoch 1"] = measure(loader, args.batches)
    rows["sr_lightning cache=disk, epoch 2"] = measure(loader, args.batches)
    on_device = SRDataModule(**common, cache="disk", cache_dir=str(folder / ".cache"), degrade_on_device=True)
    rows["sr_lightning cache=disk + degrade_on_device (HR only)"] = measure(on_device.train_dataloader(), args.batches)
    device = torch.device(args.device)
    hr = next(iter(on_device.train_dataloader()))["hr"].to(device)
    lr_rate = degrade_rate(on_device, hr)
    plain_rate = rows["plain (PIL open + crop + PIL bicubic)"][1]
    lines = ["| loader | patches/s | vs plain | first batch (s) |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {rate:.0f} | {rate / plain_rate:.1f}x | {first:.2f} |" for name, (first, rate) in rows.items()
    ]
    ratio = rows["sr_lightning cache=disk, epoch 2"][1] / plain_rate
    print("\n".join(lines))
    cache = cached.train_dataset.disk_cache
    what = f"decode {len(files)} images once, write" if cache.built else "reused, no image read; holds"
    print(f"\ncache build ({what} {cache.nbytes / 1e9:.2f} GB): {build:.1f} s")
    print(f"batched LR of degrade_on_device on {device}: {lr_rate:.0f} patches/s")
    print(f"cached loader vs plain loader: {ratio:.1f}x (target >= 5x)")

    lr_side = args.patch // args.scale
    model = EDSR(scale=args.scale).to(device)  # defaults: 16 blocks x 64 features, the EDSR-baseline
    fixed = {"lr": torch.rand(args.batch, 3, lr_side, lr_side), "hr": torch.rand(args.batch, 3, args.patch, args.patch)}
    step_rate = train_steps(model, (fixed for _ in range(args.steps + 1)), args.steps, device)
    fed_rate = plain_fed_rate = None
    if args.fed_steps:
        fed_rate = train_steps(model, iter(cached.train_dataloader()), args.fed_steps, device)
        plain_loader = DataLoader(plain, shuffle=True, drop_last=True, **loader_options)
        plain_fed_rate = train_steps(model, iter(plain_loader), args.fed_steps, device)
    loader_rate = rows["sr_lightning cache=disk, epoch 2"][1]
    keeps_up = loader_rate >= step_rate
    fed = ""
    if fed_rate is not None:
        fed = f"; fed by the cached loader {fed_rate:.1f}, by the plain loader {plain_fed_rate:.1f} patches/s"
    print(
        f"\nEDSR-baseline x{args.scale} training step on {device} (batch {args.batch}, {args.steps} steps): "
        f"{step_rate:.1f} patches/s on a fixed batch{fed}"
    )
    print(
        f"the cached loader ({loader_rate:.0f} patches/s) {'keeps' if keeps_up else 'does NOT keep'} up with the "
        f"training step ({loader_rate / step_rate:.0f}x its rate); the plain loader is at "
        f"{plain_rate / step_rate:.1f}x"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return {
        "rows": {name: rate for name, (_, rate) in rows.items()},
        "first_batch_s": {name: first for name, (first, _) in rows.items()},
        "ratio": ratio,
        "cache_build_s": build,
        "cache_bytes": cache.nbytes,
        "degrade_patches_per_s": lr_rate,
        "step_patches_per_s": step_rate,
        "fed_step_patches_per_s": fed_rate,
        "plain_fed_step_patches_per_s": plain_fed_rate,
        "keeps_up": keeps_up,
        "table": "\n".join(lines),
    }


if __name__ == "__main__":
    main()
