"""Panel data from Prometheus: Grafana's variables substituted, range queries over the snapshot window.

Variables take their "All" value (the dashboard's ``allValue``, else ``.*``) or their
current one; ``$__rate_interval`` is Grafana's max(4 × scrape interval, step + scrape
interval), with the scrape interval read from the Prometheus being queried.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import promql_parser
import yaml

from llmmon import dashboard_json as dj
from llmmon.localstack.api import Prometheus
from llmmon.localstack.httpjson import get_json

VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
#: Points per series: about one per two pixels of a half-width panel.
POINTS = 240
DEFAULT_SCRAPE_S = 60.0  # Prometheus' own default


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    step: float
    scrape_s: float = DEFAULT_SCRAPE_S

    @classmethod
    def ending(cls, end: float | None, range_: str, scrape_s: float = DEFAULT_SCRAPE_S) -> Window:
        seconds = duration_s(range_)
        end = time.time() if end is None else end
        return cls(end - seconds, end, max(1.0, math.ceil(seconds / POINTS)), scrape_s)

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Series:
    name: str
    labels: Mapping[str, str]
    times: list[float]
    values: list[float]


@dataclass
class PanelData:
    series: list[Series] = field(default_factory=list)
    error: str | None = None

    @property
    def empty(self) -> bool:
        return self.error is None and not any(s.values for s in self.series)


def duration_s(text: str) -> float:
    try:
        return promql_parser.parse_duration(text).total_seconds()
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 15m, 1h, 7d)") from exc


def scrape_interval_s(prometheus: Prometheus) -> float:
    """The queried Prometheus' global scrape interval (its status API), else its default."""
    try:
        config = yaml.safe_load(get_json(f"{prometheus.url}/api/v1/status/config", timeout=10)["data"]["yaml"]) or {}
        return duration_s(str((config.get("global") or {}).get("scrape_interval", "1m")))
    except (RuntimeError, OSError, KeyError, ValueError, yaml.YAMLError):
        return DEFAULT_SCRAPE_S


def variable_values(dashboard: Mapping[str, Any], window: Window) -> dict[str, str]:
    rate = max(4 * window.scrape_s, window.step + window.scrape_s)
    values = {"__rate_interval": f"{int(rate)}s", "__interval": f"{int(window.step)}s",
              "__interval_ms": str(int(window.step * 1000)), "__range": f"{int(window.seconds)}s",
              "__range_s": str(int(window.seconds)), "__range_ms": str(int(window.seconds * 1000))}
    for var in (dashboard.get("templating") or {}).get("list") or []:
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list):
            current = current[0] if len(current) == 1 else "|".join(current)
        if var.get("includeAll") and current in (None, "$__all", "All"):
            values[var["name"]] = var.get("allValue") or ".*"
        else:
            values[var["name"]] = ".*" if current in (None, "$__all") else str(current)
    return values


def substitute(expr: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        return values.get(name, match.group(0))

    return VARIABLE.sub(replace, expr)


def legend(template: str, labels: Mapping[str, str], expr: str) -> str:
    """Grafana's legend: the template with labels filled in, else ``metric{labels}``."""
    if template:
        return LEGEND.sub(lambda m: labels.get(m.group(1), ""), template)
    shown = {k: v for k, v in labels.items() if k != "__name__"}
    name = labels.get("__name__", "")
    if not shown:
        return name or expr
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}"


def fetch(prometheus: Prometheus, dashboard: Mapping[str, Any], panel: Mapping[str, Any], window: Window) -> PanelData:
    """Every visible target of the panel over the window; a failing query is the panel's error."""
    values = variable_values(dashboard, window)
    data = PanelData()
    for target in dj.targets(panel):
        raw = str(target.get("expr") or "")
        if not raw.strip() or target.get("hide"):
            continue
        expr = substitute(raw, values)
        try:
            result = prometheus.query_range(expr, window.start, window.end, f"{window.step:g}s")
        except (RuntimeError, OSError) as exc:
            data.error = str(exc)
            return data
        for item in result:
            points = [(float(t), float(v)) for t, v in item.get("values", [])]
            data.series.append(Series(legend(str(target.get("legendFormat") or ""), item["metric"], raw),
                                      item["metric"], [t for t, _ in points], [v for _, v in points]))
    return data
