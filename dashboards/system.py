"""LLM Router System Resources: the seed's third dashboard, per router process.

Fixes against the seed: CPU is a share of one core (``rate(cpu seconds)``; the seed's
``* 100`` with a 0..100 axis hid multi-core use), memory uses a byte unit and shows the
alert thresholds, the seed's heap/GC panels (Node.js metrics) become the Python runtime's
garbage collector, errors are summed by type/severity.

The last section shows the router pods as Kubernetes sees them (kube-state-metrics joined to
the router job's pod targets) and the nodes (node-exporter): empty for a router outside
Kubernetes and on the local stack, which run neither exporter.
"""

from __future__ import annotations

from grafanalib import core as g

from app_instrumentation import catalog as c
from dashboards import panels as p
from dashboards import promql as q
from dashboards import uids
from dashboards.alert_colours import alert_steps, below_steps
from dashboards.base import dashboard
from foundation import alert_names as n
from foundation import exporter_metrics as x

GIB = 1024**3
#: HighMemoryUsage / CriticalMemoryUsage (thresholds in GiB, the panel in bytes).
MEMORY_STEPS = alert_steps(n.CRITICAL_MEMORY_USAGE, yellow=n.HIGH_MEMORY_USAGE, scale=GIB)
#: HighQueueSize / CriticalQueueSize.
QUEUE_STEPS = alert_steps(n.CRITICAL_QUEUE_SIZE, yellow=n.HIGH_QUEUE_SIZE)
BY_INSTANCE = ["instance"]
BY_CONTAINER = ["namespace", "pod", "container"]
#: Share of a limit: red at the RouterCPUThrottling alert's threshold.
LIMIT_STEPS = alert_steps(n.ROUTER_CPU_THROTTLING, yellow=0.75)


def _share_of_limit(used: str, resource: str) -> str:
    limit = q.agg("sum", q.exporter(x.CONTAINER_RESOURCE_LIMITS, resource=resource), BY_CONTAINER)
    return f"{used} / on ({', '.join(BY_CONTAINER)}) {limit}"


def _kubernetes() -> list:
    restarts = q.agg("sum", f"increase({q.exporter(x.CONTAINER_RESTARTS)}[{q.RATE_WINDOW}])", ["namespace", "pod"])
    reasons = q.of_router_pods(q.exporter(x.CONTAINER_LAST_TERMINATED_REASON))
    pressure = q.of_router_pods(
        q.agg("max", q.exporter(x.NODE_CONDITION, {"condition": "|".join(x.PRESSURE_CONDITIONS)}, status="true"),
              ["node", "condition"]), on=["node"])
    root = {"mountpoint": "/"}
    return [
        p.row("Router pods in Kubernetes (kube-state-metrics) and nodes (node-exporter)"),
        p.timeseries("Router container restarts", p.Query(q.of_router_pods(restarts), "{{pod}}"), unit="short",
                     stacked=True, description="Restarts per interval, by router pod (RouterPodRestarting)."),
        p.timeseries("Router containers by last termination reason",
                     p.Query(q.agg("sum", reasons, ["reason"]), "{{reason}}"), unit="short", stacked=True,
                     description="OOMKilled: the container exceeded its memory limit (RouterOOMKilled)."),
        p.timeseries("Router CPU use as a share of its limit",
                     p.Query(_share_of_limit(q.sum_rate(c.PROCESS_CPU, BY_CONTAINER), "cpu"), "{{pod}}"),
                     unit=p.RATIO, thresholds=LIMIT_STEPS,
                     description="Near 100 % the kernel throttles the router (RouterCPUThrottling)."),
        p.timeseries("Router memory use as a share of its limit",
                     p.Query(_share_of_limit(q.agg("sum", q.series(c.PROCESS_RESIDENT_MEMORY), BY_CONTAINER),
                                             "memory"), "{{pod}}"),
                     unit=p.RATIO, thresholds=LIMIT_STEPS, description="At 100 % the kernel OOM-kills the router."),
        p.timeseries("Pressure on the router's nodes", p.Query(pressure, "{{node}} {{condition}}"), unit="short",
                     description="1 while a node running router pods reports the condition (RouterNodePressure)."),
        p.timeseries("Node memory available (all nodes)",
                     p.Query(f"{q.exporter(x.NODE_MEMORY_AVAILABLE)} / {q.exporter(x.NODE_MEMORY_TOTAL)}",
                             "{{instance}}"),
                     unit=p.RATIO, max_value=1, thresholds=p.steps("red", (0.1, "yellow"), (0.2, "green"))),
        p.timeseries("Node root filesystem free (all nodes)",
                     p.Query(f"{q.exporter(x.NODE_FILESYSTEM_AVAILABLE, **root)} / "
                             f"{q.exporter(x.NODE_FILESYSTEM_SIZE, **root)}", "{{instance}}"),
                     unit=p.RATIO, max_value=1, thresholds=p.steps("red", (0.1, "yellow"), (0.2, "green")),
                     width=24),
    ]


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
            p.timeseries("Spans exported (share of spans ended)",
                         p.Query(q.ratio_or_zero(q.sum_rate(c.TRACE_SPANS_EXPORTED, BY_INSTANCE, outcome=c.TRACE_SPAN_SUCCESS),
                                                 q.sum_rate(c.TRACE_SPANS_ENDED, BY_INSTANCE)), "{{instance}}"),
                         unit=p.RATIO, max_value=1, thresholds=below_steps(n.TRACE_SPANS_LOST),
                         description="Sampled spans that reached the trace collector; red where TraceSpansLost "
                         "fires. Empty without tracing."),
            p.timeseries("Span export by outcome",
                         p.Query(q.sum_rate(c.TRACE_SPANS_ENDED), "ended"),
                         p.Query(q.sum_rate(c.TRACE_SPANS_EXPORTED, ["outcome"]), "exported: {{outcome}}"),
                         unit="ops", description="Ended above exported (success + failure): the export "
                         "queue is full and drops spans. Failures: the collector refused them or timed out."),
            p.timeseries("Python GC collections by generation",
                         p.Query(q.sum_rate(c.PYTHON_GC_COLLECTIONS, ["instance", "generation"]),
                                 "{{instance}} gen {{generation}}"),
                         p.Query(q.sum_rate(c.PYTHON_GC_OBJECTS_UNCOLLECTABLE, ["instance"]),
                                 "{{instance}} uncollectable objects"),
                         unit="ops", description="Runs of the garbage collector per second; uncollectable "
                         "objects above 0 mean reference cycles with finalizers that leak."),
            p.timeseries("Time paused in Python GC",
                         p.Query(q.sum_rate(c.PYTHON_GC_PAUSE, BY_INSTANCE), "{{instance}}"),
                         unit=p.RATIO, thresholds=p.steps("green", (0.05, "yellow"), (0.1, "red")),
                         description="Share of wall time the process spends in garbage collection (the event "
                         "loop serves nothing meanwhile); the seed's GC duration panel."),
            *_kubernetes(),
        ],
    )
