"""The dashboard frame every LLM router dashboard shares: uid, tags, variables, links."""

from __future__ import annotations

from collections.abc import Sequence

import attr
from grafanalib import core as g

from dashboards.layout import place
from dashboards.uids import dashboard_path
from dashboards.variables import ROUTER_VARIABLES, Variable

#: Tag on every dashboard here; the "LLM Router" link menu lists dashboards with it.
TAG = "llm-router"
#: Schema of the Grafana 10/11 dashboard JSON (grafanalib defaults to an ancient 12,
#: which makes Grafana run every migration on load).
SCHEMA_VERSION = 39


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: Sequence[g.Panel],
    variables: Sequence[Variable] = ROUTER_VARIABLES,
) -> g.Dashboard:
    return g.Dashboard(
        uid=uid,
        title=title,
        description=description,
        tags=[TAG],
        panels=place(panels),
        templating=g.Templating(list=[v.template() for v in variables]),
        links=[
            g.DashboardLink(
                title="LLM Router", type="dashboards", tags=[TAG], asDropdown=True, includeVars=True, keepTime=True
            )
        ],
        time=g.Time("now-1h", "now"),
        timezone="utc",
        refresh="30s",
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        editable=False,
        schemaVersion=SCHEMA_VERSION,
    )


def drilldown(title: str, uid: str) -> dict[str, object]:
    """Panel link to another dashboard, keeping the time range and variables."""
    return {"title": title, "url": f"{dashboard_path(uid)}?${{__url_time_range}}&${{__all_variables}}"}


def with_links(panel: g.Panel, *links: dict[str, object]) -> g.Panel:
    return attr.evolve(panel, links=list(links))
