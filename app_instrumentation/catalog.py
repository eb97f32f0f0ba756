"""The metric catalog: every metric the router exposes, declared exactly once.

Alerts, dashboards, recording rules and tests import names from here, so a renamed
metric breaks a test instead of a dashboard in production. Names keep the seed's
``llm_router_`` prefix; the OpenTelemetry GenAI mapping is documented per metric
(``otel``) and in ``docs/metrics.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

PREFIX = "llm_router_"

#: The value a label takes when the real value is not allowed (allow-list miss,
#: unknown route, series bound reached). Fixed so dashboards can show it.
OTHER = "other"
UNKNOWN_ROUTE = "__unmatched__"

#: Labels whose values come from the configured allow-lists (model names,
#: backends, strategies are open-ended strings in a router).
ALLOW_LISTED_LABELS: frozenset[str] = frozenset(
    {"model", "backend", "strategy", "from_backend", "to_backend"}
)

#: The fixed set of error types for ``llm_router_errors_total{type}``.
ERROR_TYPES: tuple[str, ...] = (
    "backend_error",
    "backend_timeout",
    "cache_error",
    "inference_error",
    "internal_error",
    "queue_full",
    "rate_limited",
    "validation_error",
)

#: How ``llm_router_errors_total`` separates failures the operator can fix from the rest:
#: ``severity`` error/critical marks a request the router failed on the server side (an inference
#: that failed after every retry and fallback, a 5xx it answered), counted once per failed
#: request; ``warning`` marks what was recovered (a backend attempt a retry or fallback fixed, a
#: cache error served around) or what a client caused. Error alerts page on the first kind only.
FAILURE_SEVERITIES: tuple[str, ...] = ("critical", "error")
#: Error types a client causes: never a server-side failure, whatever severity a router gives them.
CLIENT_ERROR_TYPES: tuple[str, ...] = ("validation_error",)

#: States of a backend as seen by the router's circuit breaker.
BACKEND_STATES: tuple[str, ...] = ("healthy", "degraded", "cooling_down", "down")

#: Seed's model size categories (bytes upper bounds).
SIZE_CATEGORIES: tuple[tuple[str, float], ...] = (
    ("small", 1e9),
    ("medium", 10e9),
    ("large", 50e9),
    ("xlarge", float("inf")),
)


class Kind(StrEnum):
    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class MetricSpec:
    """One metric family. ``name`` is the name used in PromQL (counters end in _total)."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] | None = None
    #: Semantic unit (seconds, bytes, tokens, usd, requests, ratio, ...).
    unit: str = ""
    #: Closed value sets for labels that have one; values outside become OTHER.
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: OpenTelemetry semantic-convention counterpart, if any.
    otel: str = ""
    #: Exposed by a collector (process metrics), not by the typed collector API.
    collected: bool = False

    def __post_init__(self) -> None:
        if not self.name.startswith(PREFIX):
            raise ValueError(f"metric {self.name!r} must start with {PREFIX!r}")
        if (self.kind is Kind.COUNTER) != self.name.endswith("_total"):
            raise ValueError(f"metric {self.name!r}: counters and only counters end in _total")
        if (self.kind is Kind.HISTOGRAM) != (self.buckets is not None):
            raise ValueError(f"metric {self.name!r}: histograms and only histograms have buckets")
        if self.buckets is not None and list(self.buckets) != sorted(set(self.buckets)):
            raise ValueError(f"metric {self.name!r}: buckets must be strictly increasing")
        unknown = set(self.enums) - set(self.labels)
        if unknown:
            raise ValueError(f"metric {self.name!r}: enums for undeclared labels {sorted(unknown)}")
        object.__setattr__(self, "enums", MappingProxyType(dict(self.enums)))

    @property
    def base_name(self) -> str:
        """Name as given to prometheus_client (which appends _total to counters)."""
        return self.name[: -len("_total")] if self.kind is Kind.COUNTER else self.name

    @property
    def series_names(self) -> tuple[str, ...]:
        """Every sample name this family exposes."""
        if self.kind is Kind.HISTOGRAM:
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        if self.kind is Kind.COUNTER:
            return (self.name, f"{self.base_name}_created")
        return (self.name,)

    @property
    def bucket(self) -> str:
        return self._part("bucket")

    @property
    def sum(self) -> str:
        return self._part("sum")

    @property
    def count(self) -> str:
        return self._part("count")

    def _part(self, suffix: str) -> str:
        if self.kind is not Kind.HISTOGRAM:
            raise AttributeError(f"{self.name} is a {self.kind.value}, it has no _{suffix}")
        return f"{self.name}_{suffix}"


def _m(
    short: str,
    kind: Kind,
    help: str,
    labels: tuple[str, ...] = (),
    buckets: tuple[float, ...] | None = None,
    **kw: object,
) -> MetricSpec:
    return MetricSpec(PREFIX + short, kind, help, labels, buckets, **kw)  # type: ignore[arg-type]


C, G, H = Kind.COUNTER, Kind.GAUGE, Kind.HISTOGRAM
_HTTP = ("method", "route", "status_code")
_MS = ("model", "strategy")
_MB = ("model", "backend")

# OpenTelemetry GenAI semantic-convention bucket boundaries (explicit bucket advice).
OTEL_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
OTEL_TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
OTEL_OPERATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)

# --- the seed's metrics, names, labels and buckets unchanged -------------------------
HTTP_REQUEST_DURATION = _m(
    "http_request_duration_seconds", H, "Duration of HTTP requests in seconds", _HTTP,
    (0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30), unit="seconds", otel="http.server.request.duration",
)
HTTP_REQUESTS = _m(
    "http_requests_total", C, "Total number of HTTP requests", _HTTP, unit="requests",
)
INFERENCE = _m(
    "inference_total", C, "Total number of LLM inferences", ("model", "strategy", "status", "cached"),
    unit="requests", enums={"status": ("success", "error"), "cached": ("true", "false")},
)
INFERENCE_DURATION = _m(
    "inference_duration_seconds", H, "Duration of LLM inferences in seconds", _MS,
    (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120), unit="seconds", otel="gen_ai.server.request.duration",
)
TOKENS_GENERATED = _m(
    "tokens_generated_total", C, "Total number of tokens generated", _MS, unit="tokens",
)
TOKENS_PER_SECOND = _m(
    "tokens_per_second", H, "Tokens generated per second", ("model",),
    (1, 5, 10, 20, 50, 100, 200, 500), unit="tokens_per_second",
)
MODELS_LOADED = _m(
    "models_loaded", G, "Number of models currently loaded", ("format", "size_category"),
    unit="models", enums={"size_category": tuple(n for n, _ in SIZE_CATEGORIES)},
)
MODEL_LOAD_DURATION = _m(
    "model_load_duration_seconds", H, "Duration of model loading operations", ("model", "format"),
    (1, 5, 10, 30, 60, 120, 300, 600), unit="seconds",
)
MODEL_MEMORY = _m(
    "model_memory_bytes", G, "Memory usage by model in bytes", ("model", "format"), unit="bytes",
)
CACHE_HITS = _m("cache_hits_total", C, "Total number of cache hits", ("cache_type",), unit="requests")
CACHE_MISSES = _m("cache_misses_total", C, "Total number of cache misses", ("cache_type",), unit="requests")
CACHE_SIZE = _m("cache_size_bytes", G, "Current cache size in bytes", ("cache_type",), unit="bytes")
ACTIVE_CONNECTIONS = _m(
    "active_connections", G, "Number of active connections", ("type", "protocol"), unit="connections",
)
CONNECTION_DURATION = _m(
    "connection_duration_seconds", H, "Duration of connections in seconds", ("type", "protocol"),
    (1, 10, 30, 60, 300, 600, 1800, 3600), unit="seconds",
)
ERRORS = _m(
    "errors_total", C, "Total number of errors", ("type", "component", "severity"), unit="errors",
    enums={"type": ERROR_TYPES, "severity": ("critical", "error", "warning")},
)
QUEUE_SIZE = _m("queue_size", G, "Current queue size", ("queue_type",), unit="requests")
INFERENCES_IN_PROGRESS = _m(
    "inferences_in_progress", G, "Inferences started and not finished yet, queued or running", unit="requests",
)
QUEUE_PROCESSING = _m(
    "queue_processing_seconds", H, "Time spent processing queue items", ("queue_type",),
    (0.01, 0.1, 0.5, 1, 5, 10, 30), unit="seconds",
)

# --- LLM signals the seed lacked ------------------------------------------------------
TIME_TO_FIRST_TOKEN = _m(
    "time_to_first_token_seconds", H, "Time from request start to the first output token", _MB,
    OTEL_TTFT_BUCKETS, unit="seconds", otel="gen_ai.server.time_to_first_token",
)
TIME_PER_OUTPUT_TOKEN = _m(
    "time_per_output_token_seconds", H, "Time per output token after the first", _MB,
    OTEL_TPOT_BUCKETS, unit="seconds", otel="gen_ai.server.time_per_output_token",
)
TOKENS = _m(
    "tokens_total", C, "Tokens processed, by direction (input prompt vs output completion)",
    ("model", "backend", "token_type"), unit="tokens", enums={"token_type": ("input", "output")},
    otel="gen_ai.client.token.usage (sum, by gen_ai.token.type)",
)
BACKEND_REQUEST_DURATION = _m(
    "backend_request_duration_seconds", H, "Duration of one request to a model backend",
    ("model", "backend", "status"), OTEL_OPERATION_BUCKETS, unit="seconds",
    enums={"status": ("success", "error")}, otel="gen_ai.client.operation.duration",
)
COST = _m(
    "cost_usd_total", C, "Estimated spend in US dollars", _MB, unit="usd",
)
FALLBACKS = _m(
    "fallbacks_total", C, "Requests moved from one backend to another",
    ("from_backend", "to_backend", "reason"), unit="requests",
    enums={"reason": ("error", "timeout", "rate_limited", "unavailable")},
)
RETRIES = _m(
    "retries_total", C, "Retries of a backend request", ("backend", "reason"), unit="requests",
    enums={"reason": ("error", "timeout", "rate_limited")},
)
RATE_LIMITED = _m(
    "rate_limited_total", C, "Requests refused by a backend's rate limit", ("backend",), unit="requests",
)
RATE_LIMIT_REMAINING = _m(
    "rate_limit_remaining", G, "Remaining rate-limit budget reported by a backend",
    ("backend", "limit_type"), unit="requests", enums={"limit_type": ("requests", "tokens")},
)
BACKEND_STATE = _m(
    "backend_state", G, "Backend health state (1 for the current state, 0 otherwise)",
    ("backend", "state"), unit="state", enums={"state": BACKEND_STATES},
)
BACKEND_UP = _m("backend_up", G, "1 when the backend accepts requests, else 0", ("backend",), unit="bool")
HEALTH_CHECK_UP = _m("health_check_up", G, "1 when the named health check passes", ("check",), unit="bool")

# --- instrumentation self-metrics ------------------------------------------------------
INSTRUMENTATION_ERRORS = _m(
    "instrumentation_errors_total", C, "Errors swallowed inside the instrumentation", ("operation",),
    unit="errors",
)
SERIES_OVERFLOW = _m(
    "series_overflow_total", C, "Observations folded into 'other' because a metric hit its series bound",
    ("metric",), unit="samples",
)
LOG_EVENTS_DROPPED = _m(
    "log_events_dropped_total", C, "Log events dropped because the log queue was full", ("stream",),
    unit="events",
)
#: Sampled spans from their end to their export: what ended and was not exported successfully
#: was lost (export queue full, collector down, slow or refusing, or a stuck exporter).
TRACE_SPAN_SUCCESS, TRACE_SPAN_FAILURE = "success", "failure"
TRACE_SPAN_OUTCOMES: tuple[str, ...] = (TRACE_SPAN_SUCCESS, TRACE_SPAN_FAILURE)
TRACE_SPANS_ENDED = _m(
    "trace_spans_ended_total", C, "Sampled spans ended and handed to the batch span processor", unit="spans",
    otel="otel.sdk.span.ended (sampled spans only)",
)
TRACE_SPANS_EXPORTED = _m(
    "trace_spans_exported_total", C, "Spans the trace exporter sent, by outcome", ("outcome",), unit="spans",
    enums={"outcome": TRACE_SPAN_OUTCOMES}, otel="otel.sdk.exporter.span.exported",
)

# --- process metrics (prometheus_client ProcessCollector with the llm_router namespace) --
PROCESS_RESIDENT_MEMORY = _m(
    "process_resident_memory_bytes", G, "Resident memory size in bytes", unit="bytes", collected=True,
)
PROCESS_VIRTUAL_MEMORY = _m(
    "process_virtual_memory_bytes", G, "Virtual memory size in bytes", unit="bytes", collected=True,
)
PROCESS_CPU = _m(
    "process_cpu_seconds_total", C, "Total user and system CPU time in seconds", unit="seconds",
    collected=True,
)
PROCESS_OPEN_FDS = _m("process_open_fds", G, "Number of open file descriptors", unit="fds", collected=True)
PROCESS_MAX_FDS = _m("process_max_fds", G, "Maximum number of open file descriptors", unit="fds", collected=True)
PROCESS_START_TIME = _m(
    "process_start_time_seconds", G, "Start time of the process since unix epoch in seconds",
    unit="seconds", collected=True,
)

# --- Python runtime (app_instrumentation.runtime.RuntimeCollector), the counterpart of the seed's
# heap/GC metrics: CPython's collector statistics per generation and the time it pauses the process.
GC_GENERATIONS: tuple[str, ...] = ("0", "1", "2")
PYTHON_GC_COLLECTIONS = _m(
    "python_gc_collections_total", C, "Garbage collector runs, by generation", ("generation",), unit="collections",
    enums={"generation": GC_GENERATIONS}, collected=True,
)
PYTHON_GC_OBJECTS_COLLECTED = _m(
    "python_gc_objects_collected_total", C, "Objects the garbage collector freed, by generation", ("generation",),
    unit="objects", enums={"generation": GC_GENERATIONS}, collected=True,
)
PYTHON_GC_OBJECTS_UNCOLLECTABLE = _m(
    "python_gc_objects_uncollectable_total", C, "Unreachable objects the garbage collector could not free, "
    "by generation", ("generation",), unit="objects", enums={"generation": GC_GENERATIONS}, collected=True,
)
PYTHON_GC_PAUSE = _m(
    "python_gc_pause_seconds_total", C, "Time the process spent paused in garbage collection, by generation",
    ("generation",), unit="seconds", enums={"generation": GC_GENERATIONS}, collected=True,
)

METRICS: tuple[MetricSpec, ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, MetricSpec)
)
BY_NAME: Mapping[str, MetricSpec] = MappingProxyType({m.name: m for m in METRICS})

#: Every sample name (histogram _bucket/_sum/_count included) the router exposes.
SAMPLE_NAMES: frozenset[str] = frozenset(s for m in METRICS for s in m.series_names)


def size_category(size_bytes: float) -> str:
    """The seed's model size buckets."""
    for name, upper in SIZE_CATEGORIES:
        if size_bytes < upper:
            return name
    return SIZE_CATEGORIES[-1][0]
