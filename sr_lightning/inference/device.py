"""Which device to run on, and which device a module is on: one answer for every tool of the library.

:func:`resolve_device` turns what a user typed (``--device auto``, ``cpu``, ``cuda:1``...) into a
:class:`torch.device`, or says why it cannot; :func:`device_of` is where a network's weights live, so inputs can
be sent there.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["device_of", "resolve_device"]


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """The device named by ``name``, checked to exist on this machine.

    Args:
        name: ``None`` or ``"auto"``: CUDA when it is available, else the CPU. Anything else
            :class:`torch.device` accepts (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, a ``torch.device``) is
            taken as it is, after checking that a CUDA device exists.

    Raises:
        ValueError: ``name`` is not a device torch knows, or names a CUDA device this machine does not have
            (no CUDA at all, or ``cuda:N`` past the last GPU); the message names the value and what to use.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
        >>> resolve_device("auto").type in ("cpu", "cuda")
        True
    """
    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        target = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device {name!r} is not a torch device; use auto, cpu, cuda or cuda:N.") from error
    if target.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: CUDA is not available here; use auto or cpu.")
        count = torch.cuda.device_count()
        if target.index is not None and target.index >= count:
            raise ValueError(f"device {name!r}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}.")
    return target


def device_of(module: nn.Module) -> torch.device:
    """The device of ``module``'s first parameter, else of its first buffer; the CPU for a module with neither.

    Example:
        >>> device_of(nn.Linear(2, 2)), device_of(nn.ReLU())
        (device(type='cpu'), device(type='cpu'))
    """
    for tensors in (module.parameters(), module.buffers()):
        tensor = next(iter(tensors), None)
        if tensor is not None:
            return tensor.device
    return torch.device("cpu")
