"""Instrumentation must never break the thing it measures.

``guarded`` wraps a method so that any exception inside it is swallowed, counted in
``llm_router_instrumentation_errors_total{operation}`` and logged once per operation.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

_log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

#: Every operation name a ``guarded`` method was declared with, so the collector can
#: expose a zero series for each (a counter that only appears on first failure is hard to alert on).
OPERATIONS: set[str] = set()


class ErrorSink(Protocol):
    def instrumentation_failed(self, operation: str, exc: BaseException) -> None: ...


def guarded(operation: str) -> Callable[[F], F]:
    """Decorate a method of an ``ErrorSink``; the method returns None when it failed."""
    OPERATIONS.add(operation)

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(self: ErrorSink, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(self, *args, **kwargs)
            except Exception as exc:
                report_failure(self, operation, exc)
                return None

        return wrapper  # type: ignore[return-value]

    return decorate


_reported: set[str] = set()


def report_failure(sink: ErrorSink, operation: str, exc: BaseException) -> None:
    """Count and log a swallowed error; never raises itself."""
    try:
        sink.instrumentation_failed(operation, exc)
    except Exception:
        pass
    if operation not in _reported:
        _reported.add(operation)
        _log.warning("instrumentation error in %s (further ones are only counted)", operation, exc_info=exc)
