"""Which series names a query reads, and whether each one is known to exist.

A name is known when the metric catalog exposes it, a recording rule of ``alerts.recording``
produces it, or it comes from a standard exporter (Prometheus' own ``up``). Names are taken
from the parsed PromQL AST, not by text matching, so label values and function names can
never be mistaken for metrics (``foundation.promql_names.metric_names``, shared with the
rule checks). Unlike that module's check, no exporter prefixes are accepted here: the
dashboards only read the router's own series, recording rules and ``up``.
"""

from __future__ import annotations

from app_instrumentation import catalog
from foundation.promql_names import metric_names

__all__ = ["EXTERNAL", "known_names", "metric_names", "recording_rule_names", "unknown_names"]

#: Series Prometheus produces itself for every target.
EXTERNAL: frozenset[str] = frozenset({"up"})


def recording_rule_names() -> frozenset[str]:
    from alerts import recording  # the alerts package owns the rule names

    return frozenset(recording.ALL_RULE_NAMES)


def known_names() -> frozenset[str]:
    # Read at call time: a test that changes the catalog sees the change.
    return catalog.SAMPLE_NAMES | recording_rule_names() | EXTERNAL


def unknown_names(expr: str) -> set[str]:
    return metric_names(expr) - known_names()
