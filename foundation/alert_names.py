"""Every alert name, importable without importing the rule builders.

``foundation.settings.alerting`` validates per-env overrides against ``THRESHOLD_ALERTS`` while
the settings package is still loading, so this module imports nothing.
"""

from __future__ import annotations

# The seed's twelve alerts (names unchanged).
HIGH_ERROR_RATE = "HighErrorRate"
CRITICAL_ERROR_RATE = "CriticalErrorRate"
HIGH_RESPONSE_TIME = "HighResponseTime"
CRITICAL_RESPONSE_TIME = "CriticalResponseTime"
HIGH_MEMORY_USAGE = "HighMemoryUsage"
CRITICAL_MEMORY_USAGE = "CriticalMemoryUsage"
NO_MODELS_LOADED = "NoModelsLoaded"
LOW_CACHE_HIT_RATE = "LowCacheHitRate"
HIGH_QUEUE_SIZE = "HighQueueSize"
CRITICAL_QUEUE_SIZE = "CriticalQueueSize"
SERVICE_DOWN = "ServiceDown"
LOW_TOKEN_GENERATION = "LowTokenGeneration"

# LLM signals and self-monitoring.
BACKEND_DOWN = "BackendDown"
BACKEND_COOLING_DOWN = "BackendCoolingDown"
HIGH_FALLBACK_RATE = "HighFallbackRate"
BACKEND_RATE_LIMITED = "BackendRateLimited"
HIGH_COST_BURN = "HighCostBurn"
INSTRUMENTATION_ERRORS = "InstrumentationErrors"
METRIC_SERIES_OVERFLOW = "MetricSeriesOverflow"
LOG_EVENTS_DROPPED = "LogEventsDropped"
TRACE_SPANS_LOST = "TraceSpansLost"
ROUTER_INSTANCES_DOWN = "RouterInstancesDown"
ROUTER_STALLED = "RouterStalled"
HIGH_CLIENT_ERROR_RATE = "HighClientErrorRate"

# Router pods as Kubernetes sees them (kube-state-metrics).
ROUTER_POD_RESTARTING = "RouterPodRestarting"
ROUTER_OOM_KILLED = "RouterOOMKilled"
ROUTER_CPU_THROTTLING = "RouterCPUThrottling"
ROUTER_NODE_PRESSURE = "RouterNodePressure"

# The serving engines behind the backends (vLLM, SGLang, TGI) and their GPUs (DCGM exporter).
ENGINE_DOWN = "EngineDown"
ENGINE_KV_CACHE_NEAR_FULL = "EngineKVCacheNearFull"
ENGINE_WAITING_QUEUE = "EngineWaitingQueue"
ENGINE_PREEMPTION_STORM = "EnginePreemptionStorm"
GPU_MEMORY_NEAR_FULL = "GPUMemoryNearFull"
GPU_XID_ERRORS = "GPUXidErrors"
GPU_TOO_HOT = "GPUTooHot"

#: Always firing: Alertmanager routes it to the dead man's switch receiver.
WATCHDOG = "Watchdog"

SEED_ALERTS: tuple[str, ...] = (
    HIGH_ERROR_RATE, CRITICAL_ERROR_RATE, HIGH_RESPONSE_TIME, CRITICAL_RESPONSE_TIME,
    HIGH_MEMORY_USAGE, CRITICAL_MEMORY_USAGE, NO_MODELS_LOADED, LOW_CACHE_HIT_RATE,
    HIGH_QUEUE_SIZE, CRITICAL_QUEUE_SIZE, SERVICE_DOWN, LOW_TOKEN_GENERATION,
)
SIGNAL_ALERTS: tuple[str, ...] = (
    BACKEND_DOWN, BACKEND_COOLING_DOWN, HIGH_FALLBACK_RATE, BACKEND_RATE_LIMITED, HIGH_COST_BURN,
    INSTRUMENTATION_ERRORS, METRIC_SERIES_OVERFLOW, LOG_EVENTS_DROPPED, TRACE_SPANS_LOST, ROUTER_INSTANCES_DOWN,
    ROUTER_STALLED, HIGH_CLIENT_ERROR_RATE,
)
KUBERNETES_ALERTS: tuple[str, ...] = (
    ROUTER_POD_RESTARTING, ROUTER_OOM_KILLED, ROUTER_CPU_THROTTLING, ROUTER_NODE_PRESSURE,
)
ENGINE_ALERTS: tuple[str, ...] = (
    ENGINE_DOWN, ENGINE_KV_CACHE_NEAR_FULL, ENGINE_WAITING_QUEUE, ENGINE_PREEMPTION_STORM,
)
GPU_ALERTS: tuple[str, ...] = (GPU_MEMORY_NEAR_FULL, GPU_XID_ERRORS, GPU_TOO_HOT)
#: Symptoms of an engine that is down: EngineDown inhibits them for the same backend.
ENGINE_SYMPTOMS: tuple[str, ...] = (
    BACKEND_DOWN, BACKEND_COOLING_DOWN, ENGINE_KV_CACHE_NEAR_FULL, ENGINE_WAITING_QUEUE, ENGINE_PREEMPTION_STORM,
)
#: Threshold alerts: their ``threshold``, ``floor`` and ``for`` may be overridden per environment.
THRESHOLD_ALERTS: tuple[str, ...] = (*SEED_ALERTS, *SIGNAL_ALERTS, *KUBERNETES_ALERTS, *ENGINE_ALERTS, *GPU_ALERTS)
