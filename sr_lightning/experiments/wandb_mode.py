"""Deciding where a W&B run goes: online when credentials are found and the W&B host answers, else offline.

Only the presence of credentials and a TCP connect (a few seconds at most) are checked, so a machine without
network or API key never waits on W&B.
"""

from __future__ import annotations

import netrc
import os
import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

__all__ = ["WandbMode", "host_reachable", "resolve_wandb_mode", "wandb_credentials", "wandb_host"]

WandbMode = Literal["auto", "online", "offline"]
DEFAULT_HOST = "https://api.wandb.ai"


def wandb_host() -> str:
    """The host name of the W&B server: ``WANDB_BASE_URL``'s, else ``api.wandb.ai``."""
    return urlparse(os.environ.get("WANDB_BASE_URL", DEFAULT_HOST)).hostname or "api.wandb.ai"


def wandb_credentials() -> str | None:
    """Where W&B would find credentials, or ``None``: ``WANDB_API_KEY``, ``WANDB_IDENTITY_TOKEN_FILE`` or the
    netrc file holding an entry for the W&B host (``$NETRC``, else ``~/.netrc``).

    Only presence is checked, never validity (that needs the network).
    """
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        if os.environ.get(name):
            return name
    path = Path(os.environ.get("NETRC") or "~/.netrc").expanduser()
    try:
        entry = netrc.netrc(path).authenticators(wandb_host())
    except (OSError, netrc.NetrcParseError):
        return None
    return str(path) if entry and entry[2] else None


def host_reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds (nothing is sent)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


def resolve_wandb_mode(mode: WandbMode = "auto", *, connect_timeout: float = 3.0) -> tuple[str, str]:
    """The W&B mode a run will use, and why: ``("online" | "offline" | "disabled", reason)``.

    ``online``/``offline`` are taken as given. ``auto`` follows ``WANDB_MODE`` when it is set, is offline when no
    credentials are found (no network is touched then), is offline when the W&B host does not answer a socket
    connect within ``connect_timeout`` seconds, and is online otherwise.

    Raises:
        ValueError: for an unknown mode, or ``online`` without credentials.

    >>> resolve_wandb_mode("offline")
    ('offline', 'asked for with mode=offline')
    """
    if mode not in ("auto", "online", "offline"):
        raise ValueError(f"W&B mode must be 'auto', 'online' or 'offline', got {mode!r}.")
    if mode == "offline":
        return "offline", "asked for with mode=offline"
    credentials = wandb_credentials()
    if mode == "online":
        if credentials is None:
            raise ValueError(
                "W&B mode 'online' needs credentials: run `wandb login` or set WANDB_API_KEY, "
                "or use --wandb.mode auto (offline when none are found)."
            )
        return "online", "asked for with mode=online"
    env = os.environ.get("WANDB_MODE", "").strip().lower()
    if env:
        resolved = {"dryrun": "offline", "run": "online"}.get(env, env)
        if resolved not in ("online", "offline", "disabled"):
            raise ValueError(f"WANDB_MODE={env!r} is not one of online, offline, disabled; fix or unset it.")
        return resolved, f"WANDB_MODE={env}"
    if credentials is None:
        return "offline", "no W&B credentials: set WANDB_API_KEY or run `wandb login`"
    host = wandb_host()
    if not host_reachable(host, timeout=connect_timeout):
        return "offline", f"{host}:443 did not answer within {connect_timeout:g} s"
    return "online", f"credentials from {credentials}, {host} reachable"
