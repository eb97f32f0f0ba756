"""What a fleet of router pods does at one moment, as the inputs of a simulation step.

A scenario is a function ``(t, pod) -> PodState``: traffic, failures, latency, cache, queue,
memory and whether the pod is scraped at all. ``simulate`` turns those states into the
metric series the real ``MetricsCollector`` would expose, scraped at the router's interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PodState:
    """One router pod during one scrape interval. Rates are per pod."""

    #: Inferences started per second.
    rps: float = 4.0
    #: Share of model calls (inferences the cache did not answer) that fail after every retry and
    #: fallback: a 5xx to the client.
    failure_share: float = 0.001
    #: Share of model calls whose first backend failed and a fallback answered.
    recovered_share: float = 0.005
    #: Requests refused as invalid (4xx) per second.
    client_errors_rps: float = 0.02
    #: Median inference duration, and its time to first token (seconds).
    latency_s: float = 1.2
    ttft_s: float = 0.25
    #: Share of inferences answered from the response cache.
    cache_hit_share: float = 0.55
    queue: float = 1.0
    #: Nothing completes: inferences pile up in progress, none finishes.
    stalled: bool = False
    #: The pod is a target whose scrapes fail (``up`` 0).
    down: bool = False
    #: The pod is not a target at all (not yet created, or deleted).
    gone: bool = False
    #: Incremented each time the pod's container restarts in place (counters reset).
    restarts: int = 0
    #: The container's last termination was an OOM kill.
    oom_killed: bool = False
    #: Deployment generation: a new one is a new pod (new name) after a rolling restart.
    generation: int = 0
    resident_memory_bytes: float = 1.1e9
    #: Backends the router marks down (its requests go to the others).
    backends_down: frozenset[str] = frozenset()
    output_tokens: int = 180
    prompt_tokens: int = 320
    #: Spend per model call, as a multiple of the fleet's normal (``Simulation.usd_per_call``).
    spend: float = 1.0
    #: Share of requests traced (head sampling): each traced inference ends two spans.
    traced_share: float = 0.1
    #: Share of the exported spans the trace collector accepts (the rest fail).
    span_export_share: float = 1.0

    def but(self, **changes: object) -> PodState:
        return replace(self, **changes)  # type: ignore[arg-type]


def diurnal(t: float, low: float, high: float, period_s: float = 86_400.0, peak_at_s: float = 14 * 3600.0) -> float:
    """A daily traffic cycle between ``low`` and ``high``, highest at ``peak_at_s`` of the day."""
    phase = 2 * math.pi * (t - peak_at_s) / period_s
    return low + (high - low) * (1 + math.cos(phase)) / 2


def ramp(t: float, start: float, end: float, a: float, b: float) -> float:
    """``a`` before ``start``, ``b`` after ``end``, linear in between."""
    if t <= start:
        return a
    if t >= end:
        return b
    return a + (b - a) * (t - start) / (end - start)
