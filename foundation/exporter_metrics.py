"""Series the router's alerts and panels read from the exporters the stack deploys.

kube-state-metrics publishes the Kubernetes objects' state (container restarts, last
termination reasons, resource limits, node conditions); node-exporter the nodes' memory and
filesystems. Names and labels are theirs (kube-state-metrics v2, node-exporter v1); they are
declared once here so alerts, dashboards and tests agree, the way the router's own metrics are
declared once in ``app_instrumentation.catalog``.

Router pods are picked out of these series by joining on the labels the ``llm-router`` scrape
job gives each router pod (``namespace``, ``pod``, ``container``, ``node``; see
``alerts.prometheus_config``), so a router outside Kubernetes simply has no such series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

KUBE_STATE_METRICS = "kube-state-metrics"
NODE_EXPORTER = "node-exporter"


@dataclass(frozen=True)
class ExporterMetric:
    name: str
    kind: str
    labels: tuple[str, ...]
    #: The scrape job (and exporter) that publishes it.
    job: str
    #: Label values the rules and panels select on.
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("counter", "gauge"):
            raise ValueError(f"{self.name}: kind must be counter or gauge")
        if (self.kind == "counter") != self.name.endswith("_total"):
            raise ValueError(f"{self.name}: counters and only counters end in _total")
        unknown = set(self.values) - set(self.labels)
        if unknown:
            raise ValueError(f"{self.name}: values for undeclared labels {sorted(unknown)}")
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


#: Node conditions the kubelet sets when it starts evicting pods.
PRESSURE_CONDITIONS = ("DiskPressure", "MemoryPressure", "PIDPressure")

CONTAINER_RESTARTS = ExporterMetric(
    "kube_pod_container_status_restarts_total", "counter", ("namespace", "pod", "uid", "container"),
    KUBE_STATE_METRICS,
)
CONTAINER_LAST_TERMINATED_REASON = ExporterMetric(
    "kube_pod_container_status_last_terminated_reason", "gauge", ("namespace", "pod", "uid", "container", "reason"),
    KUBE_STATE_METRICS, {"reason": ("OOMKilled", "Error", "Completed")},
)
CONTAINER_RESOURCE_LIMITS = ExporterMetric(
    "kube_pod_container_resource_limits", "gauge",
    ("namespace", "pod", "uid", "container", "node", "resource", "unit"), KUBE_STATE_METRICS,
    {"resource": ("cpu", "memory"), "unit": ("core", "byte")},
)
NODE_CONDITION = ExporterMetric(
    "kube_node_status_condition", "gauge", ("node", "condition", "status"), KUBE_STATE_METRICS,
    {"condition": PRESSURE_CONDITIONS, "status": ("true", "false", "unknown")},
)
NODE_MEMORY_AVAILABLE = ExporterMetric("node_memory_MemAvailable_bytes", "gauge", (), NODE_EXPORTER)
NODE_MEMORY_TOTAL = ExporterMetric("node_memory_MemTotal_bytes", "gauge", (), NODE_EXPORTER)
NODE_FILESYSTEM_AVAILABLE = ExporterMetric(
    "node_filesystem_avail_bytes", "gauge", ("device", "fstype", "mountpoint"), NODE_EXPORTER,
    {"mountpoint": ("/",)},
)
NODE_FILESYSTEM_SIZE = ExporterMetric(
    "node_filesystem_size_bytes", "gauge", ("device", "fstype", "mountpoint"), NODE_EXPORTER, {"mountpoint": ("/",)},
)
# Thanos (metricsStore.mode: thanos), under the scrape jobs stack/services/longterm.py gives them.
THANOS_COMPACT_HALTED = ExporterMetric("thanos_compact_halted", "gauge", (), "thanos-compact")
THANOS_BUCKET_OPERATION_FAILURES = ExporterMetric(
    "thanos_objstore_bucket_operation_failures_total", "counter", ("bucket", "operation"), "thanos-sidecar",
)

METRICS: tuple[ExporterMetric, ...] = tuple(v for v in list(globals().values()) if isinstance(v, ExporterMetric))
NAMES: frozenset[str] = frozenset(m.name for m in METRICS)
