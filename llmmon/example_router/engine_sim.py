"""A vLLM-compatible engine behind a simulated backend, and its GPUs as the DCGM exporter shows them.

Each backend whose config names ``engine = "vllm"`` gets a :class:`SimulatedEngine` that the backend
reports every call to; it serves vLLM's own series (names, labels, buckets from
``foundation.engine_metrics``, pinned against vLLM's source) at ``/engines/<backend>/metrics``, and
:class:`SimulatedGpus` serves the DCGM exporter's at ``/dcgm/metrics``. This is a model, not vLLM:

* one engine per backend serves all the backend's models from one KV cache of ``kv_cache_tokens``;
* a call is *waiting* while it sits in the extra latency a ``slow`` fault injects (a slow backend is
  modelled as a saturated engine: requests queue for KV-cache blocks), then *running* (prefill, tokens);
* KV-cache usage is the engine's requests' tokens (prompt and generated) over its capacity, and near
  full (98 %) while requests wait and for ``SATURATION_HOLD_SECONDS`` after the last one waited: vLLM
  only queues when the cache has no room, and a saturated engine works off its backlog before it has
  room again. The gauge follows that level smoothly (2 s time constant), as a batch does;
* a request that has to wait behind three others preempts a running one (``vllm:num_preemptions_total``);
* every prompt starts with a 4-token chat template, cached after the engine's first request of the model;
* GPU utilisation follows the engine's load, temperature and power its utilisation; vLLM preallocates
  90 % of each GPU's memory (``--gpu-memory-utilization`` 0.9), whatever the load.

While the backend is out (``outage``), its engine's endpoint answers 503: Prometheus sees it down.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from foundation import engine_metrics as m

#: What the local stack's pod-like labels say about a simulated engine (and its GPUs' pod mapping).
NAMESPACE = "llmmon-local"
TEMPLATE_TOKENS = 4
SATURATED = 0.98
KV_TAU_SECONDS = 2.0
SATURATION_HOLD_SECONDS = 10.0
#: Requests already waiting when a new one must wait before the scheduler preempts a running one.
PREEMPT_BEHIND = 3
GPU_MODEL = "NVIDIA H100 80GB HBM3"
GPU_FB_MIB = 81559
DRIVER = "570.124.06"


def engine_pod(backend: str) -> dict[str, str]:
    """The labels the local stack gives a simulated engine's scrape target (what discovery gives in a cluster)."""
    return {"namespace": NAMESPACE, "pod": f"{backend}-engine-0", "container": "vllm", "node": f"{backend}-gpu-node"}


@dataclass
class EngineRequest:
    model: str
    prompt_tokens: int
    started: float
    waiting: bool = True
    generated: int = 0
    first_token_at: float | None = None
    last_token_at: float | None = None


@dataclass
class _KvCache:
    """The engine's KV cache: the requests holding it, the smoothed usage, when a request last waited."""

    requests: list[EngineRequest] = field(default_factory=list)
    usage: float = 0.0
    updated: float = field(default_factory=lambda: time.monotonic())
    saturated_until: float = 0.0


class SimulatedEngine(Collector):
    """vLLM's scheduler gauges (computed at scrape time), counters and histograms for one backend's models."""

    def __init__(self, backend: str, models: Iterable[str], kv_cache_tokens: int) -> None:
        self.backend = backend
        self.capacity = max(1, kv_cache_tokens)
        self.models = tuple(models)
        self.cache = _KvCache()
        #: Models whose chat template is in the prefix cache already.
        self.cached_templates: set[str] = set()
        self.registry = CollectorRegistry(auto_describe=True)
        labels = list(m.VLLM_RUNNING.labels)

        def counter(metric: m.SourceMetric, extra: tuple[str, ...] = ()) -> Counter:
            return Counter(metric.name, metric.name, [*labels, *extra], registry=self.registry)

        def histogram(metric: m.SourceMetric) -> Histogram:
            return Histogram(metric.name, metric.name, labels, buckets=metric.buckets, registry=self.registry)

        self.preemptions = counter(m.VLLM_PREEMPTIONS)
        self.prompt_tokens, self.generation_tokens = counter(m.VLLM_PROMPT_TOKENS), counter(m.VLLM_GENERATION_TOKENS)
        self.prefix_queries, self.prefix_hits = counter(m.VLLM_PREFIX_CACHE_QUERIES), counter(m.VLLM_PREFIX_CACHE_HITS)
        self.success = counter(m.VLLM_REQUEST_SUCCESS, ("finished_reason",))
        self.ttft, self.itl = histogram(m.VLLM_TTFT), histogram(m.VLLM_ITL)
        self.queue_time, self.e2e = histogram(m.VLLM_QUEUE_TIME), histogram(m.VLLM_E2E)
        for model in self.models:  # every series from the start: panels and rates need no first event
            key = (model, "0")
            for c in (self.preemptions, self.prompt_tokens, self.generation_tokens, self.prefix_queries,
                      self.prefix_hits):
                c.labels(*key)
            for reason in ("stop", "length"):
                self.success.labels(*key, reason)
            for h in (self.ttft, self.itl, self.queue_time, self.e2e):
                h.labels(*key)
        self.registry.register(self)

    # --- what the backend reports -------------------------------------------------------
    def enter(self, model: str, prompt_tokens: int, waiting: bool) -> EngineRequest | None:
        if model not in self.models:
            return None
        cache = self._settle()
        queued = sum(r.waiting for r in cache.requests)
        if waiting and queued >= PREEMPT_BEHIND and any(not r.waiting for r in cache.requests):
            victim = next(r for r in cache.requests if not r.waiting)
            self.preemptions.labels(victim.model, "0").inc()
        request = EngineRequest(model, prompt_tokens, time.monotonic(), waiting)
        cache.requests.append(request)
        if not waiting:
            self._admitted(request)
        return request

    def admit(self, request: EngineRequest | None) -> None:
        """The request leaves the waiting queue for the running batch."""
        if request is None or not request.waiting:
            return
        cache = self._settle()
        request.waiting = False
        cache.saturated_until = time.monotonic() + SATURATION_HOLD_SECONDS
        self._admitted(request)

    def _admitted(self, request: EngineRequest) -> None:
        key = (request.model, "0")
        self.queue_time.labels(*key).observe(time.monotonic() - request.started)
        self.prompt_tokens.labels(*key).inc(request.prompt_tokens)
        self.prefix_queries.labels(*key).inc(request.prompt_tokens)
        if request.model in self.cached_templates:
            self.prefix_hits.labels(*key).inc(min(TEMPLATE_TOKENS, request.prompt_tokens))
        self.cached_templates.add(request.model)

    def tokens(self, request: EngineRequest | None, count: int) -> None:
        if request is None or count <= 0:
            return
        now, key = time.monotonic(), (request.model, "0")
        self._settle()
        if request.first_token_at is None:
            request.first_token_at = now
            self.ttft.labels(*key).observe(now - request.started)
        elif request.last_token_at is not None:
            per_token = (now - request.last_token_at) / count
            for _ in range(count):
                self.itl.labels(*key).observe(per_token)
        request.last_token_at = now
        request.generated += count
        self.generation_tokens.labels(*key).inc(count)

    def leave(self, request: EngineRequest | None, finish_reason: str | None) -> None:
        """The request is over: finished (``stop``/``length``) or failed (None: not a success)."""
        if request is None:
            return
        cache = self._settle()
        if request in cache.requests:
            cache.requests.remove(request)
        if finish_reason is not None:
            key = (request.model, "0")
            self.success.labels(*key, finish_reason).inc()
            self.e2e.labels(*key).observe(time.monotonic() - request.started)

    # --- the gauges, at scrape time -----------------------------------------------------------
    def _settle(self) -> _KvCache:
        """Move the smoothed KV usage towards the levels the cache held since the last update: saturated
        while requests waited and until ``saturated_until``, its requests' tokens afterwards."""
        cache, now = self.cache, time.monotonic()

        def toward(level: float, seconds: float) -> None:
            cache.usage += (level - cache.usage) * (1 - math.exp(-max(0.0, seconds) / KV_TAU_SECONDS))

        since = cache.updated
        if any(r.waiting for r in cache.requests):
            toward(SATURATED, now - since)
        else:
            if since < cache.saturated_until:
                toward(SATURATED, min(now, cache.saturated_until) - since)
                since = min(now, cache.saturated_until)
            held = sum(r.prompt_tokens + r.generated for r in cache.requests)
            toward(min(SATURATED, held / self.capacity), now - since)
        cache.updated = now
        return cache

    def load(self) -> float:
        """Requests in the engine: what keeps its GPUs busy."""
        return float(len(self.cache.requests))

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = list(m.VLLM_RUNNING.labels)
        families = {metric: GaugeMetricFamily(metric.name, metric.name, labels=labels)
                    for metric in (m.VLLM_RUNNING, m.VLLM_WAITING, m.VLLM_KV_CACHE_USAGE)}
        cache = self._settle()
        for model in sorted(self.models):
            mine = [r for r in cache.requests if r.model == model]
            waiting = sum(r.waiting for r in mine)
            families[m.VLLM_RUNNING].add_metric([model, "0"], len(mine) - waiting)
            families[m.VLLM_WAITING].add_metric([model, "0"], waiting)
            families[m.VLLM_KV_CACHE_USAGE].add_metric([model, "0"], round(cache.usage, 4))
        yield from families.values()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class SimulatedGpus:
    """The DCGM exporter's ``DCGM_FI_DEV_*`` fields for each simulated engine's GPUs, one node per engine."""

    def __init__(self, engines: dict[str, tuple[SimulatedEngine, int]]) -> None:
        #: backend -> (its engine, how many GPUs it runs on)
        self.engines = engines

    def nodes(self) -> list[str]:
        return sorted(engine_pod(backend)["node"] for backend in self.engines)

    def families(self, node: str) -> Iterator[GaugeMetricFamily]:
        labels = list(m.DCGM_GPU_LABELS)
        families = {metric: GaugeMetricFamily(metric.name, metric.name, labels=labels) for metric in m.GPU_METRICS}
        for backend, (engine, gpus) in sorted(self.engines.items()):
            pod = engine_pod(backend)
            if pod["node"] != node:
                continue
            util = round(15 + 85 * (1 - math.exp(-engine.load() / 2)), 1)
            for index in range(gpus):
                uuid = "GPU-" + hashlib.sha256(f"{backend}/{index}".encode()).hexdigest()[:32]
                values = [str(index), uuid, f"00000000:{0x18 + index:02X}:00.0", f"nvidia{index}", GPU_MODEL,
                          pod["node"], DRIVER, pod["namespace"], pod["pod"], pod["container"]]
                used = round(GPU_FB_MIB * 0.9 + 512)
                readings = {m.GPU_UTIL: util, m.GPU_FB_USED: used, m.GPU_FB_FREE: GPU_FB_MIB - used,
                            m.GPU_TEMP: round(38 + 0.4 * util), m.GPU_POWER: round(90 + 5.5 * util, 1), m.GPU_XID: 0}
                for metric, value in readings.items():
                    families[metric].add_metric(values, value)
        yield from families.values()

    def exposition(self, node: str) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(self.families(node)))
        return generate_latest(registry)


class _Families(Collector):
    def __init__(self, families: Iterable[GaugeMetricFamily]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families)
