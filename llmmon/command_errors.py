"""Errors a command reports as one line (what is wrong, what to do) and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


class CommandError(Exception):
    """Raised by a command; ``llmmon.cli.main`` prints ``llmmon <command>: <message>`` and exits ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def os_problem(exc: OSError) -> str:
    """``[Errno 13] Permission denied: '/x'`` as ``/x: permission denied``."""
    reason = (exc.strerror or str(exc)).lower()
    return f"{exc.filename}: {reason}" if exc.filename else reason


def port_number(text: str) -> int:
    """argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: expected 0 (any free port) to 65535")
    return port


def _number(accept: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse type: a number ``accept`` takes, else ``"<text> <expected>"``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not accept(value):  # NaN fails every comparison, so it is refused too
            raise argparse.ArgumentTypeError(f"{text} {expected}")
        return value

    return parse


positive_seconds = _number(lambda v: 0 < v < math.inf, "is not a duration: expected a number of seconds above 0")
share = _number(lambda v: 0 <= v <= 1, "is not a share: expected a number from 0 to 1 (0.5 = half)")
non_negative = _number(lambda v: 0 <= v < math.inf, "must be a number >= 0")
