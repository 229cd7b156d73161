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
        "dwivedi_hybrid_loss",
        "dwivedi_vanilla_loss",
        "sobel_magnitude",
        "tyagi_msa_gan_losses",
        "wu_attention_srgan_losses",
    }


def test_former_recipe_names_still_work_with_a_deprecation_warning() -> None:
    import pytest

    with pytest.warns(DeprecationWarning, match="use dwivedi_hybrid_loss"):
        assert losses.seed002_hybrid_loss is losses.dwivedi_hybrid_loss
    with pytest.warns(DeprecationWarning, match="use tyagi_msa_gan_losses"):
        from sr_lightning.losses import seed000_losses  # noqa: F401
