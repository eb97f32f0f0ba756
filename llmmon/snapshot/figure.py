"""A whole dashboard as one PNG: Grafana's 24-column grid, a header with the title and time range.

Layout (pixels): the image is ``width`` wide; each grid row is ``ROW_PX`` high; the header
is ``HEADER_PX`` and the bottom margin ``MARGIN_PX``. So a dashboard whose lowest panel ends
at grid row R is ``HEADER_PX + R × ROW_PX + MARGIN_PX`` high.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from llmmon import dashboard_json as dj
from llmmon.snapshot import colors
from llmmon.snapshot.data import PanelData, Window
from llmmon.snapshot.draw import draw_panel

ROW_PX = 36
HEADER_PX = 64
MARGIN_PX = 8
GAP_PX = 6
DPI = 100

Fetch = Callable[[Mapping[str, Any]], PanelData]


@dataclass
class Drawing:
    figure: Figure
    #: Panel title -> what it shows ('data', 'no data', 'error', 'static'), in grid order.
    panels: dict[str, str] = field(default_factory=dict)


def visible_panels(dashboard: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Panels on screen: top-level ones (rows drawn as headers; collapsed rows hide their panels)."""
    out = list(dashboard.get("panels") or [])
    for row in dashboard.get("rows") or []:  # legacy rows: panels placed one after another
        out += list(row.get("panels") or [])
    return sorted(out, key=lambda p: (dj.grid(p)[1], dj.grid(p)[0]))


def grid_rows(dashboard: Mapping[str, Any]) -> int:
    return max((y + h for _, y, _, h in map(dj.grid, visible_panels(dashboard))), default=1)


def height_px(dashboard: Mapping[str, Any]) -> int:
    return HEADER_PX + grid_rows(dashboard) * ROW_PX + MARGIN_PX


def plain_text() -> Any:
    """Text drawn as written: a ``$`` in a unit or legend ("$/h") is not the start of TeX math."""
    return rc_context({"text.parse_math": False})


def draw_dashboard(dashboard: Mapping[str, Any], fetch: Fetch, window: Window, width: int = 1600,
                   subtitle: str = "") -> Drawing:
    with plain_text():
        return _draw_dashboard(dashboard, fetch, window, width, subtitle)


def _draw_dashboard(dashboard: Mapping[str, Any], fetch: Fetch, window: Window, width: int, subtitle: str) -> Drawing:
    height = height_px(dashboard)
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=colors.CANVAS)
    FigureCanvasAgg(fig)
    start, end = (datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M") for t in (window.start, window.end))
    fig.text(MARGIN_PX / width, 1 - 24 / height, str(dashboard.get("title") or dashboard.get("uid") or ""),
             color=colors.TEXT, fontsize=15, fontweight="bold", va="center")
    fig.text(MARGIN_PX / width, 1 - 48 / height, f"{start} → {end} UTC{'   ' + subtitle if subtitle else ''}",
             color=colors.MUTED, fontsize=9, va="center")
    drawing = Drawing(fig)
    column = (width - 2 * MARGIN_PX) / dj.GRID_COLUMNS
    for panel in visible_panels(dashboard):
        x, y, w, h = dj.grid(panel)
        box = (MARGIN_PX + x * column + GAP_PX / 2, height - HEADER_PX - (y + h) * ROW_PX + GAP_PX / 2,
               w * column - GAP_PX, h * ROW_PX - GAP_PX)
        data = PanelData() if panel.get("type") in ("row", "text") else fetch(panel)
        title, n = str(panel.get("title") or panel.get("type")), 1
        while title in drawing.panels:
            n += 1
            title = f"{panel.get('title') or panel.get('type')} #{n}"
        drawing.panels[title] = draw_panel(fig, box, panel, data, window)
    return drawing


def save(drawing: Drawing, path: Path) -> Path:
    """PNG at exactly the figure's pixel size; panel states in its metadata for tools and tests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    states = "; ".join(f"{title}: {state}" for title, state in drawing.panels.items())
    with plain_text():
        drawing.figure.savefig(path, dpi=DPI, facecolor=drawing.figure.get_facecolor(),
                               metadata={"Software": "llmmon snapshot", "Description": states})
    return path


def side_by_side(before: Drawing, after: Drawing, path: Path, labels: tuple[str, str] = ("before", "after")) -> Path:
    """The two drawings next to each other in one PNG, each under its label."""
    images = []
    for drawing in (before, after):
        canvas = drawing.figure.canvas
        with plain_text():
            canvas.draw()
        images.append(canvas.buffer_rgba())
    import numpy as np  # a matplotlib dependency

    arrays = [np.asarray(i) for i in images]
    height = max(a.shape[0] for a in arrays) + 28
    width = sum(a.shape[1] for a in arrays) + 12
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=colors.CANVAS)
    FigureCanvasAgg(fig)
    left = 0
    for array, label in zip(arrays, labels, strict=True):
        h, w = array.shape[:2]
        ax = fig.add_axes((left / width, (height - 28 - h) / height, w / width, h / height))
        ax.imshow(array, interpolation="nearest")
        ax.axis("off")
        fig.text((left + 8) / width, 1 - 14 / height, label, color=colors.TEXT, fontsize=12, fontweight="bold",
                 va="center")
        left += w + 12
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, facecolor=colors.CANVAS)
    return path
