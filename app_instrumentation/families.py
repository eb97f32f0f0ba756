"""Build prometheus_client metric objects from catalog specs.

In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, gunicorn/uvicorn workers) each worker
writes its own file and the scrape merges them; for gauges the merge rule must be chosen
per metric, which is what ``GAUGE_MULTIPROCESS_MODES`` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

from app_instrumentation import catalog
from app_instrumentation.catalog import Kind, MetricSpec

#: How worker values merge for each gauge (prometheus_client multiprocess modes; "live*"
#: drops the files of dead workers once ``mark_process_dead`` is called for them).
GAUGE_MULTIPROCESS_MODES: Mapping[str, str] = MappingProxyType({
    # Per-worker amounts that add up across workers.
    catalog.MODELS_LOADED.name: "livesum",
    catalog.MODEL_MEMORY.name: "livesum",
    catalog.CACHE_SIZE.name: "livesum",
    catalog.ACTIVE_CONNECTIONS.name: "livesum",
    catalog.QUEUE_SIZE.name: "livesum",
    catalog.INFERENCES_IN_PROGRESS.name: "livesum",
    # A budget reported by the backend: the latest report from any worker is the truth.
    catalog.RATE_LIMIT_REMAINING.name: "livemostrecent",
    catalog.BACKEND_STATE.name: "livemostrecent",
    # Pessimistic: down/failing if any live worker sees it down/failing.
    catalog.BACKEND_UP.name: "livemin",
    catalog.HEALTH_CHECK_UP.name: "livemin",
})

_CLASSES = {Kind.COUNTER: Counter, Kind.GAUGE: Gauge, Kind.HISTOGRAM: Histogram}


def build_metric(spec: MetricSpec, registry: CollectorRegistry) -> MetricWrapperBase:
    if spec.collected:
        raise ValueError(f"{spec.name} is exposed by a collector, not built as a metric")
    kwargs: dict[str, object] = {"labelnames": spec.labels, "registry": registry}
    if spec.kind is Kind.HISTOGRAM:
        kwargs["buckets"] = spec.buckets
    if spec.kind is Kind.GAUGE:
        if spec.name not in GAUGE_MULTIPROCESS_MODES:
            raise ValueError(f"gauge {spec.name} has no multiprocess mode in GAUGE_MULTIPROCESS_MODES")
        kwargs["multiprocess_mode"] = GAUGE_MULTIPROCESS_MODES[spec.name]
    return _CLASSES[spec.kind](spec.base_name, spec.help, **kwargs)
