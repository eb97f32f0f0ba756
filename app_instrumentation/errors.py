"""Error classification shared by metrics, logs, traces and error tracking.

One fixed catalog type per error (``classify``) and a stable fingerprint: the exception class
and the chain of (module, function) frames it passed through, not the message or line
numbers, so "timeout after 3.2s" and "timeout after 4.1s" from the same call site group
together and an edit that shifts lines does not split a group.
"""

from __future__ import annotations

import hashlib
import os
import traceback
from types import TracebackType

from app_instrumentation.catalog import ERROR_TYPES

#: Type of an unidentified failure inside an inference (the MetricsCollector's default too).
INFERENCE_ERROR = "inference_error"

# Exception class name fragments -> catalog error type (checked in order).
_NAME_HINTS: tuple[tuple[str, str], ...] = (
    ("ratelimit", "rate_limited"),
    ("timeout", "backend_timeout"),
    ("validation", "validation_error"),
    ("cache", "cache_error"),
    ("full", "queue_full"),
    ("backend", "backend_error"),
    ("inference", "inference_error"),
)


def classify(exc: BaseException, default: str = "internal_error") -> str:
    """The catalog error type of an exception (an ``error_type`` attribute wins).

    ``default`` is the type of an exception nothing else identifies: ``inference_error``
    for failures inside an inference, ``internal_error`` elsewhere.
    """
    declared = getattr(exc, "error_type", None)
    if declared in ERROR_TYPES:
        return declared
    for cls in type(exc).__mro__:
        name = cls.__name__.lower()
        for hint, error_type in _NAME_HINTS:
            if hint in name:
                return error_type
    if isinstance(exc, ConnectionError):
        return "backend_error"
    if isinstance(exc, ValueError):
        return "validation_error"
    return default


def qualified_name(exc: BaseException) -> str:
    """The exception class as ``error.type`` wants it: ``TimeoutError``, ``pkg.module.BackendError``."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def call_frames(tb: TracebackType | None) -> list[tuple[str, str]]:
    out = []
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__") or os.path.basename(frame.f_code.co_filename)
        out.append((str(module), frame.f_code.co_qualname))
        tb = tb.tb_next
    return out


def fingerprint(exc: BaseException) -> str:
    """Same exception class raised through the same functions -> same key."""
    cls = type(exc)
    parts = [f"{cls.__module__}.{cls.__qualname__}"]
    parts += [f"{m}:{f}" for m, f in call_frames(exc.__traceback__)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def stack_trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).rstrip()
