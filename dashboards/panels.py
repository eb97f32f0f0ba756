"""Panel helpers: one call per panel, the Grafana boilerplate lives here once.

Every helper takes the size (width in grid columns, height in rows) and leaves the position
to :func:`dashboards.layout.place`. Every panel queries Prometheus by the fixed datasource
uid, so a dashboard works in every environment's Grafana without an import step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafanalib import core as g
from grafanalib import formatunits as units

from dashboards.datasources import PROMETHEUS_REF

# Units Grafana does not name; "suffix:" is Grafana's custom-unit syntax.
TOKENS_PER_SECOND = "suffix: tok/s"
ERRORS_PER_SECOND = "suffix: err/s"
USD_PER_HOUR = "suffix: $/h"
CORES = "suffix: cores"
RATIO = units.PERCENT_UNIT

_REF_IDS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


def steps(base: str, *above: tuple[float, str]) -> list[dict[str, object]]:
    """Threshold steps, base colour first; ``above`` pairs (value, colour) ascending."""
    values = [v for v, _ in above]
    if values != sorted(values):
        raise ValueError(f"threshold values must ascend: {values}")
    return [{"color": base, "value": None}] + [{"color": c, "value": v} for v, c in above]


#: Neutral thresholds for panels where no value is good or bad.
NEUTRAL = steps("blue")
#: A ratio that should stay near 1 (success, availability).
HIGH_IS_GOOD = steps("red", (0.9, "yellow"), (0.95, "green"))


def targets(queries: Sequence[Query | str], result_format: str = g.TIME_SERIES_TARGET_FORMAT) -> list[g.Target]:
    if len(queries) > len(_REF_IDS):
        raise ValueError("too many queries in one panel")
    out = []
    for ref, q in zip(_REF_IDS, queries, strict=False):
        q = Query(q) if isinstance(q, str) else q
        out.append(g.Target(expr=q.expr, legendFormat=q.legend, refId=ref, datasource=PROMETHEUS_REF,
                            intervalFactor=1, format=result_format))
    return out


def _common(title: str, description: str, width: int, height: int) -> dict[str, object]:
    return {
        "title": title,
        "description": description,
        "dataSource": PROMETHEUS_REF,
        "gridPos": g.GridPos(h=height, w=width, x=0, y=0),
        # None: Grafana picks one point per pixel (grafanalib's default of 100 is too coarse).
        "maxDataPoints": None,
    }


def timeseries(
    title: str,
    *queries: Query | str,
    unit: str,
    description: str = "",
    thresholds: list[dict[str, object]] | None = None,
    max_value: int | None = None,
    stacked: bool = False,
    width: int = 12,
    height: int = 8,
) -> g.TimeSeries:
    """Lines over time; thresholds, when given, are drawn as dashed lines."""
    return g.TimeSeries(
        **_common(title, description, width, height),
        targets=targets(queries),
        unit=unit,
        valueMin=0,
        valueMax=max_value,
        thresholds=thresholds or NEUTRAL,
        thresholdsStyleMode="dashed" if thresholds else "off",
        stacking={"mode": "normal", "group": "A"} if stacked else {},
        fillOpacity=20 if stacked else 0,
        legendDisplayMode="table",
        legendCalcs=["mean", "max", "lastNotNull"],
        tooltipMode="multi",
        tooltipSort="desc",
    )


def stat(
    title: str,
    query: Query | str,
    *,
    unit: str,
    thresholds: list[dict[str, object]],
    description: str = "",
    max_value: float | None = None,
    width: int = 4,
    height: int = 4,
) -> g.Stat:
    """One current value per series, coloured by ``thresholds``."""
    limits = {"min": 0, "max": max_value} if max_value is not None else {}
    return g.Stat(
        **_common(title, description, width, height),
        targets=targets([query]),
        format=unit,
        thresholds=thresholds,
        color={"mode": "thresholds"},
        reduceCalc="lastNotNull",
        graphMode="area",
        noValue="no data",
        extraJson={"fieldConfig": {"defaults": limits}} if limits else None,
    )


def pie(title: str, query: Query, *, unit: str, description: str = "", width: int = 12, height: int = 8) -> g.PieChartv2:
    return g.PieChartv2(
        **_common(title, description, width, height),
        targets=targets([query]),
        unit=unit,
        pieType="donut",
        legendDisplayMode="table",
        legendPlacement="right",
        legendValues=["value", "percent"],
    )


def heatmap(title: str, expr: str, *, unit: str, description: str = "", width: int = 24, height: int = 8,
            repeat_by: str | None = None) -> g.Heatmap:
    """Bucket counts per interval (``expr`` sums ``increase(..._bucket)`` by le); ``repeat_by`` a
    dashboard variable: one heatmap per selected value (``expr`` filters by that variable)."""
    return g.Heatmap(
        **_common(title, description, width, height),
        repeat=g.Repeat("h", repeat_by) if repeat_by else g.Repeat(),
        targets=targets([Query(expr, "{{le}}")], "heatmap"),
        thresholds=NEUTRAL,
        dataFormat="tsbuckets",
        hideZeroBuckets=True,
        # The current heatmap reads "options"; grafanalib 0.7.1 only writes the legacy keys.
        extraJson={
            "options": {"calculate": False, "yAxis": {"unit": unit}, "cellValues": {"unit": "short"}},
            "fieldConfig": {"defaults": {"unit": unit}},
        },
    )


def state_timeline(
    title: str, query: Query, *, states: dict[int, tuple[str, str]], description: str = "",
    width: int = 12, height: int = 6,
) -> g.StateTimeline:
    """Discrete states over time; ``states`` maps a value to (text, colour)."""
    mapping = {
        "type": "value",
        "options": {str(v): {"text": text, "color": color, "index": i} for i, (v, (text, color)) in
                    enumerate(sorted(states.items()))},
    }
    return g.StateTimeline(
        **_common(title, description, width, height),
        targets=targets([query]),
        mappings=[mapping],
        thresholds=NEUTRAL,
        fillOpacity=80,
        showValue="never",
        rowHeight=0.8,
    )


def row(title: str) -> g.RowPanel:
    """Section header; layout gives it the full width."""
    return g.RowPanel(title=title, gridPos=g.GridPos(h=1, w=24, x=0, y=0))
