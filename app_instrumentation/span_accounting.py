"""Which sampled spans reached the trace backend: the batch span processor drops spans silently
when its queue is full (a collector that is down, slow or blackholed), and an export that fails
loses its whole batch; the SDK only logs a warning now and then.

``SpanAccounting`` counts each sampled span as it ends and each span the exporter sent, by
outcome, using public SDK interfaces only (a span processor and an exporter wrapper): spans
that ended and were not exported successfully were lost, whatever the cause. The counts feed
``llm_router_trace_spans_ended_total`` and ``llm_router_trace_spans_exported_total{outcome}``
(the TraceSpansLost alert compares them) and the shutdown report.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from app_instrumentation.catalog import TRACE_SPAN_FAILURE, TRACE_SPAN_OUTCOMES, TRACE_SPAN_SUCCESS


class SpanCountSink(Protocol):
    """Where the counts go (the router's metrics collector); never raises."""

    def trace_spans_ended(self, count: int = 1) -> None: ...

    def trace_spans_exported(self, outcome: str, count: int) -> None: ...


class SpanAccounting(SpanProcessor):
    """A span processor that counts sampled spans as they end; ``wrap`` makes an exporter count
    what it sends. Register it on the provider beside the batch processor of the wrapped exporter.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # spans may end on several threads
        self.ended = 0
        self.exported = dict.fromkeys(TRACE_SPAN_OUTCOMES, 0)
        self.sink: SpanCountSink | None = None  # see ``attach``

    @property
    def lost(self) -> int:
        """Spans ended and not exported successfully (queued ones included until they are sent)."""
        return self.ended - self.exported[TRACE_SPAN_SUCCESS]

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled:
            return  # a batch processor exports sampled spans only
        with self._lock:  # read the sink under the lock: ``attach`` must not count this span twice
            self.ended += 1
            sink = self.sink
        if sink is not None:
            sink.trace_spans_ended()

    def exported_batch(self, outcome: str, count: int) -> None:
        with self._lock:
            self.exported[outcome] += count
            sink = self.sink
        if sink is not None:
            sink.trace_spans_exported(outcome, count)

    def attach(self, sink: SpanCountSink) -> None:
        """Count into ``sink`` from now on, starting with what was counted before."""
        with self._lock:
            ended, exported = self.ended, dict(self.exported)
            self.sink = sink
        if ended:
            sink.trace_spans_ended(ended)
        for outcome, count in exported.items():
            if count:
                sink.trace_spans_exported(outcome, count)

    def wrap(self, exporter: SpanExporter) -> SpanExporter:
        return CountingExporter(exporter, self)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class CountingExporter(SpanExporter):
    """Delegates to ``exporter``; every batch is counted as a success or (a failure result or an
    exception) a failure before the result goes back to the batch processor."""

    def __init__(self, exporter: SpanExporter, accounting: SpanAccounting) -> None:
        self.exporter = exporter
        self.accounting = accounting

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.exporter.export(spans)
        except BaseException:
            self.accounting.exported_batch(TRACE_SPAN_FAILURE, len(spans))
            raise
        outcome = TRACE_SPAN_SUCCESS if result is SpanExportResult.SUCCESS else TRACE_SPAN_FAILURE
        self.accounting.exported_batch(outcome, len(spans))
        return result

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
