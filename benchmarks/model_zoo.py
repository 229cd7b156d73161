"""Parameters and multiply-accumulates of every generator of the library, for the README's model table.

Counts come from ``torch.utils.flop_counter.FlopCounterMode`` (one multiply-accumulate = 2 FLOPs) on the meta
device, so nothing is computed and the script runs in seconds even for EDSR's 43 M parameters::

    python benchmarks/model_zoo.py                 # 64x64 LR input, x2 and x4, markdown table
    python benchmarks/model_zoo.py --size 48 --scales 2 3 4
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from sr_lightning.models import (
    EDSR,
    EDSRMSA,
    AttentionSRGANGenerator,
    SESRResNet,
    SRGANDiscriminator,
    SRResNet,
)

GENERATORS: dict[str, tuple[str, Callable[[int], nn.Module]]] = {
    "EDSR-baseline": ("EDSR paper; quickstart", lambda s: EDSR(scale=s)),
    "EDSR": ("Abram & Sadik", lambda s: EDSR(scale=s, n_resblocks=32, n_feats=256, res_scale=0.1)),
    "SRResNet": ("Dwivedi et al. vanilla", lambda s: SRResNet(scale=s)),
    "SRResNet-BN (tanh)": (
        "Abram & Sadik baseline",
        lambda s: SRResNet(scale=s, batch_norm=True, output_activation="tanh"),
    ),
    "SESRResNet": ("Dwivedi et al. attention", lambda s: SESRResNet(scale=s)),
    "EDSRMSA": ("Tyagi's thesis", lambda s: EDSRMSA(scale=s)),
    "AttentionSRGANGenerator": ("Wu", lambda s: AttentionSRGANGenerator(scale=s)),
}


def count(net: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """Return (parameters, multiply-accumulates) of one forward pass of ``net`` on an input of ``shape``."""
    params = sum(p.numel() for p in net.parameters())
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.empty(shape, device="meta"))
    return params, counter.get_total_flops() // 2


def build(factory: Callable[[int], nn.Module], scale: int) -> nn.Module:
    with torch.device("meta"):
        return factory(scale).eval()


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=64, help="LR input side in pixels (default 64)")
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args(argv)

    header = ["Generator", "Seed"]
    for s in args.scales:
        header += [f"Params x{s} (M)", f"MACs x{s} (G)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, (seed, factory) in GENERATORS.items():
        row = [f"`{name}`", seed]
        for s in args.scales:
            params, macs = count(build(factory, s), (1, 3, args.size, args.size))
            row += [f"{params / 1e6:.2f}", f"{macs / 1e9:.1f}"]
        lines.append("| " + " | ".join(row) + " |")
    hr = args.size * max(args.scales)
    params, macs = count(build(lambda _: SRGANDiscriminator(), 0), (1, 3, hr, hr))
    table = "\n".join(lines)
    table += (
        f"\n\nInput: one {args.size}x{args.size} LR image. `SRGANDiscriminator` (default width) on a {hr}x{hr}"
        f" HR patch: {params / 1e6:.2f} M parameters, {macs / 1e9:.1f} G MACs."
    )
    print(table)
    return table


if __name__ == "__main__":
    main()
