"""A fleet of router pods as the series Prometheus would scrape from it, one scrape at a time.

Each pod is a real ``MetricsCollector`` fed typed events (inferences, failures, fallbacks,
client errors, cache lookups, queue and backend state, traced spans and their export), so the
names, label sets, buckets and zero-initialised series are exactly the router's. Process memory
and CPU (collected from the process in a real router), ``up`` and the kube-state-metrics series
a pod restart leaves are written directly, under the names ``app_instrumentation.catalog`` and
``foundation.exporter_metrics`` declare. A deterministic random generator (seeded per
scenario) adds Poisson-like noise to counts and log-normal spread to durations.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.labels import LabelPolicy
from foundation import exporter_metrics as em
from llmmon.alert_quality.engine import Timeline
from llmmon.alert_quality.fleet import PodState

JOB = "llm-router"
CONTAINER = "router"
#: The simulated fleet routes between two models over two backends with one strategy: rules
#: aggregate over these labels, and fewer label sets keep promtool's input small.
MODELS = ("chat-small", "chat-large")
BACKENDS = ("primary", "secondary")
STRATEGY = "balanced"
#: Container memory limit (the OOM kill happens at it) and CPU limit of a router pod.
MEMORY_LIMIT_BYTES = 8 * 2**30
CPU_LIMIT_CORES = 2.0
#: CPU seconds a pod spends per inference it handles (plus a small idle floor).
CPU_PER_INFERENCE_S = 0.01
#: Spans a traced inference ends (the HTTP server span and the model-call or cache-hit span),
#: and the batch span processor's schedule: spans ended in its last seconds export next scrape.
SPANS_PER_TRACED_INFERENCE = 2
SPAN_EXPORT_DELAY_S = 5.0


class BackendFailure(Exception):
    """A backend request failed; ``error_type`` is how the router classifies it."""

    error_type = "backend_error"


@dataclass
class _Pod:
    index: int
    generation: int
    restarts: int
    collector: MetricsCollector
    in_progress: list[float] = field(default_factory=list)  # start times of stalled inferences
    carry: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    spans_queued: int = 0  # ended, not exported yet

    @property
    def name(self) -> str:
        return f"{JOB}-{self.generation}-{self.index}"


def _new_collector() -> MetricsCollector:
    collector = MetricsCollector(LabelPolicy.of(MODELS, BACKENDS, (STRATEGY,)), process_metrics=False)
    collector.initialize_series()
    for model in MODELS:
        collector.model_loaded(model, "gguf", 4e9, 20.0)
    return collector


def _selector(name: str, labels: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{k}="{v}"' for k, v in sorted(labels))
    return f"{name}{{{body}}}"


@dataclass
class Simulation:
    """Runs ``state(t, pod)`` for ``pods`` pods over ``duration_s`` at ``scrape_interval_s``."""

    state: Callable[[float, int], PodState]
    pods: int
    duration_s: int
    scrape_interval_s: int
    namespace: str
    #: Metric names the rules read (others are not kept: smaller input, same result).
    wanted: frozenset[str]
    #: US dollars a model call costs at ``PodState.spend`` 1.
    usd_per_call: float = 0.0004
    seed: int = 1
    _rng: random.Random = field(init=False)
    _span_rng: random.Random = field(init=False)  # its own: tracing leaves the other events' draws as they were
    _specs: list[catalog.MetricSpec] = field(init=False)
    _fleet: dict[int, _Pod] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._span_rng = random.Random(-self.seed)
        self._specs = [spec for spec in catalog.METRICS
                       if not spec.collected and self.wanted.intersection(spec.series_names + (spec.base_name,))]
        fed = {spec.name for spec in self._specs}
        # Events whose families no rule reads are not recorded at all: most of a long run's time.
        self._feeds = {event: bool(fed & {s.name for s in specs}) for event, specs in {
            "http": (catalog.HTTP_REQUESTS, catalog.HTTP_REQUEST_DURATION),
            "backend_request": (catalog.BACKEND_REQUEST_DURATION,),
            "cache": (catalog.CACHE_HITS, catalog.CACHE_MISSES),
            "error": (catalog.ERRORS,), "fallback": (catalog.FALLBACKS,),
            "backend_state": (catalog.BACKEND_STATE, catalog.BACKEND_UP), "queue": (catalog.QUEUE_SIZE,),
            "spans": (catalog.TRACE_SPANS_ENDED, catalog.TRACE_SPANS_EXPORTED),
        }.items()}

    def run(self) -> Timeline:
        steps = self.duration_s // self.scrape_interval_s + 1
        series: dict[str, list[float | None]] = {}
        for step in range(steps):
            t = step * self.scrape_interval_s
            for index in range(self.pods):
                for selector, value in self._scrape(t, index):
                    series.setdefault(selector, [None] * steps)[step] = value
        return Timeline(self.scrape_interval_s, series)

    # --- one pod, one scrape ------------------------------------------------------------------
    def _pod(self, index: int, state: PodState) -> _Pod:
        pod = self._fleet.get(index)
        if pod is None or pod.generation != state.generation:
            pod = _Pod(index, state.generation, state.restarts, _new_collector())
        elif pod.restarts != state.restarts:  # restarted in place: same pod, a fresh process
            pod = _Pod(index, state.generation, state.restarts, _new_collector())
        self._fleet[index] = pod
        return pod

    def _scrape(self, t: float, index: int) -> list[tuple[str, float]]:
        state = self.state(t, index)
        if state.gone:
            self._fleet.pop(index, None)
            return []
        pod = self._pod(index, state)
        target = (("container", CONTAINER), ("instance", f"10.0.0.{index + 10}:9090"), ("job", JOB),
                  ("namespace", self.namespace), ("node", f"node-{index}"), ("pod", pod.name))
        out = self._kube_state(pod, state)
        out.append((_selector("up", target), 0.0 if state.down else 1.0))
        if state.down:
            return out
        self._events(pod, state, t)
        for spec in self._specs:  # only the families the rules read: a scrape of the rest is wasted
            for family in pod.collector.family(spec).metric.collect():
                for sample in family.samples:
                    if sample.name in self.wanted:
                        out.append((_selector(sample.name, (*target, *sample.labels.items())), float(sample.value)))
        for name, value in ((catalog.PROCESS_RESIDENT_MEMORY.name, state.resident_memory_bytes),
                            (catalog.PROCESS_CPU.name, pod.cpu_seconds)):
            if name in self.wanted:
                out.append((_selector(name, target), value))
        return out

    def _kube_state(self, pod: _Pod, state: PodState) -> list[tuple[str, float]]:
        """What kube-state-metrics reports of this pod's router container."""
        labels = (("container", CONTAINER), ("job", em.KUBE_STATE_METRICS), ("namespace", self.namespace),
                  ("pod", pod.name))
        out = []
        if em.CONTAINER_RESTARTS.name in self.wanted:
            out.append((_selector(em.CONTAINER_RESTARTS.name, labels), float(state.restarts)))
        if em.CONTAINER_LAST_TERMINATED_REASON.name in self.wanted and state.oom_killed:
            out.append((_selector(em.CONTAINER_LAST_TERMINATED_REASON.name, (*labels, ("reason", "OOMKilled"))), 1.0))
        if em.CONTAINER_RESOURCE_LIMITS.name in self.wanted:
            limit = (*labels, ("node", f"node-{pod.index}"), ("resource", "cpu"), ("unit", "core"))
            out.append((_selector(em.CONTAINER_RESOURCE_LIMITS.name, limit), CPU_LIMIT_CORES))
        return out

    # --- the events of one scrape interval ----------------------------------------------------
    def _count(self, pod: _Pod, key: str, rate: float) -> int:
        """Events in one interval at ``rate``/s: the fractional part carries over, plus noise."""
        mean = rate * self.scrape_interval_s + pod.carry.get(key, 0.0)
        noisy = mean + self._rng.gauss(0.0, math.sqrt(mean) * 0.5) if mean > 4 else mean
        n = max(0, math.floor(noisy))
        pod.carry[key] = max(mean - n, 0.0) if mean <= 4 else 0.0
        return n

    def _spread(self, median: float) -> float:
        return median * math.exp(self._rng.gauss(0.0, 0.45))

    def _events(self, pod: _Pod, state: PodState, t: float) -> None:
        c, rng = pod.collector, self._rng
        for backend in BACKENDS if self._feeds["backend_state"] else ():
            c.backend_state(backend, "down" if backend in state.backends_down else "healthy")
        up = [b for b in BACKENDS if b not in state.backends_down] or list(BACKENDS)
        if self._feeds["queue"]:
            c.queue_size(int(state.queue))
        for _ in range(self._count(pod, "client", state.client_errors_rps)):
            self._error(c, "validation_error", "api")
            self._http(c, 400, 0.002)
        started = self._count(pod, "inferences", state.rps)
        pod.cpu_seconds += self.scrape_interval_s * 0.02 + started * CPU_PER_INFERENCE_S
        if state.stalled:
            for _ in range(started):
                c.inference_started()
                pod.in_progress.append(t)
            return
        self._finish_stalled(pod, t)
        self._spans(pod, state, started)
        for i in range(started):
            model = MODELS[i % len(MODELS)]
            backend = up[0] if len(up) == 1 or rng.random() < 0.7 else up[1]
            ctx = InferenceContext(model=model, strategy=STRATEGY, backend=backend, prompt_tokens=state.prompt_tokens)
            c.inference_started()
            try:
                self._inference(c, ctx, state, up, backend)
            finally:
                c.inference_finished()
        self._hold_in_progress(c, state)

    def _inference(self, c: MetricsCollector, ctx: InferenceContext, state: PodState, up: list[str], backend: str) -> None:
        rng = self._rng
        if rng.random() < state.cache_hit_share:
            if self._feeds["cache"]:
                c.cache_hit()
            c.on_complete(ctx, InferenceResult(ctx.model, backend, state.output_tokens, 0.005, cached=True))
            self._http(c, 200, 0.005)
            return
        if self._feeds["cache"]:
            c.cache_miss()
        if rng.random() < state.failure_share:
            self._backend_request(c, ctx.model, backend, "error", state.latency_s)
            self._error(c, "backend_error", "backend")
            # The collector times a failure from ctx.started_at: backdate it by the simulated
            # latency, so the failure lasts as long as the scenario says, not a wall-clock microsecond.
            ctx.started_at = time.perf_counter() - state.latency_s
            c.on_error(ctx, BackendFailure("every backend failed"))
            self._http(c, 502, state.latency_s)
            return
        if rng.random() < state.recovered_share and len(up) > 1:
            failed, backend = backend, next(b for b in up if b != backend)
            self._backend_request(c, ctx.model, failed, "error", state.latency_s / 4)
            self._error(c, "backend_error", "backend")
            if self._feeds["fallback"]:
                c.fallback(failed, backend, "error")
        duration = self._spread(state.latency_s)
        ttft = min(self._spread(state.ttft_s), duration)
        tokens = max(1, int(self._spread(state.output_tokens)))
        self._backend_request(c, ctx.model, backend, "success", duration)
        c.on_complete(ctx, InferenceResult(
            ctx.model, backend, tokens, duration, prompt_tokens=state.prompt_tokens, ttft_seconds=ttft,
            backend_seconds=duration, cost_usd=self.usd_per_call * state.spend,
        ))
        self._http(c, 200, duration)

    def _spans(self, pod: _Pod, state: PodState, finished: int) -> None:
        """The traced share of this interval's inferences end their spans; the batch processor
        exports those of the previous interval's last seconds and most of these, and the
        collector accepts ``span_export_share`` of them."""
        if not self._feeds["spans"]:
            return
        c, rng = pod.collector, self._span_rng
        ended = SPANS_PER_TRACED_INFERENCE * sum(rng.random() < state.traced_share for _ in range(finished))
        c.trace_spans_ended(ended)
        late = round(ended * min(1.0, SPAN_EXPORT_DELAY_S / self.scrape_interval_s))
        exported, pod.spans_queued = pod.spans_queued + ended - late, late
        accepted = sum(rng.random() < state.span_export_share for _ in range(exported))
        c.trace_spans_exported(catalog.TRACE_SPAN_SUCCESS, accepted)
        c.trace_spans_exported(catalog.TRACE_SPAN_FAILURE, exported - accepted)

    def _http(self, c: MetricsCollector, status: int, seconds: float) -> None:
        if self._feeds["http"]:
            c.http_request("POST", "/api/generate", status, seconds)

    def _backend_request(self, c: MetricsCollector, model: str, backend: str, status: str, seconds: float) -> None:
        if self._feeds["backend_request"]:
            c.backend_request(model, backend, status, self._spread(seconds))

    def _error(self, c: MetricsCollector, error_type: str, component: str) -> None:
        """A recovered or client-caused error: ``severity="warning"``, never a server-side failure."""
        if self._feeds["error"]:
            c.error(error_type, component, "warning")

    def _finish_stalled(self, pod: _Pod, t: float) -> None:
        """A stall ends: what was stuck completes now, after waiting the whole stall."""
        c = pod.collector
        for began in pod.in_progress:
            ctx = InferenceContext(model=MODELS[0], strategy=STRATEGY, backend=BACKENDS[0])
            if self._feeds["cache"]:
                c.cache_miss()
            c.on_complete(ctx, InferenceResult(MODELS[0], BACKENDS[0], 100, max(t - began, 0.1), ttft_seconds=t - began))
            c.inference_finished()
        pod.in_progress.clear()

    def _hold_in_progress(self, c: MetricsCollector, state: PodState) -> None:
        """Little's law: at ``rps`` inferences/s lasting ``latency_s`` each, that many are running."""
        target = round(state.rps * state.latency_s * (1 - state.cache_hit_share) + state.queue)
        gauge = c.family(catalog.INFERENCES_IN_PROGRESS).child()
        gauge.set(target)
