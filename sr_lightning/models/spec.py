"""What a network was built with, recorded when it is built: its class path and keyword arguments.

A checkpoint must say how to rebuild its generator, whether the network came from a YAML config (LightningCLI saves
the config) or was built in Python (``SRModule(EDSR(scale=2, n_feats=32))``, where nothing else records it). Networks
that inherit :class:`RecordsSpec` keep ``{"class_path", "init_args"}`` of the constructor call that built them, in
the form configs use (classes as import paths, tuples as lists), so
:func:`sr_lightning.weights.build_generator` can build the same network again.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from torch import nn

__all__ = ["RecordsSpec", "network_spec"]


def _plain(value: Any) -> Any:
    """``value`` as YAML/JSON would hold it; raises TypeError for what cannot be written down."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    spec = network_spec(value) if isinstance(value, nn.Module) else None
    if spec is not None:
        return spec
    raise TypeError(f"cannot record a {type(value).__name__} argument")


class RecordsSpec:
    """Mixin for networks: ``network_spec(net)`` returns the class path and arguments ``net`` was built with.

    The record is that of the outermost constructor (a subclass's, when it calls its parent's), made after it
    returned. An argument that cannot be written down (an ``nn.Module`` instance that records nothing, a function)
    leaves no record: :func:`network_spec` is then None.

    Example:
        >>> from sr_lightning.models import EDSR
        >>> network_spec(EDSR(scale=3, n_feats=8))["init_args"]["n_feats"]
        8
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self: nn.Module, *args: Any, **kw: Any) -> None:
            init(self, *args, **kw)
            bound = signature.bind(self, *args, **kw)
            bound.apply_defaults()
            arguments = dict(list(bound.arguments.items())[1:])  # without self
            try:
                spec = {
                    "class_path": f"{type(self).__module__}.{type(self).__qualname__}",
                    "init_args": _plain(arguments),
                }
            except TypeError:
                spec = None
            object.__setattr__(self, "_sr_spec", spec)  # not a submodule, not in the state dict

        cls.__init__ = recording_init  # type: ignore[method-assign]


def network_spec(network: nn.Module) -> dict[str, Any] | None:
    """``{"class_path", "init_args"}`` that builds ``network`` again, or None when it recorded none."""
    spec = getattr(network, "_sr_spec", None)
    return None if spec is None else {"class_path": spec["class_path"], "init_args": dict(spec["init_args"])}
