"""Every panel query, ready for a Prometheus query API (offline checks and the live test).

``all_queries()`` returns one :class:`PanelQuery` per panel target with Grafana's variables
replaced the way Grafana itself does for the default selection:

* dashboard variables (``$env``, ``$instance``, ``$model``, ``$slo``) become ``.*``, the
  value of their "All" option; ``.*`` also matches series without the label, which is why
  the queries return data on a single local Prometheus whose stored series carry no ``env``;
* ``$__rate_interval`` becomes ``rate_interval``: pass at least four scrape intervals of the
  Prometheus being queried, as Grafana does (default: four of ``settings``' interval, or 1m).

Run them as instant queries (``/api/v1/query``) after the example router has served traffic
for a few scrape intervals. Panels of event counters (fallbacks, retries, rate limits,
errors, instrumentation health) only have series once such an event happened: the live test
injects faults (``POST /admin/faults``) before querying. SLO panels need the recording rules
of ``alerts.recording`` loaded in that Prometheus.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import promql_parser

from dashboards.definitions import as_dict, build_all
from dashboards.variables import ALL
from foundation.settings import Settings

#: Grafana built-ins the dashboards use (anything else starting with $ must be a variable).
BUILTINS = frozenset({"__rate_interval"})
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
LEGEND_LABEL = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class PanelQuery(NamedTuple):
    dashboard_uid: str
    panel_title: str
    expr: str
    #: Grafana legend template; its ``{{label}}`` names must be labels of every result series.
    legend: str = ""


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panels(panel)


def raw_queries() -> list[tuple[Mapping[str, Any], PanelQuery]]:
    """(dashboard JSON, query with Grafana variables still in it) for every panel target."""
    out = []
    for dashboard in map(as_dict, build_all()):
        for panel in panels(dashboard):
            for target in panel.get("targets") or []:
                query = PanelQuery(dashboard["uid"], panel["title"], target["expr"], target.get("legendFormat", ""))
                out.append((dashboard, query))
    return out


def legend_labels(legend: str) -> set[str]:
    """Label names a legend template prints (``{{model}} {{token_type}}`` → model, token_type)."""
    return set(LEGEND_LABEL.findall(legend))


def variables_used(expr: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in VARIABLE.finditer(expr)}


def substitute(expr: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def default_rate_interval(settings: Settings | None) -> str:
    """Four scrape intervals (Grafana's lower bound for ``$__rate_interval``), else 1m."""
    if settings is None:
        return "1m"
    return promql_parser.display_duration(4 * promql_parser.parse_duration(settings.router.scrape_interval))


def all_queries(
    settings: Settings | None = None,
    *,
    rate_interval: str | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[PanelQuery]:
    """Every (dashboard uid, panel title, expr) with variables substituted, in dashboard order.

    ``rate_interval`` replaces ``$__rate_interval`` (default: four of ``settings``' scrape
    intervals, or 1m); ``overrides`` replaces variable values (e.g. ``{"model": "llama-3-8b"}``).
    """
    window = rate_interval or default_rate_interval(settings)
    out = []
    for dashboard, query in raw_queries():
        values = {t["name"]: ALL for t in dashboard["templating"]["list"]}
        values["__rate_interval"] = window
        values.update(overrides or {})
        out.append(query._replace(expr=substitute(query.expr, values)))
    return out
