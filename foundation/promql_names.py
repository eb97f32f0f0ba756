"""Every metric a PromQL expression names must exist: catalog, recording rule or known external.

Walks the real PromQL AST (``promql-parser``), so names inside functions, aggregations,
subqueries and ``{__name__="..."}`` selectors are all found; a syntax error is a failure too.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from app_instrumentation.catalog import SAMPLE_NAMES
from foundation.engine_metrics import NAMES as ENGINE_NAMES
from foundation.exporter_metrics import NAMES as EXPORTER_NAMES

#: Series that exist without our router: Prometheus itself, the exporters' series the rules and
#: panels read (declared in ``foundation.exporter_metrics`` and ``foundation.engine_metrics``, so a typo
#: there is caught), Alertmanager.
EXTERNAL_NAMES = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped",
                            *EXPORTER_NAMES, *ENGINE_NAMES})
EXTERNAL_PREFIXES = ("prometheus_", "alertmanager_", "container_", "process_", "go_")

_CHILDREN = ("expr", "lhs", "rhs", "param", "vector_selector", "args")


def metric_names(expr: str) -> set[str]:
    """Metric names selected anywhere in ``expr``; raises ValueError when it does not parse."""
    try:
        tree = promql_parser.parse(expr)
    except Exception as exc:  # noqa: BLE001 - the parser raises a bare Exception subclass
        raise ValueError(f"does not parse: {exc}") from exc
    names: set[str] = set()
    _walk(tree, names)
    return names


def _walk(node: Any, names: set[str]) -> None:
    if type(node).__name__ == "VectorSelector":
        if node.name:
            names.add(node.name)
        names.update(m.value for m in node.matchers.matchers if m.name == "__name__")
    for attr in _CHILDREN:
        child = getattr(node, attr, None)
        for c in child if isinstance(child, list) else [child] if child is not None else []:
            _walk(c, names)


def known(name: str, recorded: Iterable[str]) -> bool:
    return (name in SAMPLE_NAMES or name in EXTERNAL_NAMES or name in set(recorded)
            or name.startswith(EXTERNAL_PREFIXES))


def rules_in(rule_files: Iterable[Path]) -> list[dict[str, Any]]:
    return [rule for path in rule_files for group in (yaml.safe_load(path.read_text()) or {}).get("groups", [])
            for rule in group.get("rules", [])]


def unknown_names(exprs: Iterable[tuple[str, str]], recorded: set[str]) -> list[str]:
    """Problems as lines ``<where>: <problem>``; empty when every name is known."""
    problems = []
    for where, expr in exprs:
        try:
            missing = sorted(n for n in metric_names(expr) if not known(n, recorded))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if missing:
            problems.append(f"{where}: unknown metric(s) {', '.join(missing)} in {expr}")
    return problems
