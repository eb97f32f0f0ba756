"""MetricsCollector: every catalog metric on its own registry, behind typed event methods.

Each method corresponds to a router event (the seed's events plus the LLM signals it
lacked). Every method is ``guarded``: an exception inside it is counted in
``llm_router_instrumentation_errors_total{operation}`` and never reaches the caller.
The collector is also an ``InferenceObserver``, so a router just registers it.

Which metrics a completed inference touches: the seed's four (inference_total,
inference_duration, tokens_generated, tokens_per_second) always; the backend-side ones
(tokens_total, cost, ttft, tpot, backend_request_duration) only when the answer did not
come from the cache, since no backend did any work for a cached answer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, ProcessCollector

from app_instrumentation import catalog
from app_instrumentation.catalog import MetricSpec
from app_instrumentation.errors import INFERENCE_ERROR, classify
from app_instrumentation.events import InferenceContext, InferenceResult, ModelEvent
from app_instrumentation.families import build_metric
from app_instrumentation.guard import OPERATIONS, guarded
from app_instrumentation.labels import RAW_CACHE_SIZE, Family, LabelPolicy
from app_instrumentation.runtime import RuntimeCollector

PROCESS_NAMESPACE = "llm_router"
_SELF_METRICS = (catalog.INSTRUMENTATION_ERRORS, catalog.SERIES_OVERFLOW)
SELF_METRIC_SERIES = 1000
COMPONENT = "llm_router"


class _InferenceSeries:
    """The children one completed inference updates, resolved once per label tuple."""

    __slots__ = (
        "count", "duration", "generated", "speed", "ttft", "tpot", "tokens_in", "tokens_out", "cost", "backend",
    )

    def __init__(self, c: MetricsCollector, model: str, strategy: str, backend: str, cached: bool) -> None:
        self.count = c.family(catalog.INFERENCE).child(model, strategy, "success", cached)
        self.duration = c.family(catalog.INFERENCE_DURATION).child(model, strategy)
        self.generated = c.family(catalog.TOKENS_GENERATED).child(model, strategy)
        if cached:  # no backend work: leave the backend-side series alone
            return
        self.speed = c.family(catalog.TOKENS_PER_SECOND).child(model)
        self.ttft = c.family(catalog.TIME_TO_FIRST_TOKEN).child(model, backend)
        self.tpot = c.family(catalog.TIME_PER_OUTPUT_TOKEN).child(model, backend)
        self.tokens_in = c.family(catalog.TOKENS).child(model, backend, "input")
        self.tokens_out = c.family(catalog.TOKENS).child(model, backend, "output")
        self.cost = c.family(catalog.COST).child(model, backend)
        self.backend = c.family(catalog.BACKEND_REQUEST_DURATION).child(model, backend, "success")


#: Exemplar labels for a latency observation (trace id of the inference or request span),
#: given the inference context or the ASGI scope; ``trace_context.current_trace_exemplar`` is one.
ExemplarSource = Callable[[InferenceContext | None, Mapping[str, Any] | None], dict[str, str] | None]


def error_type(exc: BaseException) -> str:
    """``errors_total{type}`` for a failed inference: the same classification the error logs use."""
    return classify(exc, INFERENCE_ERROR)


class MetricsCollector:
    """Owns a ``CollectorRegistry`` with every catalog metric; see the module docstring."""

    def __init__(
        self,
        policy: LabelPolicy | None = None,
        *,
        registry: CollectorRegistry | None = None,
        process_metrics: bool = True,
    ) -> None:
        self.policy = policy or LabelPolicy()
        self.registry = registry if registry is not None else CollectorRegistry()
        self._overflows = 0
        # Self-metrics have naturally bounded labels (metric names, operations) and must not fold.
        self_policy = dataclasses.replace(self.policy, max_series=max(self.policy.max_series, SELF_METRIC_SERIES))
        self._families: dict[str, Family] = {
            spec.name: Family(
                spec, build_metric(spec, self.registry),
                self_policy if spec in _SELF_METRICS else self.policy, self._count_overflow,
            )
            for spec in catalog.METRICS
            if not spec.collected
        }
        if process_metrics:
            ProcessCollector(namespace=PROCESS_NAMESPACE, registry=self.registry)
            RuntimeCollector(self.registry)
        self._inference_series: dict[tuple[object, ...], _InferenceSeries] = {}
        #: Set by the tracing wiring; None keeps the hot path free of span lookups.
        self.exemplar: ExemplarSource | None = None

    def family(self, spec: MetricSpec) -> Family:
        return self._families[spec.name]

    # --- self-monitoring -------------------------------------------------------------
    def instrumentation_failed(self, operation: str, exc: BaseException) -> None:
        self.family(catalog.INSTRUMENTATION_ERRORS).child(operation).inc()

    def _count_overflow(self, spec: MetricSpec) -> None:
        self._overflows += 1
        if spec is not catalog.SERIES_OVERFLOW:  # the overflow counter folding must not recurse
            self.family(catalog.SERIES_OVERFLOW).child(spec.name).inc()

    @guarded("initialize_series")
    def initialize_series(self, log_streams: Iterable[str] = ()) -> None:
        """Expose zero-valued series before the first event: the self-metrics, and every counter and
        histogram label set the allow-lists and enums make known (``known_label_sets``), so that
        ratios read 0 instead of nothing and ``rate()`` has a starting point (prometheus_client's
        advice: avoid missing metrics). Gauges are left alone: 0 means something for them."""
        for operation in sorted(OPERATIONS):
            self.family(catalog.INSTRUMENTATION_ERRORS).preinitialize(operation)
        for spec in catalog.METRICS:
            if not spec.collected:
                self.family(catalog.SERIES_OVERFLOW).preinitialize(spec.name)
        for stream in log_streams:
            self.family(catalog.LOG_EVENTS_DROPPED).preinitialize(stream)
        for spec in catalog.METRICS:
            if spec.kind is not catalog.Kind.GAUGE and not spec.collected and spec not in _SELF_METRICS:
                for values in self.known_label_sets(spec):
                    self.family(spec).preinitialize(*values)

    def known_label_sets(self, spec: MetricSpec) -> list[tuple[str, ...]]:
        """Every label set of ``spec`` whose values all come from an allow-list or enum; none when a
        label is open-ended or the product would take more than half of the metric's series bound."""
        allowed = self.policy.allowed_values(spec)
        if not spec.labels or any(not allowed.get(label) for label in spec.labels):
            return []
        choices = [sorted(allowed[label]) for label in spec.labels]
        size = 1
        for values in choices:
            size *= len(values)
        if size > self.policy.max_series // 2:
            return []
        pairs = [i for i, label in enumerate(spec.labels) if label in ("from_backend", "to_backend")]
        return [values for values in itertools.product(*choices)
                if len(pairs) < 2 or values[pairs[0]] != values[pairs[1]]]  # no fallback to itself

    @guarded("preinitialize")
    def preinitialize(self, spec: MetricSpec, *label_values: object) -> None:
        """Create one series at zero (counters/histograms) so it exists before its first event."""
        self.family(spec).preinitialize(*label_values)

    # --- inferences in progress (queued or running) ------------------------------------
    @guarded("inference_started")
    def inference_started(self) -> None:
        self.family(catalog.INFERENCES_IN_PROGRESS).child().inc()

    @guarded("inference_finished")
    def inference_finished(self) -> None:
        self.family(catalog.INFERENCES_IN_PROGRESS).child().dec()

    @contextlib.contextmanager
    def inference_in_progress(self) -> Iterator[None]:
        """Count an inference from its start until it is over, however it ends (answered, failed,
        cancelled by a client that went away): what the stall alert watches. Hold it for the whole
        inference, queueing and streaming included (e.g. in the ``AsyncExitStack`` that closes it)."""
        self.inference_started()
        try:
            yield
        finally:
            self.inference_finished()

    # --- InferenceObserver -----------------------------------------------------------
    def on_start(self, ctx: InferenceContext) -> None:
        """Nothing to count yet: durations are measured from ``ctx.started_at``."""

    @guarded("inference_complete")
    def on_complete(self, ctx: InferenceContext, result: InferenceResult) -> None:
        key = (result.model, ctx.strategy, result.backend, result.cached)
        series = self._inference_series.get(key)
        if series is None:
            series = self._resolve_inference_series(key)
        series.count.inc()
        duration = result.duration_seconds
        output = result.output_tokens
        series.duration.observe(duration, self.exemplar(ctx, None) if self.exemplar is not None else None)
        series.generated.inc(output)
        if result.cached:
            return
        # Inlined InferenceResult.tokens_per_second / time_per_output_token: this is the hot path.
        if duration > 0 and output > 0:
            series.speed.observe(output / duration)
        ttft = result.ttft_seconds
        if ttft is not None:
            series.ttft.observe(ttft)
            if output > 1:
                series.tpot.observe(max(duration - ttft, 0.0) / (output - 1))
        series.tokens_in.inc(result.prompt_tokens)
        series.tokens_out.inc(output)
        if result.cost_usd:
            series.cost.inc(result.cost_usd)
        if result.backend_seconds is not None:
            series.backend.observe(result.backend_seconds)

    def _resolve_inference_series(self, key: tuple[Any, ...]) -> _InferenceSeries:
        overflows = self._overflows
        series = _InferenceSeries(self, *key)
        # A series set that hit a bound is not cached, so each folded observation is counted.
        if overflows == self._overflows and len(self._inference_series) < RAW_CACHE_SIZE:
            self._inference_series[key] = series
        return series

    @guarded("inference_error")
    def on_error(self, ctx: InferenceContext, exc: BaseException) -> None:
        self.family(catalog.INFERENCE).child(ctx.model, ctx.strategy, "error", False).inc()
        self.family(catalog.INFERENCE_DURATION).child(ctx.model, ctx.strategy).observe(
            ctx.elapsed(), self.exemplar(ctx, None) if self.exemplar is not None else None
        )
        self.family(catalog.ERRORS).child(error_type(exc), COMPONENT, "error").inc()

    def on_model_loaded(self, event: ModelEvent) -> None:
        self.model_loaded(event.name, event.format, event.size_bytes, event.load_seconds or 0.0)

    def on_model_unloaded(self, event: ModelEvent) -> None:
        self.model_unloaded(event.name, event.format, event.size_bytes)

    # --- the seed's other events -----------------------------------------------------
    @guarded("http_request")
    def http_request(
        self, method: str, route: str, status_code: int | str, seconds: float,
        exemplar: dict[str, str] | None = None,
    ) -> None:
        self.family(catalog.HTTP_REQUESTS).child(method, route, status_code).inc()
        self.family(catalog.HTTP_REQUEST_DURATION).child(method, route, status_code).observe(seconds, exemplar)

    @guarded("model_loaded")
    def model_loaded(self, model: str, format: str, size_bytes: float, load_seconds: float) -> None:
        self.family(catalog.MODELS_LOADED).child(format, catalog.size_category(size_bytes)).inc()
        self.family(catalog.MODEL_LOAD_DURATION).child(model, format).observe(load_seconds)
        self.family(catalog.MODEL_MEMORY).child(model, format).set(size_bytes)

    @guarded("model_unloaded")
    def model_unloaded(self, model: str, format: str, size_bytes: float) -> None:
        self.family(catalog.MODELS_LOADED).child(format, catalog.size_category(size_bytes)).dec()
        self.family(catalog.MODEL_MEMORY).child(model, format).set(0)

    @guarded("cache_hit")
    def cache_hit(self, cache_type: str = "response") -> None:
        self.family(catalog.CACHE_HITS).child(cache_type).inc()

    @guarded("cache_miss")
    def cache_miss(self, cache_type: str = "response") -> None:
        self.family(catalog.CACHE_MISSES).child(cache_type).inc()

    @guarded("cache_size")
    def cache_size(self, size_bytes: float, cache_type: str = "response") -> None:
        self.family(catalog.CACHE_SIZE).child(cache_type).set(size_bytes)

    @guarded("connection_open")
    def connection_opened(self, type: str, protocol: str) -> None:
        self.family(catalog.ACTIVE_CONNECTIONS).child(type, protocol).inc()

    @guarded("connection_close")
    def connection_closed(self, type: str, protocol: str, seconds: float) -> None:
        self.family(catalog.ACTIVE_CONNECTIONS).child(type, protocol).dec()
        self.family(catalog.CONNECTION_DURATION).child(type, protocol).observe(seconds)

    @guarded("error")
    def error(self, type: str, component: str = COMPONENT, severity: str = "error") -> None:
        self.family(catalog.ERRORS).child(type, component, severity).inc()

    @guarded("queue_size")
    def queue_size(self, size: int, queue_type: str = "inference") -> None:
        self.family(catalog.QUEUE_SIZE).child(queue_type).set(size)

    @guarded("queue_processed")
    def queue_processed(self, seconds: float, queue_type: str = "inference") -> None:
        self.family(catalog.QUEUE_PROCESSING).child(queue_type).observe(seconds)

    # --- LLM signals, one by one (on_complete records them together) ----------------
    @guarded("time_to_first_token")
    def time_to_first_token(self, model: str, backend: str, seconds: float) -> None:
        self.family(catalog.TIME_TO_FIRST_TOKEN).child(model, backend).observe(seconds)

    @guarded("time_per_output_token")
    def time_per_output_token(self, model: str, backend: str, seconds: float) -> None:
        self.family(catalog.TIME_PER_OUTPUT_TOKEN).child(model, backend).observe(seconds)

    @guarded("tokens")
    def tokens(self, model: str, backend: str, input_tokens: int = 0, output_tokens: int = 0) -> None:
        self.family(catalog.TOKENS).child(model, backend, "input").inc(input_tokens)
        self.family(catalog.TOKENS).child(model, backend, "output").inc(output_tokens)

    @guarded("cost")
    def cost(self, model: str, backend: str, usd: float) -> None:
        self.family(catalog.COST).child(model, backend).inc(usd)

    @guarded("backend_request")
    def backend_request(self, model: str, backend: str, status: str, seconds: float) -> None:
        self.family(catalog.BACKEND_REQUEST_DURATION).child(model, backend, status).observe(seconds)

    @guarded("fallback")
    def fallback(self, from_backend: str, to_backend: str, reason: str) -> None:
        self.family(catalog.FALLBACKS).child(from_backend, to_backend, reason).inc()

    @guarded("retry")
    def retry(self, backend: str, reason: str) -> None:
        self.family(catalog.RETRIES).child(backend, reason).inc()

    @guarded("rate_limited")
    def rate_limited(self, backend: str) -> None:
        self.family(catalog.RATE_LIMITED).child(backend).inc()

    @guarded("rate_limit_remaining")
    def rate_limit_remaining(self, backend: str, remaining: float, limit_type: str = "requests") -> None:
        self.family(catalog.RATE_LIMIT_REMAINING).child(backend, limit_type).set(remaining)

    @guarded("backend_state")
    def backend_state(self, backend: str, state: str) -> None:
        """One-hot ``backend_state{state}``; ``backend_up`` is 1 while the backend takes requests."""
        states = self.family(catalog.BACKEND_STATE)
        for candidate in catalog.BACKEND_STATES:
            states.child(backend, candidate).set(1 if candidate == state else 0)
        self.family(catalog.BACKEND_UP).child(backend).set(1 if state in ("healthy", "degraded") else 0)

    @guarded("health_check")
    def health_check(self, check: str, healthy: bool) -> None:
        self.family(catalog.HEALTH_CHECK_UP).child(check).set(1 if healthy else 0)

    @guarded("log_events_dropped")
    def log_events_dropped(self, stream: str, count: int = 1) -> None:
        self.family(catalog.LOG_EVENTS_DROPPED).child(stream).inc(count)

    @guarded("trace_spans")
    def trace_spans_ended(self, count: int = 1) -> None:
        self.family(catalog.TRACE_SPANS_ENDED).child().inc(count)

    @guarded("trace_spans")
    def trace_spans_exported(self, outcome: str, count: int) -> None:
        self.family(catalog.TRACE_SPANS_EXPORTED).child(outcome).inc(count)
