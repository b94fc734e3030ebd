"""Whether a host is this machine: the one test behind "send a key only over https or to
loopback" (the OpenAI-compatible client) and "no auth only on loopback" (the guard service)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an IP literal) is this machine: localhost, 127.0.0.0/8, ::1."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
