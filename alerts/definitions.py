"""The threshold alerts: the seed's twelve (names, prod thresholds and ``for`` kept) and the
LLM-signal and self-monitoring alerts, each with the probe its generated tests use.

Fixes over the seed, intent kept:

* latency quantiles sum the buckets across instances (``sum by (le)``) first;
* error/fallback/token/cache alerts aggregate across instances (``sum``), per-process
  signals (memory, queue, ``up``) stay per instance;
* LowTokenGeneration and LowCacheHitRate are armed only while there is traffic, so an idle
  router never pages;
* descriptions print values with their unit (errors per second are not percentages).

Descriptions are templates: ``{value}`` is the alert's value (``printf "%.2f"``),
``{threshold}`` the configured threshold, ``{<label>}`` a label of the alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from alerts.model import Severity
from alerts.probes import TARGET, GaugeProbe, Probe, QuantileProbe, RateProbe, RatioProbe, StateProbe
from alerts.profiles import Profile
from alerts.promql import quantile, selector, sum_rate
from app_instrumentation import catalog as c
from foundation import alert_names as n

SERVICE = "llm-router"
ROUTER_JOB = "llm-router"

# Fixed Grafana dashboard uids (cross-team contract).
OVERVIEW = "llm-router-overview"
MODEL_PERFORMANCE = "llm-model-performance"
SYSTEM = "llm-router-system"
QOS = "llm-qos"
SLO = "llm-slo"

GIB = 2**30

Expr = Callable[[Profile, float], str]


@dataclass(frozen=True)
class AlertSpec:
    name: str
    severity: Severity
    #: Shared by warning/critical twins so that inhibition can match them.
    signal: str
    dashboard: str
    summary: str
    description: str
    expr: Expr
    probe: Probe
    threshold: float | None
    for_: str | None


def _p95_latency(p: Profile, t: float) -> str:
    return f"{quantile('0.95', c.INFERENCE_DURATION, p.window('5m'))} > {t:g}"


def _memory_gib(p: Profile, t: float) -> str:
    return f"{c.PROCESS_RESIDENT_MEMORY.name} / {GIB} > {t:g}"


def _queue(p: Profile, t: float) -> str:
    return f"{c.QUEUE_SIZE.name} > {t:g}"


def _cache_hit_ratio(p: Profile, t: float) -> str:
    hits, misses = (sum_rate(m.name, p.window("10m")) for m in (c.CACHE_HITS, c.CACHE_MISSES))
    # Armed only while there are lookups: an idle cache has no hit ratio to be low.
    return f"{hits} / ({hits} + {misses}) < {t:g} and ({hits} + {misses}) > 0"


def _token_rate(p: Profile, t: float) -> str:
    tokens = sum_rate(c.TOKENS_GENERATED.name, p.window("5m"))
    served = sum_rate(c.INFERENCE.name, p.window("5m"), status="success")
    # Armed only while inferences succeed: no traffic means no tokens, not slow tokens.
    return f"{tokens} < {t:g} and {served} > 0"


def _per_second(metric: c.MetricSpec, window: str, labels: tuple[str, ...] = ()) -> Expr:
    return lambda p, t: f"{sum_rate(metric.name, p.window(window), labels)} > {t:g}"


_HIST = {"model": "llama-3-8b", "strategy": "balanced"}
_ERRORS = {"type": "backend_error", "component": "engine", "severity": "error"}
_QUEUE = {"queue_type": "inference"}
_CACHE = {"cache_type": "response"}
_BACKEND = {"backend": "openai"}


def _error_rate(name: str, severity: Severity, threshold: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "error_rate", OVERVIEW,
        f"{'Critical' if severity is Severity.CRITICAL else 'High'} router error rate",
        "The router reports {value} errors/s across all instances (threshold {threshold}/s).",
        _per_second(c.ERRORS, "5m"), RateProbe(names=(c.ERRORS.name,), labels=_ERRORS), threshold, for_,
    )


def _response_time(name: str, severity: Severity, threshold: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "inference_latency", MODEL_PERFORMANCE,
        f"{'Critical' if severity is Severity.CRITICAL else 'High'} inference response time",
        "95th percentile inference duration is {value}s across all instances (threshold {threshold}s).",
        _p95_latency, QuantileProbe(spec=c.INFERENCE_DURATION, labels=_HIST), threshold, for_,
    )


def _memory(name: str, severity: Severity, threshold: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "memory", SYSTEM,
        f"{'Critical' if severity is Severity.CRITICAL else 'High'} router memory usage",
        "Router {instance} uses {value} GiB resident memory (threshold {threshold} GiB).",
        _memory_gib, GaugeProbe(name=c.PROCESS_RESIDENT_MEMORY.name, scale=GIB, out_labels=dict(TARGET)),
        threshold, for_,
    )


def _queue_size(name: str, severity: Severity, threshold: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "queue_size", OVERVIEW,
        f"{'Critical' if severity is Severity.CRITICAL else 'High'} request queue size",
        "Queue {queue_type} on {instance} holds {value} requests (threshold {threshold}).",
        _queue, GaugeProbe(name=c.QUEUE_SIZE.name, labels=_QUEUE, out_labels={**dict(TARGET), **_QUEUE}),
        threshold, for_,
    )


SPECS: tuple[AlertSpec, ...] = (
    _error_rate(n.HIGH_ERROR_RATE, Severity.WARNING, 0.1, "2m"),
    _error_rate(n.CRITICAL_ERROR_RATE, Severity.CRITICAL, 0.5, "1m"),
    _response_time(n.HIGH_RESPONSE_TIME, Severity.WARNING, 30, "3m"),
    _response_time(n.CRITICAL_RESPONSE_TIME, Severity.CRITICAL, 60, "1m"),
    _memory(n.HIGH_MEMORY_USAGE, Severity.WARNING, 3, "5m"),
    _memory(n.CRITICAL_MEMORY_USAGE, Severity.CRITICAL, 7, "1m"),
    AlertSpec(
        n.NO_MODELS_LOADED, Severity.CRITICAL, "models_loaded", MODEL_PERFORMANCE, "No models loaded",
        "The router has {value} models loaded (minimum {threshold}).",
        lambda p, t: f"sum({c.MODELS_LOADED.name}) < {t:g}",
        GaugeProbe(op="<", name=c.MODELS_LOADED.name, labels={"format": "gguf", "size_category": "small"}),
        1, "1m",
    ),
    AlertSpec(
        n.LOW_CACHE_HIT_RATE, Severity.WARNING, "cache_hit_rate", OVERVIEW, "Low cache hit rate",
        "Cache hit ratio is {value} of lookups (threshold {threshold}) while the cache is in use.",
        _cache_hit_ratio,
        RatioProbe(op="<", part=(c.CACHE_HITS.name, _CACHE), rest=(c.CACHE_MISSES.name, _CACHE)),
        0.5, "10m",
    ),
    _queue_size(n.HIGH_QUEUE_SIZE, Severity.WARNING, 100, "2m"),
    _queue_size(n.CRITICAL_QUEUE_SIZE, Severity.CRITICAL, 500, "30s"),
    AlertSpec(
        n.SERVICE_DOWN, Severity.CRITICAL, "service_down", OVERVIEW, "LLM Router instance is down",
        "Prometheus cannot scrape {instance} (job {job}).",
        lambda p, t: f"{selector('up', {'job': ROUTER_JOB})} == 0",
        StateProbe(name="up", bad=0, out_labels=dict(TARGET)), None, "1m",
    ),
    AlertSpec(
        n.LOW_TOKEN_GENERATION, Severity.WARNING, "token_rate", MODEL_PERFORMANCE, "Low token generation rate",
        "The router generates {value} tokens/s while serving requests (threshold {threshold} tokens/s).",
        _token_rate,
        RateProbe(op="<", names=(c.TOKENS_GENERATED.name,), labels=_HIST,
                  traffic=((c.INFERENCE.name, {**_HIST, "status": "success", "cached": "false"}),)),
        10, "5m",
    ),
    # --- LLM signals -----------------------------------------------------------------
    AlertSpec(
        n.BACKEND_DOWN, Severity.WARNING, "backend_down", QOS, "Model backend down",
        "Backend {backend} is down for every router instance; requests fall back to other backends.",
        lambda p, t: f"max by (backend) ({c.BACKEND_UP.name}) == 0",
        StateProbe(name=c.BACKEND_UP.name, labels=_BACKEND, bad=0, out_labels=_BACKEND), None, "2m",
    ),
    AlertSpec(
        n.BACKEND_COOLING_DOWN, Severity.WARNING, "backend_cooling_down", QOS, "Model backend cooling down",
        "The circuit breaker keeps backend {backend} cooling down.",
        lambda p, t: f"max by (backend) ({selector(c.BACKEND_STATE.name, {'state': 'cooling_down'})}) == 1",
        StateProbe(name=c.BACKEND_STATE.name, labels={**_BACKEND, "state": "cooling_down"}, bad=1,
                   out_labels=_BACKEND),
        None, "5m",
    ),
    AlertSpec(
        n.HIGH_FALLBACK_RATE, Severity.WARNING, "fallback_rate", QOS, "Many requests fall back to another backend",
        "{value} fallbacks per inference (threshold {threshold}).",
        lambda p, t: f"{sum_rate(c.FALLBACKS.name, p.window('5m'))} / {sum_rate(c.INFERENCE.name, p.window('5m'))}"
                     f" > {t:g}",
        RatioProbe(part=(c.FALLBACKS.name, {"from_backend": "vllm", "to_backend": "openai", "reason": "error"}),
                   whole=(c.INFERENCE.name, {**_HIST, "status": "success", "cached": "false"})),
        0.1, "5m",
    ),
    AlertSpec(
        n.BACKEND_RATE_LIMITED, Severity.WARNING, "rate_limiting", QOS, "Backend rate limit hit",
        "Backend {backend} refuses {value} requests/s with its rate limit (threshold {threshold}/s).",
        _per_second(c.RATE_LIMITED, "5m", ("backend",)),
        RateProbe(names=(c.RATE_LIMITED.name,), labels=_BACKEND, out_labels=_BACKEND), 0.1, "5m",
    ),
    AlertSpec(
        n.HIGH_COST_BURN, Severity.WARNING, "cost_burn", QOS, "High LLM spend",
        "Estimated spend is {value} USD/hour over the last hour (threshold {threshold} USD/hour).",
        lambda p, t: f"{sum_rate(c.COST.name, p.window('1h'))} * 3600 > {t:g}",
        RateProbe(names=(c.COST.name,), labels={"model": "gpt-4o-mini", "backend": "openai"}, scale=3600),
        25, "15m",
    ),
    # --- self-monitoring ----------------------------------------------------------------
    AlertSpec(
        n.INSTRUMENTATION_ERRORS, Severity.WARNING, "instrumentation", SYSTEM, "Instrumentation is failing",
        "The router's instrumentation swallowed {value} errors/s: metrics may be incomplete.",
        _per_second(c.INSTRUMENTATION_ERRORS, "5m"),
        RateProbe(names=(c.INSTRUMENTATION_ERRORS.name,), labels={"operation": "observe"}), 0, "10m",
    ),
    AlertSpec(
        n.METRIC_SERIES_OVERFLOW, Severity.INFO, "series_overflow", SYSTEM, "Metric series bound reached",
        "Observations of {metric} are folded into 'other' ({value}/s): raise the bound or the allow-list.",
        _per_second(c.SERIES_OVERFLOW, "15m", ("metric",)),
        RateProbe(names=(c.SERIES_OVERFLOW.name,), labels={"metric": c.INFERENCE.name},
                  out_labels={"metric": c.INFERENCE.name}),
        0, "15m",
    ),
    AlertSpec(
        n.LOG_EVENTS_DROPPED, Severity.WARNING, "log_drops", SYSTEM, "Log events dropped",
        "The router drops {value} {stream} log events/s because its log queue is full.",
        _per_second(c.LOG_EVENTS_DROPPED, "5m", ("stream",)),
        RateProbe(names=(c.LOG_EVENTS_DROPPED.name,), labels={"stream": "app"}, out_labels={"stream": "app"}),
        0, "5m",
    ),
)

BY_NAME: Mapping[str, AlertSpec] = {s.name: s for s in SPECS}
