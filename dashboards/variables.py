"""Template variables (environment, instance, model) shared by the dashboards.

Every variable is multi-select with an "All" option whose value is the regex ``.*``, and
queries use it as ``label=~"$var"``. ``.*`` also matches a series *without* the label:
on a per-environment Prometheus the ``env`` external label is only attached to alerts,
federation and remote write, not to stored series, so "All" (the default) still shows
data there, while a global view whose series carry ``env`` can filter by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafanalib import core as g

from app_instrumentation.catalog import INFERENCE, PROCESS_START_TIME
from dashboards.datasources import PROMETHEUS_REF

#: Value Grafana substitutes for "All" (and what the offline/live query checks use).
ALL = ".*"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    #: Grafana ``label_values(...)`` query that lists the choices.
    query: str

    def template(self) -> g.Template:
        template = g.Template(
            name=self.name,
            label=self.label,
            query=self.query,
            dataSource=PROMETHEUS_REF,
            includeAll=True,
            allValue=ALL,
            multi=True,
            refresh=g.REFRESH_ON_TIME_RANGE_CHANGE,
        )
        # grafanalib derives "current" from ``default`` as a single text=value pair; Grafana's
        # own form for a multi-value variable set to All is lists with the text "All".
        template._current = {"selected": True, "text": ["All"], "value": ["$__all"]}
        return template


ENV = Variable("env", "Environment", "label_values(up, env)")
INSTANCE = Variable("instance", "Instance", f'label_values({PROCESS_START_TIME.name}{{env=~"$env"}}, instance)')
MODEL = Variable(
    "model", "Model", f'label_values({INFERENCE.name}{{env=~"$env", instance=~"$instance"}}, model)'
)
#: Variables of the router dashboards, in dropdown order (later ones filter by earlier ones).
ROUTER_VARIABLES: tuple[Variable, ...] = (ENV, INSTANCE, MODEL)
