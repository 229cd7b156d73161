"""Generator weights: reading them from any file the library writes, and loading them into a network (pure torch).

One home for what the modules (warm starts), the tools (``upscale``, ``benchmark``, ``export``) and the pretrained zoo
all do: read a Lightning checkpoint (``.ckpt``), a plain state dict (``.pt``/``.pth``) or a ``.safetensors`` file
without running pickled code, take the generator's part of it (the EMA's when asked and present), and load it into a
network, either all of it (``strict``) or every tensor whose name and shape fit (a warm start across scales, where
the upsampling tail differs).
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "CHECKPOINT_RECORD",
    "CheckpointReadError",
    "build_generator",
    "check_finite_weights",
    "describe_unreadable",
    "generator_state",
    "load_weights",
    "read_safetensors",
    "read_weights",
]


# The key of a checkpoint that says how to rebuild its networks and at which scale the run ended
# (written by the library's LightningModules, read by every tool).
CHECKPOINT_RECORD = "sr_lightning"


class CheckpointReadError(ValueError):
    """A checkpoint file cannot be read: the message names the file and says what is wrong with it."""


def describe_unreadable(path: Path, error: BaseException) -> str:
    """What is wrong with a checkpoint file that ``torch.load`` could not read, in words."""
    if path.stat().st_size == 0:
        return "the file is empty (0 bytes; a save that was interrupted?)"
    if not zipfile.is_zipfile(path):
        return "it is not a PyTorch zip checkpoint (truncated by an interrupted save, or another format)"
    if "Weights only load failed" in str(error):
        found = [line.strip() for line in str(error).splitlines() if "Unsupported global" in line]
        return "it holds pickled Python objects, which weights_only=True does not load" + "".join(
            f" ({line})" for line in found[:1]
        )
    return f"{type(error).__name__}: {error}"


def read_weights(path: str | Path) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """The tensors of a weights file and what it says about itself.

    Returns:
        ``(tensors, info)``: for a ``.safetensors`` file its tensors and metadata strings; for a torch file the state
        dict (a Lightning checkpoint's ``state_dict``) and the rest of the checkpoint (``hyper_parameters``...).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it cannot be read (not a weights file, truncated, pickled code), naming the file.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    if not path.is_file():
        raise FileNotFoundError(f"weights file {path} does not exist.")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated file, a pickle with code, not a torch file at all
        raise ValueError(f"{path} is not a readable checkpoint or state dict: {error}") from error
    if not isinstance(content, dict):
        raise ValueError(f"{path} holds a {type(content).__name__}, not a checkpoint or state dict.")
    if isinstance(content.get("state_dict"), dict):
        return content["state_dict"], {k: v for k, v in content.items() if k != "state_dict"}
    return content, {}


def read_safetensors(path: str | Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors and the metadata of a ``.safetensors`` file (no code can run when it is read).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: it is not a safetensors file, naming it.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"safetensors file {path} does not exist.")
    try:
        with safe_open(path, framework="pt") as file:
            return {key: file.get_tensor(key) for key in file.keys()}, dict(file.metadata() or {})  # noqa: SIM118
    except Exception as error:
        raise ValueError(f"{path} is not a readable safetensors file: {error}") from error


def generator_state(state: dict[str, Tensor], use_ema: bool = True) -> dict[str, Tensor]:
    """The generator's weights in a module's state dict: the EMA's (``ema.module.*``) when ``use_ema`` and present,
    else ``generator.*``, with the prefix removed; a state dict of the generator itself is returned as it is.

    Example:
        >>> state = {"generator.w": torch.zeros(1), "ema.module.w": torch.ones(1), "discriminator.w": torch.ones(2)}
        >>> generator_state(state)["w"].item(), generator_state(state, use_ema=False)["w"].item()
        (1.0, 0.0)
    """
    for prefix in ("ema.module.", "generator.") if use_ema else ("generator.",):
        found = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        if found:
            return found
    return state


def load_weights(network: nn.Module, state: dict[str, Tensor], source: str | Path, strict: bool = True) -> list[str]:
    """Load ``state`` into ``network``; return the names of the network's tensors that were left as they were.

    Args:
        network: the network to load into.
        state: name -> tensor, e.g. from :func:`generator_state`.
        source: where the weights came from, for the messages.
        strict: every tensor must be there with the right shape (else ValueError); with False, the tensors whose
            name and shape fit are loaded and the rest keep their values, with a warning naming them (a warm start
            of a x4 model from x2 weights: all but the upsampling tail).

    Raises:
        ValueError: the weights do not fit (strict), or none fits at all; the message names ``source`` and the keys.
    """
    expected = network.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(k for k in set(expected) & set(state) if tuple(expected[k].shape) != tuple(state[k].shape))
    if strict and (missing or unexpected or reshaped):
        raise ValueError(
            f"the weights in {source} do not fit {type(network).__name__} (another architecture, width or scale?): "
            f"missing {missing[:4]}, unexpected {unexpected[:4]}, of another shape {reshaped[:4]}."
        )
    fitting = {k: v for k, v in state.items() if k in expected and k not in reshaped}
    if not fitting:
        raise ValueError(f"none of the weights in {source} fits {type(network).__name__}: is it another architecture?")
    kept = sorted(set(expected) - set(fitting))
    if kept:
        warnings.warn(
            f"warm start from {source}: {len(fitting)} of {len(expected)} tensors loaded; {len(kept)} keep their "
            f"initial values ({', '.join(kept[:6])}{', ...' if len(kept) > 6 else ''}).",
            stacklevel=2,
        )
    network.load_state_dict({**expected, **fitting})
    return kept


def check_finite_weights(network: nn.Module, source: str | Path) -> None:
    """Refuse a network whose weights hold NaN or infinity: it would only write black or NaN images.

    Raises:
        ValueError: naming ``source`` (the file the weights came from) and the first non-finite tensors.
    """
    state = network.state_dict()
    bad = [key for key, value in state.items() if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        raise ValueError(
            f"the weights in {source} are not finite (NaN or inf in {len(bad)} of {len(state)} tensors: "
            f"{', '.join(bad[:4])}{', ...' if len(bad) > 4 else ''}): the training diverged before this file was "
            "written. Use an earlier checkpoint."
        )


def build_generator(spec: dict[str, Any], source: str | Path, device: str | torch.device | None = None) -> nn.Module:
    """Build the network a ``{"class_path", "init_args"}`` spec describes (as configs and checkpoints record it).

    Args:
        spec: the class path and its keyword arguments, nested specs included (``act_layer``, blocks...).
        source: where the spec comes from, for the error message.
        device: build the parameters there; ``"meta"`` allocates nothing (to count parameters).

    Raises:
        ValueError: the class cannot be imported or built with these arguments, naming ``source``.

    Example:
        >>> net = build_generator({"class_path": "sr_lightning.models.EDSR", "init_args": {"n_feats": 8}}, "a spec")
        >>> type(net).__name__, net.scale
        ('EDSR', 2)
    """
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--generator", type=nn.Module)
    try:
        parsed = parser.parse_object({"generator": dict(spec)})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jsonargparse renamed instantiate_classes
            instantiate = getattr(parser, "instantiate", None) or parser.instantiate_classes
            if device is None:
                return instantiate(parsed).generator
            with torch.device(device):
                return instantiate(parsed).generator
    except Exception as error:
        raise ValueError(
            f"cannot build the generator {spec.get('class_path')} described in {source}: {error}"
        ) from error
