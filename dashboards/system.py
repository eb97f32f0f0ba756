"""LLM Router System Resources: the seed's third dashboard, per router process.

Fixes against the seed: CPU is a share of one core (``rate(cpu seconds)``; the seed's
``* 100`` with a 0..100 axis hid multi-core use), memory uses a byte unit and shows the
alert thresholds, the seed's ``process_heap_bytes`` (a Node.js metric the Python router does
not have) is replaced by file descriptors and uptime, errors are summed by type/severity.
"""

from __future__ import annotations

from grafanalib import core as g

from app_instrumentation import catalog as c
from dashboards import panels as p
from dashboards import promql as q
from dashboards import uids
from dashboards.base import dashboard

GIB = 1024**3
#: The seed's HighMemoryUsage / CriticalMemoryUsage levels (3 GiB / 7 GiB).
MEMORY_STEPS = p.steps("green", (3 * GIB, "yellow"), (7 * GIB, "red"))
#: The seed's HighQueueSize / CriticalQueueSize levels.
QUEUE_STEPS = p.steps("green", (100, "yellow"), (500, "red"))
BY_INSTANCE = ["instance"]


def build() -> g.Dashboard:
    uptime = q.agg("min", f"time() - {q.series(c.PROCESS_START_TIME)}")
    return dashboard(
        uids.SYSTEM,
        "LLM Router System Resources",
        "CPU, memory, connections, queues and errors of the router processes.",
        [
            p.stat("Instances reporting", q.agg("count", q.series(c.PROCESS_START_TIME)), unit="short",
                   thresholds=p.steps("red", (1, "green")), width=6),
            p.stat("Shortest uptime", uptime, unit="s", thresholds=p.steps("yellow", (600, "green")), width=6,
                   description="Time since the most recent process (re)start."),
            p.stat("Resident memory (max instance)", q.agg("max", q.series(c.PROCESS_RESIDENT_MEMORY)),
                   unit="bytes", thresholds=MEMORY_STEPS, width=6),
            p.stat("Queued requests", q.agg("sum", q.series(c.QUEUE_SIZE)), unit="short", thresholds=QUEUE_STEPS,
                   width=6),
            p.timeseries("CPU usage by instance (1 = one core)",
                         p.Query(q.sum_rate(c.PROCESS_CPU, BY_INSTANCE), "{{instance}}"), unit=p.CORES),
            p.timeseries("Resident memory by instance",
                         p.Query(q.agg("sum", q.series(c.PROCESS_RESIDENT_MEMORY), BY_INSTANCE), "{{instance}}"),
                         unit="bytes", thresholds=MEMORY_STEPS),
            p.timeseries("Active connections by type and protocol",
                         p.Query(q.agg("sum", q.series(c.ACTIVE_CONNECTIONS), ["type", "protocol"]),
                                 "{{type}} {{protocol}}"), unit="short"),
            p.timeseries("Errors by type and severity",
                         p.Query(q.sum_rate(c.ERRORS, ["type", "severity"]), "{{type}} {{severity}}"),
                         unit=p.ERRORS_PER_SECOND, stacked=True),
            p.timeseries("Queue size by queue",
                         p.Query(q.agg("sum", q.series(c.QUEUE_SIZE), ["queue_type"]), "{{queue_type}}"),
                         unit="short", thresholds=QUEUE_STEPS),
            p.timeseries("Queue processing time p95 by queue",
                         p.Query(q.quantile(0.95, c.QUEUE_PROCESSING, ["queue_type"]), "{{queue_type}}"), unit="s"),
            p.timeseries("Open file descriptors (share of limit)",
                         p.Query(q.ratio(q.series(c.PROCESS_OPEN_FDS), q.series(c.PROCESS_MAX_FDS)), "{{instance}}"),
                         unit=p.RATIO, max_value=1, thresholds=p.steps("green", (0.8, "yellow"), (0.9, "red"))),
            p.timeseries("Cache size by cache",
                         p.Query(q.agg("sum", q.series(c.CACHE_SIZE), ["cache_type"]), "{{cache_type}}"),
                         unit="bytes"),
            p.timeseries(
                "Instrumentation health",
                p.Query(q.sum_rate(c.INSTRUMENTATION_ERRORS, ["operation"]), "instrumentation error: {{operation}}"),
                p.Query(q.sum_rate(c.SERIES_OVERFLOW, ["metric"]), "folded into 'other': {{metric}}"),
                p.Query(q.sum_rate(c.LOG_EVENTS_DROPPED, ["stream"]), "log events dropped: {{stream}}"),
                unit="ops", width=24,
                description="Non-zero means metrics or logs are incomplete: fix before trusting other panels.",
            ),
        ],
    )
