"""Reading rendered Grafana dashboard JSON (what ``llmmon diff`` and ``llmmon snapshot`` share).

Only the JSON model is read, never the Python that produced it, so both commands work on
any render folder, including one of an older revision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

GRID_COLUMNS = 24


def panels(dashboard: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every panel in reading order: top-level ones, the panels of rows (collapsed or legacy)."""
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []
    for row in dashboard.get("rows") or []:
        yield from row.get("panels") or []


def defaults(panel: Mapping[str, Any]) -> Mapping[str, Any]:
    return (panel.get("fieldConfig") or {}).get("defaults") or {}


def unit(panel: Mapping[str, Any]) -> str:
    return str(defaults(panel).get("unit") or "")


def threshold_steps(panel: Mapping[str, Any]) -> list[tuple[float | None, str]]:
    """(lower bound, colour) in ascending order; the base step's bound is ``None``."""
    steps = (defaults(panel).get("thresholds") or {}).get("steps") or []
    return [(None if s.get("value") is None else float(s["value"]), str(s.get("color", ""))) for s in steps]


def thresholds_text(panel: Mapping[str, Any]) -> str:
    """``green, yellow from 1, red from 2.5`` (``%`` appended in percentage mode)."""
    mode = (defaults(panel).get("thresholds") or {}).get("mode", "absolute")
    suffix = "%" if mode == "percentage" else ""
    return ", ".join(color if value is None else f"{color} from {value:g}{suffix}"
                     for value, color in threshold_steps(panel))


def targets(panel: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in panel.get("targets") or [] if isinstance(t, Mapping)]


def grid(panel: Mapping[str, Any]) -> tuple[int, int, int, int]:
    """(x, y, w, h) in grid units; Grafana's defaults for missing fields."""
    pos = panel.get("gridPos") or {}
    return int(pos.get("x", 0)), int(pos.get("y", 0)), int(pos.get("w", 12)), int(pos.get("h", 8))
