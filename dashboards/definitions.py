"""Every dashboard, by fixed uid, and their JSON form."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from dashboards import backends, model_performance, overview, qos, slo, system

BUILDERS: tuple[Callable[[], g.Dashboard], ...] = (
    overview.build,
    model_performance.build,
    system.build,
    qos.build,
    slo.build,
    backends.build,
)


def build_all() -> list[g.Dashboard]:
    dashboards = [build() for build in BUILDERS]
    uids = [d.uid for d in dashboards]
    if len(set(uids)) != len(uids):
        raise ValueError(f"duplicate dashboard uid in {uids}")
    return dashboards


def to_json(dashboard: g.Dashboard) -> str:
    """Deterministic JSON: sorted keys, fixed indent, trailing newline."""
    return json.dumps(dashboard.to_json_data(), cls=DashboardEncoder, sort_keys=True, indent=2,
                      ensure_ascii=False) + "\n"


def as_dict(dashboard: g.Dashboard) -> dict[str, Any]:
    """The dashboard exactly as Grafana receives it (nested grafanalib objects encoded)."""
    return json.loads(to_json(dashboard))
