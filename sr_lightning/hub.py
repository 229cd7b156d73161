"""Pretrained weights through the standard torch hub cache (``$TORCH_HOME/hub/checkpoints``).

The perceptual losses need ImageNet weights (VGG19 for the SRGAN/ESRGAN/seed-002 perceptual loss, AlexNet, VGG16 or
SqueezeNet for LPIPS). They live where torchvision itself caches them, so a file downloaded once by torchvision, by
``torch.hub`` or by hand is found here too. When a file is missing and cannot be downloaded (an offline machine), the
error says which file it is and exactly where to put it: nothing falls back silently to random weights.
"""

from __future__ import annotations

import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn
from torchvision.models import WeightsEnum

__all__ = ["MissingWeightsError", "cached_weights_file", "hub_checkpoint_dir", "load_torchvision_weights"]

# Seconds one socket operation (connect, one read) may wait: an unreachable host fails instead of hanging.
_SOCKET_TIMEOUT_S = 30.0
# torchvision's file names carry the first hex digits of the file's SHA256 (``vgg19-dcbb9e9d.pth``), as in torch.hub.
_HASH_IN_NAME = re.compile(r"-([a-f0-9]*)\.")


class MissingWeightsError(FileNotFoundError):
    """A pretrained weight file is neither in the torch hub cache nor downloadable; the message says where to put it."""


def hub_checkpoint_dir() -> Path:
    """The folder torch hub and torchvision cache weight files in: ``torch.hub.get_dir() / "checkpoints"``.

    That is ``$TORCH_HOME/hub/checkpoints`` (``~/.cache/torch/hub/checkpoints`` by default) unless
    ``torch.hub.set_dir`` was called.

    Example:
        >>> hub_checkpoint_dir().name
        'checkpoints'
    """
    return Path(torch.hub.get_dir()) / "checkpoints"


_PRETRAINED_FALSE_HINT = "For tests and smoke runs, pretrained=False builds the network with random weights."


def cached_weights_file(
    url: str, *, description: str, check_hash: bool = True, hint: str = _PRETRAINED_FALSE_HINT
) -> Path:
    """Return the local copy of the weight file at ``url``, downloading it into the hub cache if it is missing.

    The file is ``hub_checkpoint_dir() / <basename of the URL>``. A download shows torch's progress bar, checks the
    SHA256 prefix carried in torchvision-style names, and gives up on an unreachable host after
    ``_SOCKET_TIMEOUT_S`` seconds of silence instead of hanging.

    Args:
        url: where the file can be downloaded from, e.g. ``VGG19_Weights.IMAGENET1K_V1.url``.
        description: what the file is, for the error message (e.g. ``"VGG19 ImageNet weights"``).
        check_hash: check a download against the SHA256 prefix in its name (``-<hex>.``), as torchvision does.
            Turn it off for names whose hex tag is no hash: torch-fidelity's ``weights-inception-...-6726825d.pth``
            shares its tag with pytorch-fid's different file, and torch-fidelity never checks it.
        hint: the last sentence of the error: what to do instead of using these weights.

    Returns:
        The path of the file in the hub cache.

    Raises:
        MissingWeightsError: the file is not cached and the download failed (offline machine, HTTP error, bad hash).
            The message names the file, the URL and the folder to copy it to; the download error is chained.
    """
    name = Path(urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot tell a file name from the URL {url!r}.")
    folder = hub_checkpoint_dir()
    path = folder / name
    if path.is_file():
        return path
    match = _HASH_IN_NAME.search(name) if check_hash else None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        print(f"Downloading {description} from {url} to {path}", file=sys.stderr)
        previous_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(_SOCKET_TIMEOUT_S if previous_timeout is None else previous_timeout)
        try:
            torch.hub.download_url_to_file(url, str(path), match.group(1) if match else None, progress=True)
        finally:
            socket.setdefaulttimeout(previous_timeout)
    except Exception as error:
        path.unlink(missing_ok=True)
        raise MissingWeightsError(
            f"{description} not found: {name} is not in {folder} and downloading it from {url} failed "
            f"({type(error).__name__}: {error}). On a machine without network access, download {url} elsewhere "
            f"and copy it to {path} (the folder is $TORCH_HOME/hub/checkpoints, TORCH_HOME defaulting to "
            f"~/.cache/torch). {hint}"
        ) from error
    if not path.is_file():
        raise MissingWeightsError(f"{description}: the download from {url} left no file at {path}.")
    return path


def load_torchvision_weights(model: nn.Module, weights: WeightsEnum) -> nn.Module:
    """Load a torchvision weight enum's checkpoint into ``model`` (strictly) from the hub cache, and return it.

    Unlike ``weights.get_state_dict()``, a missing file raises :class:`MissingWeightsError` naming the file and the
    folder, and the file is read with ``weights_only=True``. A model built on the meta device
    (``with torch.device("meta"): vgg19()``) gets the loaded tensors assigned, which skips the slow random
    initialisation of large classifier layers.

    Args:
        model: the torchvision network matching ``weights`` (e.g. ``vgg19()`` for ``VGG19_Weights.IMAGENET1K_V1``).
        weights: the torchvision weight enum member.

    Returns:
        ``model``, with the weights loaded.

    Raises:
        MissingWeightsError: the file is not cached and cannot be downloaded.
        RuntimeError: the checkpoint's keys or shapes do not match ``model``.
    """
    description = f"torchvision {type(weights).__name__}.{weights.name} weights"
    path = cached_weights_file(weights.url, description=description)
    state_dict = torch.load(path, map_location="cpu", weights_only=True)
    on_meta = any(t.is_meta for t in (*model.parameters(), *model.buffers()))
    model.load_state_dict(state_dict, strict=True, assign=on_meta)
    return model
