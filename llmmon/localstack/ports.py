"""Loopback ports: prefer a given one, fall back to any free one (bind port 0)."""

from __future__ import annotations

import socket

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port the kernel says is free right now (bind to port 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def is_free(port: int, host: str = HOST) -> bool:
    """Free for a server: like servers we set SO_REUSEADDR, so TIME_WAIT leftovers don't count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def pick_port(preferred: int | None, host: str = HOST, taken: set[int] | None = None) -> int:
    """``preferred`` if it is free (and not already handed out), else any free port."""
    taken = taken if taken is not None else set()
    if preferred and preferred not in taken and is_free(preferred, host):
        port = preferred
    else:
        port = free_port(host)
        while port in taken:
            port = free_port(host)
    taken.add(port)
    return port
