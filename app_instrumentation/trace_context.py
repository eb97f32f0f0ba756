"""Trace ids of the current or a given span, without requiring the OpenTelemetry SDK.

The logger (``trace.id``/``span.id`` on every line) and the metrics collector (exemplars)
read them; both work, returning None, when the tracing extra is not installed or no span is
active.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

try:  # the tracing extra is optional: logs still work without it
    from opentelemetry import trace
except ImportError:  # pragma: no cover - exercised only without the extra
    trace = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from app_instrumentation.events import InferenceContext

#: Key under ``InferenceContext.attributes`` holding the inference span (left there after it
#: ends, so observers called later, like the logger, can still read its ids).
SPAN_ATTRIBUTE = "otel.span"


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as lowercase hex, or None."""
    ids = current_raw_ids()
    return None if ids is None else format_ids(ids)


def raw_ids(span: Any) -> tuple[int, int] | None:
    """(trace id, span id) of a span as integers, or None if it is not a valid span: cheap enough
    for the request path. The logger queues these instead of the span object, which would keep the
    span alive (and tracked by the garbage collector) until the writer thread formats the line."""
    if span is None:
        return None
    ctx = span.get_span_context()
    return (ctx.trace_id, ctx.span_id) if ctx.is_valid else None


def current_raw_ids() -> tuple[int, int] | None:
    """``raw_ids`` of the current span."""
    return None if trace is None else raw_ids(trace.get_current_span())


def format_ids(ids: tuple[int, int]) -> tuple[str, str]:
    """``raw_ids`` as the lowercase hex of W3C trace context (32 and 16 digits)."""
    return format(ids[0], "032x"), format(ids[1], "016x")


def current_trace_exemplar(
    ctx: InferenceContext | None = None, scope: Mapping[str, Any] | None = None
) -> dict[str, str] | None:
    """Exemplar labels for ``Histogram.observe(v, exemplar=...)``; None outside a sampled span.

    The span is the inference span of ``ctx`` (opened by ``TracingObserver``), else the
    request span ``TracingMiddleware`` left in an ASGI ``scope`` (for middleware outside it,
    observing after the span ended), else the current span. prometheus_client only exposes
    exemplars in the OpenMetrics format; the labels stay under OpenMetrics' 128-character limit.
    """
    if trace is None:
        return None
    span = ctx.attributes.get(SPAN_ATTRIBUTE) if ctx is not None else None
    if span is None and scope is not None:
        span = (scope.get("state") or {}).get(SPAN_ATTRIBUTE)
    span_context = (span or trace.get_current_span()).get_span_context()
    if not span_context.is_valid or not span_context.trace_flags.sampled:
        return None
    return {"trace_id": format(span_context.trace_id, "032x"), "span_id": format(span_context.span_id, "016x")}
