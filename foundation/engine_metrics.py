"""Series the serving engines (vLLM, TGI, SGLang) and the NVIDIA DCGM exporter export, declared once.

Names, types, labels and buckets are the upstream ones, pinned by ``tests/test_engine_metrics.py``
against lists read from each project's own source (``foundation/standards/engine_metrics.yml``):

* vLLM: the V1 engine's names, current since 0.10.2 and checked against the 0.10.2 and 0.33.0
  sources (``vllm:kv_cache_usage_perc``, ``vllm:prefix_cache_*``, ``vllm:inter_token_latency_seconds``).
  Releases before 0.10.2 export ``vllm:gpu_cache_usage_perc``, ``vllm:gpu_prefix_cache_*`` and
  ``vllm:time_per_output_token_seconds`` instead (renamed in 0.9.2/0.11, hidden and then removed).
* SGLang 0.5.23; TGI 3.3 (its Rust exporter adds no ``_total`` to counters, and its series carry no
  model label: the scrape job adds ``model_name`` from the settings); dcgm-exporter 4.5.3-4.8.2.

Every engine's scrape job adds ``backend`` (the router backend the engine serves) and the pod's
``namespace``/``pod``/``container``/``node``; :class:`EngineKind` says which series carries each
signal the alerts, recording rules and dashboard read, so one engine kind can lack one
(TGI has no KV-cache gauge of its own, no preemptions, no TTFT and no prefix cache counters).
"""

from __future__ import annotations

from dataclasses import dataclass

VLLM, SGLANG, TGI = "vllm", "sglang", "tgi"
DCGM = "dcgm"
ENGINE_KINDS: tuple[str, ...] = (VLLM, SGLANG, TGI)
#: The label every engine scrape job adds: the router backend the engine serves.
BACKEND_LABEL = "backend"
#: The engines' model label (TGI's comes from the scrape job).
MODEL_LABEL = "model_name"


@dataclass(frozen=True)
class SourceMetric:
    """One metric family as its exporter exposes it (``name``: counters with their ``_total``, if any)."""

    name: str
    kind: str
    #: Labels the exporter itself sets (scrape-job labels such as ``backend``/``pod`` excluded).
    labels: tuple[str, ...]
    #: ``vllm``, ``sglang``, ``tgi`` or ``dcgm``: which list in engine_metrics.yml pins it.
    source: str
    #: Empty for histograms whose buckets depend on the engine's configuration (only ``_sum`` is read).
    buckets: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("counter", "gauge", "histogram"):
            raise ValueError(f"{self.name}: kind must be counter, gauge or histogram")
        if self.kind != "histogram" and self.buckets:
            raise ValueError(f"{self.name}: only histograms have buckets")

    @property
    def bucket(self) -> str:
        return f"{self.name}_bucket"

    @property
    def sum(self) -> str:
        return f"{self.name}_sum"

    @property
    def count(self) -> str:
        return f"{self.name}_count"

    @property
    def sample_names(self) -> tuple[str, ...]:
        return (self.bucket, self.sum, self.count) if self.kind == "histogram" else (self.name,)


_V = ("model_name", "engine")
#: vLLM's request-latency buckets (e2e, queue, prefill, decode, inference).
VLLM_REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
                                120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
VLLM_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
                     20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
VLLM_ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
                    40.0, 80.0)

VLLM_RUNNING = SourceMetric("vllm:num_requests_running", "gauge", _V, VLLM)
VLLM_WAITING = SourceMetric("vllm:num_requests_waiting", "gauge", _V, VLLM)
VLLM_KV_CACHE_USAGE = SourceMetric("vllm:kv_cache_usage_perc", "gauge", _V, VLLM)
VLLM_PREEMPTIONS = SourceMetric("vllm:num_preemptions_total", "counter", _V, VLLM)
VLLM_PROMPT_TOKENS = SourceMetric("vllm:prompt_tokens_total", "counter", _V, VLLM)
VLLM_GENERATION_TOKENS = SourceMetric("vllm:generation_tokens_total", "counter", _V, VLLM)
VLLM_PREFIX_CACHE_QUERIES = SourceMetric("vllm:prefix_cache_queries_total", "counter", _V, VLLM)
VLLM_PREFIX_CACHE_HITS = SourceMetric("vllm:prefix_cache_hits_total", "counter", _V, VLLM)
VLLM_REQUEST_SUCCESS = SourceMetric("vllm:request_success_total", "counter", (*_V, "finished_reason"), VLLM)
VLLM_TTFT = SourceMetric("vllm:time_to_first_token_seconds", "histogram", _V, VLLM, VLLM_TTFT_BUCKETS)
VLLM_ITL = SourceMetric("vllm:inter_token_latency_seconds", "histogram", _V, VLLM, VLLM_ITL_BUCKETS)
VLLM_QUEUE_TIME = SourceMetric("vllm:request_queue_time_seconds", "histogram", _V, VLLM, VLLM_REQUEST_LATENCY_BUCKETS)
VLLM_E2E = SourceMetric("vllm:e2e_request_latency_seconds", "histogram", _V, VLLM, VLLM_REQUEST_LATENCY_BUCKETS)
#: vLLM's ``finished_reason`` values (FinishReason).
VLLM_FINISHED_REASONS = ("stop", "length", "abort", "error", "repetition")

_S = ("model_name", "engine_type")
SGLANG_RUNNING = SourceMetric("sglang:num_running_reqs", "gauge", _S, SGLANG)
SGLANG_WAITING = SourceMetric("sglang:num_queue_reqs", "gauge", _S, SGLANG)
SGLANG_TOKEN_USAGE = SourceMetric("sglang:token_usage", "gauge", _S, SGLANG)
SGLANG_RETRACTED = SourceMetric("sglang:num_retracted_requests_total", "counter", _S, SGLANG)
SGLANG_PROMPT_TOKENS = SourceMetric("sglang:prompt_tokens_total", "counter", (*_S, "is_streaming"), SGLANG)
SGLANG_GENERATION_TOKENS = SourceMetric("sglang:generation_tokens_total", "counter", (*_S, "is_streaming"), SGLANG)
SGLANG_CACHED_TOKENS = SourceMetric("sglang:cached_tokens_total", "counter", (*_S, "cache_source"), SGLANG)
SGLANG_TTFT = SourceMetric("sglang:time_to_first_token_seconds", "histogram", (*_S, "is_streaming"), SGLANG,
                           (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0, 60.0, 80.0, 100.0,
                            200.0, 400.0))
SGLANG_ITL = SourceMetric("sglang:inter_token_latency_seconds", "histogram", _S, SGLANG,
                          (0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.06, 0.08, 0.1,
                           0.2, 0.4, 0.6, 0.8, 1.0, 2.0, 4.0, 6.0, 8.0))
SGLANG_QUEUE_TIME = SourceMetric(
    "sglang:queue_time_seconds", "histogram", _S, SGLANG,
    (0.0, 0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
     70.0, 80.0, 90.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0, 1200.0, 1400.0, 1600.0,
     1800.0, 2000.0, 2500.0, 3000.0))



def _geometric(start: float, factor: float, count: int) -> tuple[float, ...]:
    """TGI's duration buckets, computed as its router does (``value *= 1.5`` before each push)."""
    out, value = [], start
    for _ in range(count):
        value *= factor
        out.append(value)
    return tuple(out)


#: TGI's duration histograms: 35 buckets from 0.0001 * 1.5 (router/src/server.rs).
TGI_DURATION_BUCKETS = _geometric(0.0001, 1.5, 35)
TGI_RUNNING = SourceMetric("tgi_batch_current_size", "gauge", (), TGI)
TGI_WAITING = SourceMetric("tgi_queue_size", "gauge", (), TGI)
#: The current batch's token budget and the engine's (the KV-cache capacity in tokens, v3 backend).
TGI_BATCH_TOKENS = SourceMetric("tgi_batch_current_max_tokens", "gauge", (), TGI)
TGI_MAX_BATCH_TOKENS = SourceMetric("tgi_batch_max_total_tokens", "gauge", (), TGI)
TGI_ITL = SourceMetric("tgi_request_mean_time_per_token_duration", "histogram", (), TGI, TGI_DURATION_BUCKETS)
TGI_QUEUE_TIME = SourceMetric("tgi_request_queue_duration", "histogram", (), TGI, TGI_DURATION_BUCKETS)
#: Per-request token counts; their buckets follow the engine's max tokens, so only ``_sum`` is read.
TGI_INPUT_LENGTH = SourceMetric("tgi_request_input_length", "histogram", (), TGI)
TGI_GENERATED_TOKENS = SourceMetric("tgi_request_generated_tokens", "histogram", (), TGI)

#: Labels the DCGM exporter puts on every GPU field; ``namespace``/``pod``/``container`` name the pod
#: the GPU is assigned to (its Kubernetes mapping), so the scrape job honours them.
DCGM_GPU_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "hostname", "DCGM_FI_DRIVER_VERSION",
                   "namespace", "pod", "container")
GPU_UTIL = SourceMetric("DCGM_FI_DEV_GPU_UTIL", "gauge", DCGM_GPU_LABELS, DCGM)
GPU_FB_USED = SourceMetric("DCGM_FI_DEV_FB_USED", "gauge", DCGM_GPU_LABELS, DCGM)
GPU_FB_FREE = SourceMetric("DCGM_FI_DEV_FB_FREE", "gauge", DCGM_GPU_LABELS, DCGM)
GPU_TEMP = SourceMetric("DCGM_FI_DEV_GPU_TEMP", "gauge", DCGM_GPU_LABELS, DCGM)
GPU_POWER = SourceMetric("DCGM_FI_DEV_POWER_USAGE", "gauge", DCGM_GPU_LABELS, DCGM)
GPU_XID = SourceMetric("DCGM_FI_DEV_XID_ERRORS", "gauge", DCGM_GPU_LABELS, DCGM)
#: ``DCGM_FI_DEV_FB_*`` are MiB.
MIB = 2**20


@dataclass(frozen=True)
class EngineKind:
    """Which series of one engine kind carries each signal (None: the engine does not export it)."""

    name: str
    running: SourceMetric
    waiting: SourceMetric
    #: A 0..1 gauge, or (with ``kv_capacity``) a used amount divided by the capacity.
    kv_usage: SourceMetric
    kv_capacity: SourceMetric | None
    preemptions: SourceMetric | None
    ttft: SourceMetric | None
    itl: SourceMetric
    queue_time: SourceMetric
    #: Counters, or histograms of per-request counts whose ``_sum`` is the token total.
    prompt_tokens: SourceMetric
    generation_tokens: SourceMetric
    prefix_hits: SourceMetric | None
    prefix_queries: SourceMetric | None


KINDS: dict[str, EngineKind] = {
    VLLM: EngineKind(VLLM, VLLM_RUNNING, VLLM_WAITING, VLLM_KV_CACHE_USAGE, None, VLLM_PREEMPTIONS, VLLM_TTFT, VLLM_ITL,
                     VLLM_QUEUE_TIME, VLLM_PROMPT_TOKENS, VLLM_GENERATION_TOKENS, VLLM_PREFIX_CACHE_HITS,
                     VLLM_PREFIX_CACHE_QUERIES),
    # Prefix cache: cached prompt tokens out of all prompt tokens; preemptions: retracted requests.
    SGLANG: EngineKind(SGLANG, SGLANG_RUNNING, SGLANG_WAITING, SGLANG_TOKEN_USAGE, None, SGLANG_RETRACTED, SGLANG_TTFT,
                       SGLANG_ITL, SGLANG_QUEUE_TIME, SGLANG_PROMPT_TOKENS, SGLANG_GENERATION_TOKENS,
                       SGLANG_CACHED_TOKENS, SGLANG_PROMPT_TOKENS),
    TGI: EngineKind(TGI, TGI_RUNNING, TGI_WAITING, TGI_BATCH_TOKENS, TGI_MAX_BATCH_TOKENS, None, None, TGI_ITL,
                    TGI_QUEUE_TIME, TGI_INPUT_LENGTH, TGI_GENERATED_TOKENS, None, None),
}

METRICS: tuple[SourceMetric, ...] = tuple(v for v in list(globals().values()) if isinstance(v, SourceMetric))
GPU_METRICS: tuple[SourceMetric, ...] = tuple(m for m in METRICS if m.source == DCGM)
NAMES: frozenset[str] = frozenset(n for m in METRICS for n in m.sample_names)
