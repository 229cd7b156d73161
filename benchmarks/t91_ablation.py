"""The T91 recipe ablation: short x2 trainings that differ from a base recipe in one setting each, scored on Set5.

Every arm is ``sr-lightning fit --config benchmarks/t91_ablation.yaml`` with a few command-line overrides and a
number of epochs chosen so that each arm gets about the same training compute (about 10 minutes of 2-core CPU time
when run alone: the arms with slower steps get fewer epochs). Each run lands in ``runs/t91_ablation/<arm>/``; then
``sr-lightning benchmark`` scores its ``last.ckpt`` on Set5 with the EMA weights and with the trained weights (the EMA
does not change training, so one run ablates it), and a markdown table is printed with the wall time of each run::

    python benchmarks/t91_ablation.py                       # every arm, one after the other (about 2 hours)
    python benchmarks/t91_ablation.py --arms base patch96     # some arms
    python benchmarks/t91_ablation.py --report                # only the table, from the runs already there

The curves of ``val/psnr_y`` against ``time/elapsed_s`` are written to ``runs/t91_ablation/psnr_vs_time.png``.
Speed options (``channels_last``, ``compile_generator``) leave the arithmetic unchanged, so they are measured with
``benchmarks/train_step.py`` instead of trained (see docs/recipes.md).
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).resolve().with_suffix(".yaml")  # benchmarks/t91_ablation.yaml, the base recipe
SHARED = REPO.parent / "shared"
GEN = "--model.init_args.generator.init_args"


@dataclass
class Arm:
    """One variant of the base recipe: what it changes, its overrides and its epochs (91 steps each at batch 16)."""

    change: str
    overrides: list[str] = field(default_factory=list)
    epochs: int = 54
    val_every: int = 6


ARMS: dict[str, Arm] = {
    "base": Arm("base: EDSR 16x32, HR patch 48, batch 16, L1, Adam 1e-3, cosine, EMA 0.999"),
    "8x32": Arm("8 blocks x 32 features", [f"{GEN}.n_resblocks=8"], epochs=88, val_every=11),
    "16x48": Arm("16 blocks x 48 features", [f"{GEN}.n_feats=48"], epochs=27, val_every=3),
    "16x64": Arm("16 blocks x 64 features (EDSR-baseline)", [f"{GEN}.n_feats=64"], epochs=18, val_every=3),
    "patch64": Arm("HR patch 64", ["--data.patch_size=64"], epochs=30, val_every=3),
    "patch96": Arm("HR patch 96", ["--data.patch_size=96"], epochs=14, val_every=2),
    "batch32": Arm(
        "batch 32 (same 91 steps per epoch)", ["--data.batch_size=32", "--data.repeat=32"], epochs=27, val_every=3
    ),
    "charbonnier": Arm("Charbonnier loss", ["--model.init_args.loss=sr_lightning.losses.CharbonnierLoss"]),
    "multistep": Arm(
        "step schedule: x0.5 at 50 % and 75 %",
        [
            "--model.init_args.scheduler=torch.optim.lr_scheduler.MultiStepLR",
            "--model.init_args.scheduler.init_args.milestones=[27,40]",
            "--model.init_args.scheduler.init_args.gamma=0.5",
        ],
    ),
    "lr5e-4": Arm("Adam 5e-4", ["--model.init_args.optimizer.init_args.lr=5.0e-4"]),
    "lr2e-3": Arm("Adam 2e-3", ["--model.init_args.optimizer.init_args.lr=2.0e-3"]),
}


def _scaled(arm: Arm, budget: float) -> Arm:
    """The arm with ``budget`` times its epochs (and validations as often, relatively); milestones scale too."""
    if budget == 1.0:
        return arm
    epochs, every = max(1, round(arm.epochs * budget)), max(1, round(arm.val_every * budget))
    overrides = [
        f"--model.init_args.scheduler.init_args.milestones=[{round(epochs / 2)},{round(epochs * 3 / 4)}]"
        if o.startswith("--model.init_args.scheduler.init_args.milestones")
        else o
        for o in arm.overrides
    ]
    return Arm(arm.change, overrides, epochs=epochs - epochs % every, val_every=every)


def _run_dir(root: Path, name: str) -> Path | None:
    versions = sorted((root / name).glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    return versions[-1] if versions else None


def train(name: str, arm: Arm, root: Path, data: Path, val: Path, extra: list[str]) -> float:
    own_scheduler = any(o.startswith("--model.init_args.scheduler=") for o in arm.overrides)
    args = [
        sys.executable, "-m", "sr_lightning.cli", "fit", f"--config={CONFIG}",
        f"--trainer.logger.init_args.save_dir={root}", f"--trainer.logger.init_args.name={name}",
        f"--trainer.max_epochs={arm.epochs}", f"--trainer.check_val_every_n_epoch={arm.val_every}",
        "--trainer.enable_progress_bar=false", f"--data.train_dir={data}", f"--data.val_dir={val}",
        *([] if own_scheduler else [f"--model.init_args.scheduler.init_args.T_max={arm.epochs}"]),
        *arm.overrides, *extra,
    ]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=REPO)
    return time.perf_counter() - start


def score(run: Path, val: Path, ema: bool) -> float:
    csv_path = run / f"set5_{'ema' if ema else 'raw'}.csv"
    args = [
        sys.executable, "-m", "sr_lightning.cli", "benchmark", "--ckpt", str(run / "checkpoints" / "last.ckpt"),
        "--data", str(val), "--scale", "2", "--lpips", "none", "--no-bicubic", "--csv", str(csv_path),
    ]  # fmt: skip
    if not ema:
        args.append("--no-ema")
    subprocess.run(args, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    with csv_path.open() as file:
        return float(next(csv.DictReader(file))["psnr_y"])


def curve(run: Path) -> list[tuple[float, float, int, float]]:
    """``(elapsed seconds, val/psnr_y, step, CPU seconds)`` of every validation of a run, from its metrics.csv."""
    points, elapsed, cpu = [], None, None
    with (run / "metrics.csv").open() as file:
        for row in csv.DictReader(file):
            if row.get("time/elapsed_s"):
                elapsed, cpu = float(row["time/elapsed_s"]), float(row["time/cpu_s"])
            if row.get("val/psnr_y") and elapsed is not None:
                points.append((elapsed, float(row["val/psnr_y"]), int(row["step"]), cpu))
    return points


def plot(
    curves: dict[str, list[tuple[float, float, int, float]]],
    path: Path,
    xlabel: str = "training wall time (min, 2-core CPU)",
    ylabel: str = "Set5 x2 PSNR-Y (dB, EMA weights)",
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, points in curves.items():
        if points:
            ax.plot([p[0] / 60 for p in points], [p[1] for p in points], marker=".", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    parser.add_argument("--root", type=Path, default=REPO / "runs" / "t91_ablation")
    parser.add_argument("--data", type=Path, default=SHARED / "datasets" / "T91")
    parser.add_argument("--val", type=Path, default=SHARED / "benchmarks" / "Set5")
    parser.add_argument("--report", action="store_true", help="only print the table of the runs already there")
    parser.add_argument("--smoke", action="store_true", help="2 epochs of 3 steps per arm: check the pipeline")
    parser.add_argument("--budget", type=float, default=1.0, help="scale every arm's epochs (0.5: half the compute)")
    args = parser.parse_args(argv)
    arms = {name: _scaled(arm, args.budget) for name, arm in ARMS.items()}
    if not args.report:
        for name in args.arms:
            smoke = ["--trainer.max_epochs=2", "--trainer.limit_train_batches=3", "--trainer.check_val_every_n_epoch=1"]
            seconds = train(name, arms[name], args.root, args.data, args.val, smoke if args.smoke else [])
            print(f"{name}: trained in {seconds / 60:.1f} min", flush=True)
    lines = [
        "| arm | change | steps | wall time (min) | CPU time (min) | Set5 PSNR-Y, EMA | without EMA |",
        "|---|---|---|---|---|---|---|",
    ]
    curves = {}
    for name in args.arms:
        run = _run_dir(args.root, name)
        if run is None or not (run / "checkpoints" / "last.ckpt").is_file():
            continue
        points = curves[name] = curve(run)
        ema, raw = score(run, args.val, ema=True), score(run, args.val, ema=False)
        minutes, cpu = (points[-1][0] / 60, points[-1][3] / 60) if points else (float("nan"), float("nan"))
        steps = points[-1][2] + 1 if points else 0
        lines.append(f"| {name} | {arms[name].change} | {steps} | {minutes:.1f} | {cpu:.1f} | {ema:.2f} | {raw:.2f} |")
    print("\n".join(lines))
    args.root.mkdir(parents=True, exist_ok=True)
    plot(curves, args.root / "psnr_vs_time.png")
    print(f"\nCurves: {args.root / 'psnr_vs_time.png'}")


if __name__ == "__main__":
    main()
