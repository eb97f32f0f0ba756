"""Alerts on the serving engines behind the backends and on their GPUs, each with the probe its tests use.

Engine alerts read every engine kind's raw series at once (``alerts.engines``), so the same rule
watches vLLM, SGLang and TGI pods; their probes write vLLM's series (the SGLang and TGI branches are
replayed by hand-written scenarios in ``tests/test_engine_rules.py``). GPU alerts read the DCGM
exporter's series, per node and GPU.

``EngineDown`` (most of an engine's pods cannot be scraped) inhibits the engine's symptoms for the
same ``backend`` in Alertmanager (``foundation.alert_names.ENGINE_SYMPTOMS``): the router's
BackendDown/BackendCoolingDown and the engine's own saturation alerts.
"""

from __future__ import annotations

from alerts import engines as e
from alerts.model import Severity
from alerts.probes import GaugeProbe, GaugeShareProbe, RateProbe, ShareDownProbe, StateProbe
from alerts.profiles import Profile
from alerts.promql import selector
from alerts.spec import AlertSpec, Format
from foundation import alert_names as n
from foundation import engine_metrics as m
from foundation.settings.engines import ENGINE_JOBS

#: The engines' and GPUs' dashboard (a fixed uid, like the router's in ``alerts.definitions``).
BACKENDS = "llm-backends"
#: An engine pod as its scrape job labels it, and the labels vLLM puts on its series.
_ENGINE_POD = {"namespace": "inference", "pod": "vllm-local-gpu-0", "backend": "local-gpu",
               "model_name": "llama-3-8b"}
_VLLM = {**_ENGINE_POD, "engine": "0", "container": "vllm", "node": "gpu-a"}
_GPU = {"node": "gpu-a", "gpu": "0"}
_DCGM = {**_GPU, "UUID": "GPU-1f2e", "device": "nvidia0", "modelName": "NVIDIA H100 80GB HBM3",
         "hostname": "gpu-a", "pci_bus_id": "00000000:18:00.0", "job": "dcgm-exporter"}
GPU_KEYS = ("node", "gpu")


def _engines_down(p: Profile, t: float) -> str:
    up = selector("up", regex={"job": ENGINE_JOBS})
    return f"(1 - avg by (job, backend) ({up})) > {t:g}"


def _kv_cache(p: Profile, t: float) -> str:
    return f"{e.any_engine(lambda k: e.kv_usage(k, e.POD_KEYS))} > {t:g}"


def _waiting(p: Profile, t: float) -> str:
    return f"{e.any_engine(lambda k: e.gauge(k.waiting, e.POD_KEYS, 'max'))} > {t:g}"


def _preemptions(p: Profile, t: float) -> str:
    return f"{e.any_engine(lambda k: e.counter_rate(k.preemptions, p.window('5m'), e.POD_KEYS))} > {t:g}"


def _gpu_memory(p: Profile, t: float) -> str:
    used, free = m.GPU_FB_USED.name, m.GPU_FB_FREE.name
    return f"max by (node, gpu) ({used} / ({used} + {free})) > {t:g}"


def _gpu_max(metric: m.SourceMetric) -> object:
    return lambda p, t: f"max by (node, gpu) ({metric.name}) > {t:g}"


ENGINE_SPECS: tuple[AlertSpec, ...] = (
    AlertSpec(
        n.ENGINE_DOWN, Severity.CRITICAL, "engine_down", BACKENDS, "Serving engine down",
        "Prometheus cannot scrape {value} of engine {backend}'s pods (job {job}, threshold {threshold}): "
        "the router's calls to it fail and fall back. Its backend and saturation alerts are inhibited meanwhile.",
        _engines_down, ShareDownProbe(labels={"job": "engine-local-gpu", "backend": "local-gpu"},
                                      out_labels={"job": "engine-local-gpu", "backend": "local-gpu"}),
        0.5, "1m", value_format=Format.PERCENT,
    ),
    AlertSpec(
        n.ENGINE_KV_CACHE_NEAR_FULL, Severity.WARNING, "engine_kv_cache", BACKENDS, "Engine KV cache near full",
        "The KV cache of engine {backend} ({model_name}) on {namespace}/{pod} is {value} full (threshold "
        "{threshold}): new requests wait and running ones get preempted. Add replicas or lower max_num_seqs.",
        _kv_cache, GaugeProbe(name=m.VLLM_KV_CACHE_USAGE.name, labels=_VLLM, out_labels=_ENGINE_POD),
        0.9, "10m", value_format=Format.PERCENT,
    ),
    AlertSpec(
        n.ENGINE_WAITING_QUEUE, Severity.WARNING, "engine_waiting", BACKENDS, "Requests keep waiting in an engine",
        "Engine {backend} ({model_name}) on {namespace}/{pod} has {value} requests waiting (threshold {threshold}) "
        "for 10m: it is saturated.",
        _waiting, GaugeProbe(name=m.VLLM_WAITING.name, labels=_VLLM, out_labels=_ENGINE_POD), 10, "10m",
    ),
    AlertSpec(
        n.ENGINE_PREEMPTION_STORM, Severity.WARNING, "engine_preemptions", BACKENDS, "Engine preempting requests",
        "Engine {backend} ({model_name}) on {namespace}/{pod} preempts {value} requests/s (threshold {threshold}/s): "
        "its KV cache cannot hold the running batch, so work is recomputed.",
        _preemptions, RateProbe(names=(m.VLLM_PREEMPTIONS.name,), labels=_VLLM, out_labels=_ENGINE_POD), 1, "5m",
    ),
    AlertSpec(
        n.GPU_MEMORY_NEAR_FULL, Severity.WARNING, "gpu_memory", BACKENDS, "GPU memory near full",
        "GPU {gpu} on {node} has {value} of its framebuffer in use (threshold {threshold}). vLLM preallocates "
        "gpu_memory_utilization (0.9 by default) on purpose; above that something else holds GPU memory.",
        _gpu_memory, GaugeShareProbe(used=m.GPU_FB_USED.name, free=m.GPU_FB_FREE.name, labels=_DCGM, out_labels=_GPU),
        0.95, "10m", value_format=Format.PERCENT,
    ),
    AlertSpec(
        n.GPU_XID_ERRORS, Severity.WARNING, "gpu_xid", BACKENDS, "GPU reported an XID error",
        "GPU {gpu} on {node} reported XID {value} (the last XID error; see NVIDIA's XID catalog: 48, 63, 64, 74, "
        "79 and 94/95 mean a failing or lost GPU). The value stays until the exporter restarts.",
        _gpu_max(m.GPU_XID), StateProbe(name=m.GPU_XID.name, labels=_DCGM, bad=1, out_labels=_GPU), 0, "1m",
    ),
    AlertSpec(
        n.GPU_TOO_HOT, Severity.WARNING, "gpu_temperature", BACKENDS, "GPU too hot",
        "GPU {gpu} on {node} is at {value} °C (threshold {threshold} °C): it throttles its clocks.",
        _gpu_max(m.GPU_TEMP), GaugeProbe(name=m.GPU_TEMP.name, labels=_DCGM, out_labels=_GPU), 85, "5m",
    ),
)
