"""Every metric a PromQL expression names must exist: catalog, recording rule or known external.

Walks the real PromQL AST (``promql-parser``), so names inside functions, aggregations,
subqueries and ``{__name__="..."}`` selectors are all found; a syntax error is a failure too.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from app_instrumentation.catalog import SAMPLE_NAMES
from llmmon.checkers import CheckResult
from llmmon.settings import Settings

#: Series that exist without our router: Prometheus itself, exporters, Alertmanager.
EXTERNAL_NAMES = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"})
EXTERNAL_PREFIXES = ("node_", "kube_", "prometheus_", "alertmanager_", "container_", "process_", "go_")

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


def _result(name: str, exprs: list[tuple[str, str]], recorded: set[str]) -> CheckResult:
    problems = unknown_names(exprs, recorded)
    if not exprs:
        return CheckResult(name, False, "no expressions found")
    return CheckResult(name, not problems, "\n".join(problems) or f"{len(exprs)} expressions, every metric known")


def check_rules(rule_files: list[Path]) -> CheckResult:
    rules = rules_in(rule_files)
    recorded = {r["record"] for r in rules if "record" in r}
    exprs = [(r.get("alert") or r.get("record") or "?", str(r["expr"])) for r in rules]
    return _result("PromQL metric names (rules)", exprs, recorded)


def check_dashboards(settings: Settings, rule_files: list[Path]) -> CheckResult:
    """Dashboard queries with template variables substituted (``dashboards.queries``)."""
    all_queries = importlib.import_module("dashboards.queries").all_queries
    recorded = {r["record"] for r in rules_in(rule_files) if "record" in r}
    exprs = [(f"{q.dashboard_uid} / {q.panel_title}", q.expr) for q in all_queries(settings)]
    return _result("PromQL metric names (dashboards)", exprs, recorded)
