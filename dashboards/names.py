"""Which series names a query reads, and whether each one is known to exist.

A name is known when the metric catalog exposes it, a recording rule of ``alerts.recording``
produces it, Prometheus produces it (``up``) or it is one of the exporter series declared in
``foundation.exporter_metrics``. Names are taken from the parsed PromQL AST, not by text
matching, so label values and function names can never be mistaken for metrics
(``foundation.promql_names.metric_names``, shared with the rule checks). Unlike that module's
check, no name prefixes are accepted here.
"""

from __future__ import annotations

from app_instrumentation import catalog
from foundation import engine_metrics, exporter_metrics
from foundation.promql_names import metric_names

__all__ = ["EXTERNAL", "known_names", "metric_names", "recording_rule_names", "unknown_names"]

#: Series Prometheus produces itself for every target.
EXTERNAL: frozenset[str] = frozenset({"up"})


def recording_rule_names() -> frozenset[str]:
    from alerts import recording  # the alerts package owns the rule names

    return frozenset(recording.ALL_RULE_NAMES)


def known_names() -> frozenset[str]:
    # Read at call time: a test that changes the catalog sees the change.
    return catalog.SAMPLE_NAMES | recording_rule_names() | EXTERNAL | exporter_metrics.NAMES | engine_metrics.NAMES


def unknown_names(expr: str) -> set[str]:
    return metric_names(expr) - known_names()
