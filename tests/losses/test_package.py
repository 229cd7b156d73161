"""The losses package: what it exports can be imported, built from configs the way YAML builds it, and scores."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import torch
from jsonargparse import ArgumentParser
from torch import nn

import sr_lightning.losses as losses
from sr_lightning.losses import AdversarialLoss, GANLosses, WeightedLoss

# The loss modules and the init_args a test gives them (random perceptual networks: nothing is downloaded).
_IMAGE_LOSSES: dict[str, dict[str, Any]] = {
    "CharbonnierLoss": {"eps": 1e-3},
    "LPIPSLoss": {"net": "alex", "pretrained": False},
    "MSSSIMLoss": {"kernel_size": 3, "kernel_sigma": 1.0},
    "SSIMLoss": {"kernel_size": 7},
    "SobelEdgeLoss": {},
    "VGGPerceptualLoss": {"layer_weights": {"relu1_2": 1.0}, "pretrained": False},
}


def _build(config: dict[str, Any]) -> nn.Module:
    """Build ``{"class_path", "init_args"}`` as LightningCLI builds ``model.init_args.loss``."""
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--loss", type=nn.Module)
    parsed = parser.parse_object({"loss": config})
    instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
    return instantiate(parsed).loss


def test_losses_package_never_imports_lightning() -> None:
    for path in Path(losses.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not any(m.split(".")[0] in {"lightning", "pytorch_lightning"} for m in imported), path


def test_every_exported_name_imports_and_is_a_loss_a_function_or_the_recipe_tuple() -> None:
    assert losses.__all__ == sorted(losses.__all__)
    for name in losses.__all__:
        value = getattr(importlib.import_module("sr_lightning.losses"), name)
        if inspect.isclass(value):
            assert issubclass(value, nn.Module) or value is GANLosses, name
        else:
            assert inspect.isfunction(value), name
        assert value.__doc__, f"{name} has no docstring"


def test_every_loss_class_of_the_submodules_is_exported_by_the_package() -> None:
    # a loss added to a submodule's __all__ but forgotten in the package's is caught here (helper functions such as
    # edge.sobel_kernels may stay in their submodule)
    folder = Path(losses.__file__).parent
    for path in sorted(folder.glob("[!_]*.py")):
        module = importlib.import_module(f"sr_lightning.losses.{path.stem}")
        classes = {name for name in getattr(module, "__all__", []) if inspect.isclass(getattr(module, name))}
        missing = classes - set(losses.__all__)
        assert not missing, f"{path.name} exports {sorted(missing)}, which sr_lightning.losses does not"


def test_every_image_loss_of_the_package_is_covered_below() -> None:
    image_losses = {
        name
        for name in losses.__all__
        if inspect.isclass(getattr(losses, name))
        and issubclass(getattr(losses, name), nn.Module)
        and name not in {"AdversarialLoss", "WeightedLoss"}
    }
    assert image_losses == set(_IMAGE_LOSSES)


@pytest.mark.parametrize("name", sorted(_IMAGE_LOSSES))
def test_each_loss_builds_from_a_config_dict_and_scores_a_match_below_a_mismatch(name: str) -> None:
    loss = _build({"class_path": f"sr_lightning.losses.{name}", "init_args": _IMAGE_LOSSES[name]})
    assert type(loss) is getattr(losses, name)
    torch.manual_seed(0)
    side = max(32, getattr(loss, "min_size", 0))
    hr = torch.rand(2, 3, side, side)
    sr = (hr + 0.2 * torch.randn_like(hr)).clamp(0, 1)
    with torch.no_grad():
        same, different = loss(hr, hr), loss(sr, hr)
    assert same.shape == different.shape == torch.Size([])
    assert torch.isfinite(same) and torch.isfinite(different)
    assert same.item() < different.item()


def test_adversarial_loss_builds_from_a_config_dict_with_its_mode() -> None:
    loss = _build({"class_path": "sr_lightning.losses.AdversarialLoss", "init_args": {"mode": "lsgan"}})
    assert isinstance(loss, AdversarialLoss) and loss.mode == "lsgan"
    with pytest.raises(Exception, match="mode"):
        _build({"class_path": "sr_lightning.losses.AdversarialLoss", "init_args": {"mode": "nonsense"}})


def test_weighted_loss_from_a_yaml_config_is_the_weighted_sum_of_its_terms() -> None:
    import yaml

    config = yaml.safe_load(
        """
        class_path: sr_lightning.losses.WeightedLoss
        init_args:
          terms:
            mse: {class_path: torch.nn.MSELoss}
            charbonnier: {class_path: sr_lightning.losses.CharbonnierLoss, init_args: {eps: 0.01}}
            ssim: {class_path: sr_lightning.losses.SSIMLoss, init_args: {kernel_size: 5}}
          weights: {mse: 1.0, charbonnier: 0.5, ssim: 0.25}
        """
    )
    loss = _build(config)
    assert isinstance(loss, WeightedLoss) and loss.weights == {"mse": 1.0, "charbonnier": 0.5, "ssim": 0.25}
    torch.manual_seed(0)
    sr, hr = torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16)
    expected = (
        nn.functional.mse_loss(sr, hr)
        + 0.5 * losses.CharbonnierLoss(eps=0.01)(sr, hr)
        + 0.25 * losses.SSIMLoss(kernel_size=5)(sr, hr)
    )
    torch.testing.assert_close(loss(sr, hr), expected)


def test_weighted_loss_config_with_a_weight_for_no_term_is_refused_by_name() -> None:
    config = {
        "class_path": "sr_lightning.losses.WeightedLoss",
        "init_args": {"terms": {"l1": {"class_path": "torch.nn.L1Loss"}}, "weights": {"l2": 1.0}},
    }
    with pytest.raises(Exception, match="l2"):
        _build(config)


def test_recipes_build_without_downloads_and_name_their_terms() -> None:
    vanilla = losses.dwivedi_vanilla_loss(pretrained=False)
    hybrid = losses.dwivedi_hybrid_loss(pretrained=False)
    assert set(vanilla.terms) == {"mse", "ssim", "vgg"} and set(hybrid.terms) == {
        "lpips",
        "ssim",
        "charbonnier",
        "edge",
    }
    for recipe in (losses.tyagi_msa_gan_losses(pretrained=False), losses.wu_attention_srgan_losses()):
        assert isinstance(recipe, GANLosses) and isinstance(recipe.content, WeightedLoss)
        assert isinstance(recipe.adversarial, AdversarialLoss) and recipe.adversarial_weight > 0


def test_sobel_magnitude_of_a_constant_image_is_sqrt_eps() -> None:
    out = losses.sobel_magnitude(torch.full((1, 3, 5, 5), 0.3), eps=1e-4)
    torch.testing.assert_close(out, torch.full_like(out, 1e-2))


def test_former_recipe_names_still_work_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="use dwivedi_hybrid_loss"):
        assert losses.seed002_hybrid_loss is losses.dwivedi_hybrid_loss
    with pytest.warns(DeprecationWarning, match="use tyagi_msa_gan_losses"):
        from sr_lightning.losses import seed000_losses  # noqa: F401
