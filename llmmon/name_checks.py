"""``llmmon check``'s PromQL name checks: every metric a rule or dashboard query names must exist."""

from __future__ import annotations

from pathlib import Path

from dashboards.queries import all_queries
from foundation.promql_names import rules_in, unknown_names
from foundation.settings import Settings
from llmmon.checkers import CheckResult


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
    recorded = {r["record"] for r in rules_in(rule_files) if "record" in r}
    exprs = [(f"{q.dashboard_uid} / {q.panel_title}", q.expr) for q in all_queries(settings)]
    return _result("PromQL metric names (dashboards)", exprs, recorded)
