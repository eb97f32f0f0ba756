"""Span accounting: sampled spans that end and never reach the trace backend are counted
(llm_router_trace_spans_ended_total minus llm_router_trace_spans_exported_total{outcome="success"})
and reported at shutdown, whatever lost them: a full export queue, a failing or stuck exporter."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult, TraceIdRatioBased
from starlette.testclient import TestClient

from app_instrumentation import catalog
from app_instrumentation import logs_fields as F
from app_instrumentation.logs import LogConfig
from app_instrumentation.logs_wiring import Observability
from app_instrumentation.span_accounting import SpanAccounting
from app_instrumentation.tracing import setup_tracing
from tests.test_logs_support import CaptureSink, http_receiver, leaf


class ScriptedExporter(SpanExporter):
    """Answers each export with the next of ``results`` (an exception is raised); the first
    export can be held until ``release`` is set, with ``holding`` set while it waits."""

    def __init__(self, *results: SpanExportResult | Exception, hold: bool = False) -> None:
        self.results = list(results)
        self.received: list[int] = []
        self.holding, self.release = threading.Event(), threading.Event()
        if not hold:
            self.release.set()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.holding.set()
        self.release.wait(10)
        self.received.append(len(spans))
        result = self.results.pop(0) if self.results else SpanExportResult.SUCCESS
        if isinstance(result, Exception):
            raise result
        return result

    def shutdown(self) -> None:
        pass


def _provider(exporter: SpanExporter, sampler=None, **bsp: int) -> tuple[TracerProvider, SpanAccounting]:
    accounting = SpanAccounting()
    provider = TracerProvider(sampler=sampler) if sampler is not None else TracerProvider()
    provider.add_span_processor(accounting)
    provider.add_span_processor(BatchSpanProcessor(accounting.wrap(exporter), **bsp))
    return provider, accounting


def _end_spans(provider: TracerProvider, count: int) -> None:
    tracer = provider.get_tracer("test")
    for i in range(count):
        tracer.start_span(f"span {i}").end()


def test_spans_a_full_export_queue_drops_are_counted_as_lost():
    # Queue of 4, batches of 2: the worker takes the first 2 spans and is held in export; of the
    # next 10 spans the queue keeps 4, the other 6 are dropped by the SDK without a trace.
    exporter = ScriptedExporter(hold=True)
    provider, accounting = _provider(exporter, max_queue_size=4, max_export_batch_size=2,
                                     schedule_delay_millis=60_000)
    _end_spans(provider, 2)
    assert exporter.holding.wait(10), "the worker took the first batch"
    _end_spans(provider, 10)
    exporter.release.set()
    provider.force_flush()
    provider.shutdown()
    assert sum(exporter.received) == 6, "the SDK exported 2 + the 4 queued spans"
    assert accounting.ended == 12
    assert accounting.exported == {"success": 6, "failure": 0}
    assert accounting.lost == 6


def test_failed_and_raising_exports_count_their_batch_as_failure():
    exporter = ScriptedExporter(SpanExportResult.FAILURE, RuntimeError("collector said no"), SpanExportResult.SUCCESS)
    provider, accounting = _provider(exporter, max_export_batch_size=3, schedule_delay_millis=60_000)
    for _ in range(3):
        _end_spans(provider, 3)
        provider.force_flush()
    provider.shutdown()
    assert exporter.received == [3, 3, 3]
    assert accounting.exported == {"success": 3, "failure": 6}
    assert accounting.ended == 9 and accounting.lost == 6


class RecordOnly(Sampler):
    """Records spans (processors see them end) without sampling them (nothing exports them)."""

    def should_sample(self, parent_context, trace_id, name, *args, **kwargs) -> SamplingResult:
        return SamplingResult(Decision.RECORD_ONLY)

    def get_description(self) -> str:
        return "RecordOnly"


@pytest.mark.parametrize("sampler", [ParentBased(TraceIdRatioBased(0)), RecordOnly()], ids=["dropped", "record_only"])
def test_spans_that_are_not_sampled_are_not_counted(sampler):
    exporter = ScriptedExporter()
    provider, accounting = _provider(exporter, sampler=sampler)
    _end_spans(provider, 5)
    provider.shutdown()
    assert (accounting.ended, accounting.lost, exporter.received) == (0, 0, [])


class RecordingSink:
    def __init__(self) -> None:
        self.ended = 0
        self.exported: dict[str, int] = {}

    def trace_spans_ended(self, count: int = 1) -> None:
        self.ended += count

    def trace_spans_exported(self, outcome: str, count: int) -> None:
        self.exported[outcome] = self.exported.get(outcome, 0) + count


def test_attach_carries_what_was_counted_before_into_the_sink_once():
    exporter = ScriptedExporter(SpanExportResult.FAILURE)
    provider, accounting = _provider(exporter, schedule_delay_millis=60_000)
    _end_spans(provider, 2)
    provider.force_flush()
    sink = RecordingSink()
    accounting.attach(sink)
    _end_spans(provider, 3)
    provider.force_flush()
    provider.shutdown()
    assert sink.ended == accounting.ended == 5
    assert sink.exported == accounting.exported == {"failure": 2, "success": 3}


def test_accounting_is_installed_with_the_otlp_exporter_only():
    with_endpoint = Observability.from_env({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces",
                                            "LOG_LEVEL": "off"}, set_global=False)
    assert with_endpoint.span_accounting is not None
    processors = with_endpoint.tracer_provider._active_span_processor._span_processors
    assert with_endpoint.span_accounting in processors
    with_endpoint.tracer_provider.shutdown()
    without = Observability.from_env({"LOG_LEVEL": "off"}, set_global=False)
    processors = without.tracer_provider._active_span_processor._span_processors
    assert not any(isinstance(p, SpanAccounting) for p in processors), "nothing to account for without an exporter"
    without.tracer_provider.shutdown()


def _sample(app, name: str, **labels: str) -> float | None:
    return app.collector.registry.get_sample_value(name, labels)


@pytest.mark.parametrize(("status", "lost"), [(200, 0), (400, 2)])
def test_router_shutdown_reports_the_spans_the_collector_refused(status, lost):
    """A request makes two spans (HTTP server, model call). A collector that accepts them: nothing
    lost. One that refuses them (400: not retried): both counted as failed and reported."""
    from llmmon.example_router.app import create_app
    from llmmon.example_router.config import RouterConfig

    with http_receiver(status) as receiver:
        accounting = SpanAccounting()
        provider = setup_tracing("llm-router-test", set_global=False, accounting=accounting,
                                 environ={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.url}/v1/traces"})
        sink = CaptureSink()
        obs = Observability(LogConfig(), provider, sink=sink, environ={}, span_accounting=accounting)
        app = create_app(RouterConfig(seed=7), observers=obs.observers, wrappers=obs.wrappers())
        obs.bind(app.collector, app.routes)
        with TestClient(app) as client:
            assert client.post("/api/generate", json={"prompt": "hello", "max_tokens": 4}).status_code == 200
        assert len(receiver.requests) == 1, "the spans were sent once, at shutdown"
    assert _sample(app, catalog.TRACE_SPANS_ENDED.name) == 2
    assert _sample(app, catalog.TRACE_SPANS_EXPORTED.name, outcome="success") == 2 - lost
    assert _sample(app, catalog.TRACE_SPANS_EXPORTED.name, outcome="failure") == lost
    reports = [e for e in sink.events() if e["message"] == "Spans not exported"]
    if lost:
        (report,) = reports
        assert report["log.level"] == "warn" and leaf(report, F.TRACE_SPANS_LOST.path) == lost
    else:
        assert reports == []


def test_shutdown_against_a_collector_that_never_answers_keeps_to_its_budget():
    """The SDK's flush gives each queued batch the exporter's whole timeout, whatever the flush
    timeout says: the router must still finish within its budget (Kubernetes' grace period) and
    write its log lines, reporting the spans it could not export."""
    exporter = ScriptedExporter(hold=True)  # a blackholed collector: export never returns
    provider, accounting = _provider(exporter, max_export_batch_size=2, schedule_delay_millis=60_000)
    sink = CaptureSink()
    obs = Observability(LogConfig(), provider, sink=sink, environ={}, span_accounting=accounting)
    _end_spans(provider, 6)
    assert exporter.holding.wait(10), "the worker is stuck in its first export"
    started = time.monotonic()
    try:
        assert obs.shutdown(timeout=0.5) is False
        elapsed = time.monotonic() - started
    finally:
        exporter.release.set()
    assert elapsed < 5, f"shutdown took {elapsed:.1f}s with a 0.5s budget"
    (report,) = [e for e in sink.events() if e["message"] == "Spans not exported"]
    assert leaf(report, F.TRACE_SPANS_LOST.path) == 6


def test_spans_and_error_reports_are_flushed_side_by_side():
    """Both wait on the network: flushed one after the other they could take twice the budget
    before the log lines get theirs. The error reporter is shut down while the spans still flush."""
    exporter = ScriptedExporter(hold=True)
    provider, accounting = _provider(exporter, schedule_delay_millis=60_000)
    _end_spans(provider, 3)

    class Reporter:
        called_after: float | None = None

        def shutdown(self, timeout: float | None = None) -> bool:
            Reporter.called_after = time.monotonic() - started
            return True

    obs = Observability(LogConfig(), provider, sink=CaptureSink(), environ={}, span_accounting=accounting)
    obs.errors.reporter = Reporter()
    started = time.monotonic()
    try:
        obs.shutdown(timeout=2.0)
    finally:
        exporter.release.set()
    assert Reporter.called_after is not None and Reporter.called_after < 1.0, \
        "the reporter did not wait for the spans' 2 s budget to pass"
