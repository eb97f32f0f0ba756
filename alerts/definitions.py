"""The threshold alerts: the seed's twelve (names, prod thresholds and ``for`` kept) and the
LLM-signal, availability, Kubernetes and self-monitoring alerts, each with the probe its
generated tests use.

Fixes over the seed, intent kept:

* latency quantiles sum the buckets across instances (``sum by (le)``) first, and latency
  alerts do not resolve because nothing completes any more (a stalled router has no p95: the
  alert then reads +Inf while inferences are in progress and none finishes);
* HighErrorRate/CriticalErrorRate page on server-side failures only (``errors_total`` with a
  failure severity, never a client's validation error, never a backend attempt a retry or
  fallback fixed) as a share of inferences, and only above the seed's absolute rate (the
  ``floor``), so a busy router does not page on a handful of errors and an idle one not on one;
* queue alerts are relative to the env's ``router.queueCapacity`` when it is known (50 % / 90 %
  of it; the seed's 100 / 500 otherwise);
* error/fallback/token/cache alerts aggregate across instances (``sum``), per-process
  signals (memory, queue, ``up``, stall) stay per instance (per pod in Kubernetes);
* LowTokenGeneration and LowCacheHitRate are armed only while there is traffic, so an idle
  router never pages;
* descriptions print values with their unit (errors per second are not percentages).

Descriptions are templates: ``{value}`` is the alert's value (``printf "%.2f"``, or a percentage
for shares), ``{threshold}``/``{floor}`` the configured ones, ``{<label>}`` a label of the alert.
"""

from __future__ import annotations

from collections.abc import Mapping

from alerts.engine_alerts import ENGINE_SPECS
from alerts.model import Severity
from alerts.probes import (
    TARGET,
    GaugeProbe,
    QuantileProbe,
    RateProbe,
    RatioProbe,
    ShareDownProbe,
    StallProbe,
    StateProbe,
    TerminationProbe,
    UsageProbe,
)
from alerts.profiles import Profile
from alerts.promql import one_of, quantile, rate_of, selector, share_or_zero, sum_rate, sum_rate_of
from alerts.spec import AlertSpec, Expr, Format
from app_instrumentation import catalog as c
from foundation import alert_names as n
from foundation import exporter_metrics as x

SERVICE = "llm-router"
ROUTER_JOB = "llm-router"

# Fixed Grafana dashboard uids (cross-team contract).
OVERVIEW = "llm-router-overview"
MODEL_PERFORMANCE = "llm-model-performance"
SYSTEM = "llm-router-system"
QOS = "llm-qos"
SLO = "llm-slo"

GIB = 2**30

def _twin(severity: Severity, warning: str, critical: str) -> str:
    return critical if severity is Severity.CRITICAL else warning


# --- expressions --------------------------------------------------------------------------
#: Router pods only: exporter series are joined to the targets of the router's scrape job.
ROUTER_UP = selector("up", {"job": ROUTER_JOB})
#: ``errors_total`` of requests the router failed on the server side (see ``catalog.FAILURE_SEVERITIES``).
SERVER_FAILURES = selector(c.ERRORS.name, regex={"severity": one_of(c.FAILURE_SEVERITIES)},
                           not_regex={"type": one_of(c.CLIENT_ERROR_TYPES)})
CLIENT_ERRORS = selector(c.ERRORS.name, regex={"type": one_of(c.CLIENT_ERROR_TYPES)})


def stalled(p: Profile, by: str = "") -> str:
    """Inferences in progress for a whole window while none finished (``by``: per instance).

    ``offset`` makes a router younger than the window not stalled yet: ``min_over_time`` and
    ``increase`` only see the samples it has."""
    w = p.window("5m")
    busy = c.INFERENCES_IN_PROGRESS.name
    if by:
        return (f"min_over_time({busy}[{w}]) > 0\nand on ({by})\n{busy} offset {w}\nunless on ({by})\n"
                f"sum by ({by}) (increase({c.INFERENCE.name}[{w}])) > 0")
    return (f"sum(min_over_time({busy}[{w}])) > 0\nand\nsum({busy} offset {w})\nunless\n"
            f"sum(increase({c.INFERENCE.name}[{w}])) > 0")


def _p95_latency(p: Profile, t: float) -> str:
    # Nothing finishing is no reason to resolve: while stalled the alert reads +Inf.
    return f"{quantile('0.95', c.INFERENCE_DURATION, p.window('5m'))} > {t:g}\nor\n({stalled(p)}) * +Inf"


def _memory_gib(p: Profile, t: float) -> str:
    return f"{c.PROCESS_RESIDENT_MEMORY.name} / {GIB} > {t:g}"


def _queue(p: Profile, t: float) -> str:
    return f"{c.QUEUE_SIZE.name} > {t:g}"


def _cache_hit_ratio(p: Profile, t: float) -> str:
    hits, misses = (sum_rate(m.name, p.window("10m")) for m in (c.CACHE_HITS, c.CACHE_MISSES))
    # Armed only while there are lookups: an idle cache has no hit ratio to be low.
    return f"{hits} / ({hits} + {misses}) < {t:g} and ({hits} + {misses}) > 0"


#: LowTokenGeneration is armed only while at least this many inferences/s succeed: at a quiet
#: night's few requests a minute the token rate is low because traffic is, not generation (the
#: alert-quality scorecard's idle-night scenario fired the seed's unguarded rule).
TOKEN_RATE_MIN_SERVED = 0.5


def _token_rate(p: Profile, t: float) -> str:
    tokens = sum_rate(c.TOKENS_GENERATED.name, p.window("5m"))
    served = sum_rate(c.INFERENCE.name, p.window("5m"), status="success")
    # Armed only while enough inferences succeed: little traffic means few tokens, not slow tokens.
    return f"{tokens} < {t:g} and {served} > {TOKEN_RATE_MIN_SERVED:g}"


def _per_second(metric: c.MetricSpec, window: str, labels: tuple[str, ...] = ()) -> Expr:
    return lambda p, t: f"{sum_rate(metric.name, p.window(window), labels)} > {t:g}"


def _failure_share(p: Profile, t: float, floor: float) -> str:
    w = p.window("5m")
    failures, inferences = sum_rate_of(SERVER_FAILURES, w), sum_rate(c.INFERENCE.name, w)
    return f"{failures}\n/\n{inferences}\n> {t:g}\nand\n{failures} > {floor:g}"


def _client_error_share(p: Profile, t: float, floor: float) -> str:
    w = p.window("5m")
    rejected = sum_rate_of(CLIENT_ERRORS, w)
    requests = f"({rejected} + ({sum_rate(c.INFERENCE.name, w)} or vector(0)))"
    return f"{rejected}\n/\n{requests}\n> {t:g}\nand\n{rejected} > {floor:g}"


def _span_export_share(p: Profile, t: float) -> str:
    w = p.window("10m")
    # Per scrape target (every label but ``outcome`` kept, pod and namespace too): each router
    # process has its own span queue and exporter, and summed over a fleet one pod that cannot
    # reach the collector (its node's network policy, its full queue) hides among those that can.
    ended = rate_of(c.TRACE_SPANS_ENDED.name, w)
    success = selector(c.TRACE_SPANS_EXPORTED.name, {"outcome": c.TRACE_SPAN_SUCCESS})
    exported = f"sum without (outcome) ({rate_of(success, w)})"
    # Reads 0 when no export ever succeeded; armed only while spans end (no tracing, idle: no loss).
    return f"{share_or_zero(exported, ended)}\n< {t:g}\nand\n{ended} > 0"


def _instances_down(p: Profile, t: float) -> str:
    # absent(): no router target at all (every pod gone, a selector that matches nothing) is 100 % down,
    # once Prometheus scrapes anything at all (right after its start nothing has an ``up`` yet).
    return f"(1 - avg by (job) ({ROUTER_UP})) > {t:g}\nor\nabsent({ROUTER_UP}) and on () count(up) > 0"


def _restarts(p: Profile, t: float) -> str:
    increase = f"increase({x.CONTAINER_RESTARTS.name}[{p.window('15m')}])"
    return f"sum by (namespace, pod) ({increase}) > {t:g}\nand on (namespace, pod)\n{ROUTER_UP}"


def _oom_killed(p: Profile, t: float) -> str:
    reason = selector(x.CONTAINER_LAST_TERMINATED_REASON.name, {"reason": "OOMKilled"})
    restarted = f"increase({x.CONTAINER_RESTARTS.name}[{p.window('10m')}]) > 0"
    return (f"max by (namespace, pod, container) ({reason}) == 1\nand on (namespace, pod, container)\n"
            f"({restarted})\nand on (namespace, pod)\n{ROUTER_UP}")


def _cpu_throttling(p: Profile, t: float) -> str:
    keys = "namespace, pod, container"
    used = sum_rate(c.PROCESS_CPU.name, p.window("5m"), ("namespace", "pod", "container"))
    limit = f"sum by ({keys}) ({selector(x.CONTAINER_RESOURCE_LIMITS.name, {'resource': 'cpu'})})"
    return f"{used}\n/ on ({keys})\n{limit}\n> {t:g}"


def _node_pressure(p: Profile, t: float) -> str:
    conditions = selector(x.NODE_CONDITION.name, {"status": "true"},
                          regex={"condition": one_of(x.PRESSURE_CONDITIONS)})
    return f"max by (node, condition) ({conditions}) == 1\nand on (node)\n{ROUTER_UP}"


# --- probes' example series -----------------------------------------------------------------
_HIST = {"model": "llama-3-8b", "strategy": "balanced"}
_FAILURE = {"type": "backend_error", "component": "llm_router", "severity": "error"}
_INFERENCES = {**_HIST, "status": "success", "cached": "false"}
_QUEUE = {"queue_type": "inference"}
_CACHE = {"cache_type": "response"}
_BACKEND = {"backend": "openai"}
#: A router pod as the router job labels it, and as kube-state-metrics names it.
_POD = {"namespace": "llm-router-prod", "pod": "llm-router-7d9-abc"}
_CONTAINER = {**_POD, "container": "router"}
_KSM = {"job": x.KUBE_STATE_METRICS, "instance": "kube-state-metrics:8080", "uid": "1f2e"}
_ROUTER_POD_UP = (("up", {**_POD, "node": "node-a"}, 1.0),)


def _error_rate(name: str, severity: Severity, share: float, floor: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "error_rate", OVERVIEW,
        f"{_twin(severity, 'High', 'Critical')} router error rate",
        "{value} of inferences failed on the server side over 5m across all instances (threshold {threshold}), "
        "at more than {floor} failures/s. Client errors (4xx) and backend attempts a retry or fallback "
        "recovered do not count.",
        _failure_share, RatioProbe(part=(c.ERRORS.name, _FAILURE), whole=(c.INFERENCE.name, _INFERENCES)),
        share, for_, floor=floor, value_format=Format.PERCENT,
    )


def _response_time(name: str, severity: Severity, threshold: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "inference_latency", MODEL_PERFORMANCE,
        f"{_twin(severity, 'High', 'Critical')} inference response time",
        "95th percentile inference duration is {value}s across all instances (threshold {threshold}s); "
        "+Inf: none finished in the window while inferences were in progress (see RouterStalled).",
        _p95_latency, QuantileProbe(spec=c.INFERENCE_DURATION, labels=_HIST), threshold, for_,
    )


def _memory(name: str, severity: Severity, threshold: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "memory", SYSTEM,
        f"{_twin(severity, 'High', 'Critical')} router memory usage",
        "Router {instance} uses {value} GiB resident memory (threshold {threshold} GiB).",
        _memory_gib, GaugeProbe(name=c.PROCESS_RESIDENT_MEMORY.name, scale=GIB, out_labels=dict(TARGET)),
        threshold, for_,
    )


def _queue_size(name: str, severity: Severity, threshold: float, capacity_share: float, for_: str) -> AlertSpec:
    return AlertSpec(
        name, severity, "queue_size", OVERVIEW,
        f"{_twin(severity, 'High', 'Critical')} request queue size",
        "Queue {queue_type} on {instance} holds {value} requests (threshold {threshold}).",
        _queue, GaugeProbe(name=c.QUEUE_SIZE.name, labels=_QUEUE, out_labels={**dict(TARGET), **_QUEUE}),
        threshold, for_, capacity_share=capacity_share,
    )


SPECS: tuple[AlertSpec, ...] = (
    # Shares: warning at 5 % (10x the 99.5 % SLO's budget), page at 20 % (one inference in five fails);
    # floors: the seed's absolute rates.
    _error_rate(n.HIGH_ERROR_RATE, Severity.WARNING, 0.05, 0.1, "2m"),
    _error_rate(n.CRITICAL_ERROR_RATE, Severity.CRITICAL, 0.2, 0.5, "1m"),
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
    _queue_size(n.HIGH_QUEUE_SIZE, Severity.WARNING, 100, 0.5, "2m"),
    _queue_size(n.CRITICAL_QUEUE_SIZE, Severity.CRITICAL, 500, 0.9, "30s"),
    AlertSpec(
        n.SERVICE_DOWN, Severity.CRITICAL, "service_down", OVERVIEW, "LLM Router instance is down",
        "Prometheus cannot scrape {instance} (job {job}).",
        lambda p, t: f"{ROUTER_UP} == 0",
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
    # --- availability -----------------------------------------------------------------
    AlertSpec(
        n.ROUTER_INSTANCES_DOWN, Severity.CRITICAL, "instances_down", OVERVIEW, "Most router instances are down",
        "{value} of the router's scrape targets are down (threshold {threshold}); 100% also when Prometheus "
        "finds no router target at all.",
        _instances_down, ShareDownProbe(labels={"job": ROUTER_JOB}, out_labels={"job": ROUTER_JOB}), 0.5, "1m",
        value_format=Format.PERCENT,
    ),
    AlertSpec(
        n.ROUTER_STALLED, Severity.CRITICAL, "stall", OVERVIEW, "Router stalled: inferences in progress, none finishes",
        "Router {instance} has had inferences in progress (at least {value}) for 5m and finished none: "
        "backends hang, the event loop is blocked or a lock is held.",
        lambda p, t: stalled(p, by="job, instance"),
        StallProbe(in_progress=c.INFERENCES_IN_PROGRESS.name, completions=(c.INFERENCE.name, _INFERENCES),
                   out_labels=dict(TARGET)),
        None, "1m",
    ),
    AlertSpec(
        n.HIGH_CLIENT_ERROR_RATE, Severity.WARNING, "client_errors", OVERVIEW, "Clients send many invalid requests",
        "{value} of inference requests were rejected as invalid over 5m (threshold {threshold}), at more than "
        "{floor} rejections/s: a client release or integration is probably broken.",
        _client_error_share,
        RatioProbe(part=(c.ERRORS.name, {"type": "validation_error", "component": "api", "severity": "warning"}),
                   rest=(c.INFERENCE.name, _INFERENCES)),
        0.5, "15m", floor=1.0, value_format=Format.PERCENT,
    ),
    # --- router pods in Kubernetes (kube-state-metrics) ---------------------------------------
    AlertSpec(
        n.ROUTER_POD_RESTARTING, Severity.WARNING, "pod_restarts", SYSTEM, "Router pod keeps restarting",
        "Router pod {namespace}/{pod} restarted {value} times in 15m (threshold {threshold}).",
        _restarts,
        RateProbe(names=(x.CONTAINER_RESTARTS.name,), labels={**_CONTAINER, **_KSM}, scale=900,
                  out_labels=_POD, context=_ROUTER_POD_UP),
        2, "5m",
    ),
    AlertSpec(
        n.ROUTER_OOM_KILLED, Severity.WARNING, "oom_killed", SYSTEM, "Router container OOM-killed",
        "Container {container} of router pod {namespace}/{pod} was killed for exceeding its memory limit "
        "and restarted in the last 10m.",
        _oom_killed,
        TerminationProbe(reason_metric=x.CONTAINER_LAST_TERMINATED_REASON.name,
                         restarts_metric=x.CONTAINER_RESTARTS.name, labels={**_CONTAINER, **_KSM},
                         out_labels=_CONTAINER, context=_ROUTER_POD_UP),
        None, "1m",
    ),
    AlertSpec(
        n.ROUTER_CPU_THROTTLING, Severity.WARNING, "cpu_throttling", SYSTEM, "Router at its CPU limit",
        "Router pod {namespace}/{pod} uses {value} of its CPU limit over 5m (threshold {threshold}): the kernel "
        "throttles it, which adds latency to every request.",
        _cpu_throttling,
        UsageProbe(counter=(c.PROCESS_CPU.name, _CONTAINER),
                   limit=(x.CONTAINER_RESOURCE_LIMITS.name,
                          {**_CONTAINER, **_KSM, "node": "node-a", "resource": "cpu", "unit": "core"}),
                   out_labels=_CONTAINER),
        0.9, "15m", value_format=Format.PERCENT,
    ),
    AlertSpec(
        n.ROUTER_NODE_PRESSURE, Severity.WARNING, "node_pressure", SYSTEM, "Node of a router pod under pressure",
        "Node {node}, which runs router pods, reports {condition}: the kubelet is about to evict pods.",
        _node_pressure,
        StateProbe(name=x.NODE_CONDITION.name, labels={**_KSM, "node": "node-a", "condition": "MemoryPressure",
                                                        "status": "true"},
                   bad=1, out_labels={"node": "node-a", "condition": "MemoryPressure"},
                   context=(("up", {**_POD, "node": "node-a"}, 1.0),)),
        None, "5m",
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
    # The batch processor exports a span within seconds (5 s schedule, 512-span batches): over 10m
    # the spans still queued are about 1 % of those ended, so 95 % exported means a real loss.
    AlertSpec(
        n.TRACE_SPANS_LOST, Severity.WARNING, "span_loss", SYSTEM, "Spans are not reaching the trace backend",
        "Router {instance} exported only {value} of the sampled spans it ended over 10m (threshold {threshold}): "
        "the trace collector is down, slow or refusing them, or the export queue is full.",
        _span_export_share,
        RatioProbe(op="<", part=(c.TRACE_SPANS_EXPORTED.name, {"outcome": c.TRACE_SPAN_SUCCESS}),
                   whole=(c.TRACE_SPANS_ENDED.name, {}), out_labels=dict(TARGET)),
        0.95, "10m", value_format=Format.PERCENT,
    ),
)

SPECS = (*SPECS, *ENGINE_SPECS)  # the engines behind the backends and their GPUs
BY_NAME: Mapping[str, AlertSpec] = {s.name: s for s in SPECS}
