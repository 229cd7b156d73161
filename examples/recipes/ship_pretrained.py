"""Turn a trained checkpoint into a shipped pretrained model: ``sr_lightning/pretrained/<name>.safetensors`` (the EMA
weights, with the generator config, recipe, training figures and Set5 scores in the metadata) and its model card.

    python examples/recipes/ship_pretrained.py --ckpt runs/t91_x2/version_0/checkpoints/last.ckpt \\
        --name edsr-t91-x2 --recipe examples/configs/t91_x2.yaml [--warm-start edsr-t91-x2]

The Set5 scores are measured on the official MATLAB LR images (``../shared/benchmarks/Set5``) from the weights as
written, with and without self-ensemble, and recorded in the file: ``tests/test_pretrained.py`` reproduces them.
The training time is the run's own (``ElapsedTime``, kept across resumes); for a warm start, the card adds the time of
the model it started from.
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import torch

from sr_lightning import pretrained
from sr_lightning.data import PairedImageDataset
from sr_lightning.evaluation import evaluate
from sr_lightning.inference import export_safetensors, generator_config, load_generator, read_checkpoint

REPO = Path(__file__).resolve().parents[2]
SET5 = REPO.parent / "shared" / "benchmarks" / "Set5"

# Published Set5 PSNR / SSIM (Y, border = scale): x2, x3, x4. DRCN reports PSNR only.
PUBLISHED = {
    "Bicubic": {2: (33.66, 0.9299), 3: (30.39, 0.8682), 4: (28.42, 0.8104)},
    "SRCNN (Dong et al., TPAMI 2016; ImageNet, 395k images)": {
        2: (36.66, 0.9542),
        3: (32.75, 0.9090),
        4: (30.48, 0.8628),
    },
    "VDSR (Kim et al., CVPR 2016; 291 images)": {2: (37.53, 0.9587), 3: (33.66, 0.9213), 4: (31.35, 0.8838)},
    "DRCN (Kim et al., CVPR 2016; T91 only)": {2: (37.63, None), 3: (33.82, None), 4: (31.53, None)},
}


def hardware() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = (
        [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        if (cpuinfo.exists())
        else []
    )
    model = names[0] if names else platform.processor() or "unknown CPU"
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return f"{model}, {os.cpu_count()} cores{gpu}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, required=True)
    parser.add_argument("--name", required=True, help="e.g. edsr-t91-x2")
    parser.add_argument("--recipe", required=True, help="the config file, relative to the repository root")
    parser.add_argument("--warm-start", help="the pretrained model the run started from, if any")
    parser.add_argument("--set5", type=Path, default=SET5)
    args = parser.parse_args(argv)

    checkpoint = read_checkpoint(args.ckpt)
    generator = load_generator(args.ckpt)  # the EMA weights
    scale = int(generator.scale)
    timing = next((v for k, v in checkpoint.get("callbacks", {}).items() if k.startswith("ElapsedTime")), {})
    path = pretrained.WEIGHTS_DIR / f"{args.name}.safetensors"
    extra = {
        "recipe": args.recipe,
        "epochs": checkpoint["epoch"] + 1,
        "steps": checkpoint["global_step"],
        "wall_time_s": f"{timing.get('elapsed_s', float('nan')):.0f}",
        "cpu_time_s": f"{timing.get('cpu_s', float('nan')):.0f}",
        "hardware": hardware(),
        "torch": torch.__version__,
        "warm_start": args.warm_start or "",
    }
    export_safetensors(generator, path, config=generator_config(checkpoint, args.ckpt), extra=extra)

    shipped = pretrained.load(args.name)  # score the weights as written
    dataset = PairedImageDataset(args.set5, scale=scale, for_metrics=True)
    plain = evaluate(shipped, dataset, set_name="Set5", model_name=args.name, tile=None)
    ensemble = evaluate(shipped, dataset, set_name="Set5", model_name=args.name, tile=None, ensemble=True)
    extra |= {
        "set5_psnr_y": f"{plain.psnr_y:.4f}",
        "set5_ssim_y": f"{plain.ssim_y:.5f}",
        "set5_psnr_y_self_ensemble": f"{ensemble.psnr_y:.4f}",
        "set5_ssim_y_self_ensemble": f"{ensemble.ssim_y:.5f}",
    }
    export_safetensors(generator, path, config=generator_config(checkpoint, args.ckpt), extra=extra)

    params = sum(p.numel() for p in shipped.parameters()) / 1e6
    init = shipped_init = ""
    if args.warm_start:
        before = pretrained.info(args.warm_start)
        shipped_init = f" (started from `{args.warm_start}`: add its {float(before['wall_time_s']) / 3600:.2f} h)"
        init = f" Warm start: the weights of `{args.warm_start}` that fit (all but the last upsampling layers)."
    rows = [
        f"| **{args.name}** (ours; T91 only) | **{plain.psnr_y:.2f} / {plain.ssim_y:.4f}** |",
        f"| {args.name} + self-ensemble (x8) | {ensemble.psnr_y:.2f} / {ensemble.ssim_y:.4f} |",
    ]
    for method, scores in PUBLISHED.items():
        psnr, ssim = scores[scale]
        rows.append(f"| {method} | {psnr:.2f}{'' if ssim is None else f' / {ssim:.4f}'} |")
    card = f"""# {args.name}

EDSR-style x{scale} super-resolution network ({params:.2f} M parameters) trained by `sr_lightning` on the 91 images
of Yang et al. (2010) only, with the recipe `{args.recipe}`. Inputs are RGB images in [0, 1]; outputs are x{scale}.

    from sr_lightning import pretrained
    net = pretrained.load("{args.name}")        # or: sr-lightning upscale --model {args.name} photo.png -o out/

## Set5 x{scale} (official MATLAB LR images; PSNR / SSIM on Y, border = {scale})

| model | PSNR / SSIM |
|---|---|
{chr(10).join(rows)}

## Training

- Data: `../shared/datasets/T91` (91 images; random HR patches with flips and rotations, LR by MATLAB bicubic,
  8-bit), validation on Set5.
- Recipe: `{args.recipe}`.{init}
- {extra["epochs"]} epochs, {extra["steps"]} steps; wall time {float(extra["wall_time_s"]) / 3600:.2f} h{shipped_init}
  (CPU time {float(extra["cpu_time_s"]) / 3600:.2f} h).
- Hardware: {extra["hardware"]}; torch {extra["torch"]}.
- Weights: the exponential moving average of the generator (decay 0.999), as validated.

Re-create it with the commands in `docs/recipes.md`; `tests/test_pretrained.py` checks that this file reproduces
the PSNR-Y above within 0.01 dB.
"""
    (pretrained.WEIGHTS_DIR / f"{args.name}.md").write_text(card)
    print(card)


if __name__ == "__main__":
    main()
