"""Errors a command reports as one line (what is wrong, what to do) and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse


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


def positive_seconds(text: str) -> float:
    """argparse type: a duration in seconds, more than zero."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a duration: expected a number of seconds above 0")
    return seconds


def share(text: str) -> float:
    """argparse type: a share from 0 to 1 (error rates)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a share: expected a number from 0 to 1 (0.5 = half)")
    return value


def non_negative(text: str) -> float:
    """argparse type: a number >= 0 (latencies, request rates)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a number >= 0")
    return value
