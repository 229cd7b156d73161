from __future__ import annotations

import ast
from pathlib import Path

import sr_lightning.losses as losses


def test_losses_package_never_imports_lightning() -> None:
    for path in Path(losses.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(m.split(".")[0] in {"lightning", "pytorch_lightning"} for m in imported), path


def test_public_names_are_exported_sorted_and_resolvable() -> None:
    assert losses.__all__ == sorted(losses.__all__)
    assert all(hasattr(losses, name) for name in losses.__all__)
    assert set(losses.__all__) == {
        "AdversarialLoss",
        "CharbonnierLoss",
        "GANLosses",
        "LPIPSLoss",
        "MSSSIMLoss",
        "SSIMLoss",
        "SobelEdgeLoss",
        "VGGPerceptualLoss",
        "WeightedLoss",
        "seed000_losses",
        "seed002_hybrid_loss",
        "seed002_vanilla_loss",
        "seed003_losses",
        "sobel_magnitude",
    }
