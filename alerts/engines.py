"""PromQL over every engine kind at once: each signal read from the series that kind exports.

Engines of different kinds never share a ``backend`` (an engine is named by the backend it serves),
so the kinds' expressions are joined with ``or`` and every result carries the same labels. A kind
that does not export a signal (TGI: preemptions, TTFT, prefix cache) adds nothing to that signal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from alerts.promql import by, selector
from foundation.engine_metrics import KINDS, EngineKind, SourceMetric

#: What identifies one engine pod's series, and one engine (per model) across its pods.
POD_KEYS = ("namespace", "pod", "backend", "model_name")
ENGINE_KEYS = ("backend", "model_name")


def any_engine(signal: Callable[[EngineKind], str | None]) -> str:
    """``signal(kind)`` for every kind that exports it, joined with ``or`` (parenthesised: ``or`` binds
    looser than a comparison, so ``any_engine(...) > 0.9`` must compare the whole union)."""
    parts = [part for kind in KINDS.values() if (part := signal(kind))]
    return parts[0] if len(parts) == 1 else "(" + " or ".join(f"({p})" for p in parts) + ")"


def gauge(metric: SourceMetric | None, labels: Iterable[str], op: str = "sum") -> str | None:
    return None if metric is None else f"{op}{by(labels)} ({metric.name})"


def kv_usage(kind: EngineKind, labels: Iterable[str], op: str = "max") -> str:
    """KV-cache usage (0..1): the engine's gauge, or its used tokens over its capacity (TGI)."""
    value = kind.kv_usage.name if kind.kv_capacity is None else f"{kind.kv_usage.name} / {kind.kv_capacity.name}"
    return f"{op}{by(labels)} ({value})"


def counter_rate(metric: SourceMetric | None, window: str, labels: Iterable[str], **matchers: str) -> str | None:
    """Per-second increase of a counter, or of a histogram's ``_sum`` (TGI's token counts), summed."""
    if metric is None:
        return None
    name = metric.sum if metric.kind == "histogram" else metric.name
    return f"sum{by(labels)} (rate({selector(name, matchers)}[{window}]))"


def quantile(q: str, metric: SourceMetric | None, window: str, labels: Iterable[str]) -> str | None:
    if metric is None:
        return None
    return f"histogram_quantile({q}, sum{by(('le', *labels))} (rate({metric.bucket}[{window}])))"


def prefix_hit_ratio(kind: EngineKind, window: str, labels: Iterable[str]) -> str | None:
    """Prefix-cache hits over queries (tokens), 0 before the first hit; nothing for TGI."""
    hits = counter_rate(kind.prefix_hits, window, labels)
    queries = counter_rate(kind.prefix_queries, window, labels)
    if hits is None or queries is None:
        return None
    return f"({hits} or {queries} * 0) / {queries}"
