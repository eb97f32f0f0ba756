"""One panel drawn into its box: time series, stat, gauge, bar gauge, pie, heatmap, state
timeline, table, text, row; any other type with queries is drawn as time series."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from matplotlib.axes import Axes
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from llmmon import dashboard_json as dj
from llmmon.snapshot import colors
from llmmon.snapshot.data import PanelData, Series, Window
from llmmon.snapshot.units import format_value

NO_DATA = "No data"
TITLE_PX = 24
LEGEND_ROW_PX = 14
FONT = 8

Box = tuple[float, float, float, float]  # left, bottom, width, height in figure pixels
Drawer = Callable[[Figure, Box, Mapping[str, Any], PanelData, Window], None]


def frame(fig: Figure, box: Box, panel: Mapping[str, Any]) -> Axes:
    """The panel's background, border and title; returns the frame axes (pixel units)."""
    ax = _axes(fig, box)
    ax.set_xlim(0, box[2])
    ax.set_ylim(0, box[3])
    ax.axis("off")
    ax.add_patch(Rectangle((0.5, 0.5), box[2] - 1, box[3] - 1, facecolor=colors.PANEL, edgecolor=colors.BORDER,
                           linewidth=1))
    ax.text(8, box[3] - TITLE_PX / 2, _clip(str(panel.get("title") or ""), int((box[2] - 16) / 6.2)),
            color=colors.TEXT, fontsize=FONT + 1, fontweight="bold", va="center", ha="left")
    return ax


def message(ax: Axes, box: Box, text: str, color: str = colors.MUTED) -> None:
    ax.text(box[2] / 2, (box[3] - TITLE_PX) / 2, text, color=color, fontsize=FONT + 3, ha="center", va="center",
            wrap=True)


def draw_panel(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> str:
    """Draw the panel; returns what it shows: 'data', 'no data', 'error', or 'static'."""
    kind = str(panel.get("type") or "timeseries")
    if kind == "row":
        _row(fig, box, panel)
        return "static"
    ax = frame(fig, box, panel)
    if kind == "text":
        content = str((panel.get("options") or {}).get("content") or panel.get("content") or "")
        ax.text(8, box[3] - TITLE_PX - 6, content[:600], color=colors.TEXT, fontsize=FONT, va="top", wrap=True)
        return "static"
    if data.error:
        message(ax, box, f"Query error\n{data.error[:160]}", colors.ERROR)
        return "error"
    if data.empty:
        message(ax, box, NO_DATA)
        return "no data"
    DRAWERS.get(kind, timeseries)(fig, box, panel, data, window)
    return "data"


# --- helpers ----------------------------------------------------------------------------

def _axes(fig: Figure, box: Box) -> Axes:
    width, height = fig.get_size_inches() * fig.dpi
    left, bottom, w, h = box
    return fig.add_axes((left / width, bottom / height, max(w, 1) / width, max(h, 1) / height))


def _inner(fig: Figure, box: Box, top: float, bottom: float, left: float = 52, right: float = 10) -> Axes:
    x, y, w, h = box
    ax = _axes(fig, (x + left, y + bottom, w - left - right, h - top - bottom))
    ax.set_facecolor(colors.PANEL)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(colors=colors.MUTED, labelsize=FONT - 1, length=0)
    ax.grid(True, color=colors.GRID, linewidth=0.6)
    return ax


def _unit_axis(ax: Axes, panel: Mapping[str, Any]) -> None:
    unit, decimals = dj.unit(panel), dj.defaults(panel).get("decimals")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit, decimals)))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    defaults = dj.defaults(panel)
    low, high = defaults.get("min"), defaults.get("max")
    if low is not None or high is not None:
        ax.set_ylim(bottom=low, top=high)


def _time_axis(ax: Axes, window: Window) -> None:
    ax.set_xlim(_dt(window.start), _dt(window.end))
    ax.xaxis.set_major_formatter(DateFormatter("%H:%M", tz=UTC))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def reduce(values: Sequence[float], calc: str) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return None
    table: dict[str, Callable[[list[float]], float]] = {
        "lastNotNull": lambda v: v[-1], "last": lambda v: v[-1], "first": lambda v: v[0],
        "firstNotNull": lambda v: v[0], "mean": lambda v: sum(v) / len(v), "max": max, "min": min, "sum": sum,
        "count": lambda v: float(len(v)), "range": lambda v: max(v) - min(v), "delta": lambda v: v[-1] - v[0],
    }
    return table.get(calc, table["lastNotNull"])(finite)


def _calc(panel: Mapping[str, Any]) -> str:
    calcs = ((panel.get("options") or {}).get("reduceOptions") or {}).get("calcs") or ["lastNotNull"]
    return str(calcs[0])


def threshold_color(panel: Mapping[str, Any], value: float | None) -> str:
    """The colour of the highest threshold step at or below ``value`` (the base step below all)."""
    steps = dj.threshold_steps(panel)
    chosen = steps[0][1] if steps else "green"
    for bound, color in steps:
        if bound is not None and value is not None and value >= bound:
            chosen = color
    return colors.grafana(chosen)


def value_color(panel: Mapping[str, Any], value: float | None, index: int) -> str:
    color = dj.defaults(panel).get("color") or {}
    mode = color.get("mode", "thresholds")
    if mode == "fixed":
        return colors.grafana(color.get("fixedColor"), colors.series(index))
    if mode == "thresholds":
        return threshold_color(panel, value)
    return colors.series(index)


def mapped(panel: Mapping[str, Any], value: float | None) -> tuple[str, str] | None:
    """(text, colour) of a value mapping that matches ``value``."""
    for mapping in dj.defaults(panel).get("mappings") or []:
        options = mapping.get("options") or {}
        if mapping.get("type") == "value" and value is not None:
            for key, result in options.items():
                try:
                    if float(key) == value:
                        return str(result.get("text", key)), colors.grafana(result.get("color"), colors.TEXT)
                except ValueError:
                    continue
        if mapping.get("type") == "range" and value is not None:
            low, high = options.get("from"), options.get("to")
            if (low is None or value >= low) and (high is None or value <= high):
                result = options.get("result") or {}
                return str(result.get("text", "")), colors.grafana(result.get("color"), colors.TEXT)
    return None


def _legend(fig: Figure, box: Box, entries: Sequence[tuple[str, str]], rows: int) -> None:
    """Colour swatch + name per entry, in as many columns as fit, ``+N more`` when cut."""
    if rows <= 0 or not entries:
        return
    x, y, w, _ = box
    columns = max(1, int((w - 16) // 230))
    capacity = rows * columns
    shown = list(entries[:capacity])
    if len(entries) > capacity:
        shown[-1] = (f"+{len(entries) - capacity + 1} more", colors.MUTED)
    ax = _axes(fig, (x + 8, y + 4, w - 16, rows * LEGEND_ROW_PX))
    ax.axis("off")
    ax.set_xlim(0, w - 16)
    ax.set_ylim(0, rows * LEGEND_ROW_PX)
    col_w = (w - 16) / columns
    for i, (label, color) in enumerate(shown):
        cx, cy = (i % columns) * col_w, rows * LEGEND_ROW_PX - (i // columns + 0.5) * LEGEND_ROW_PX
        ax.add_line(Line2D([cx, cx + 12], [cy, cy], color=color, linewidth=2.5))
        ax.text(cx + 16, cy, _clip(label, int(col_w / 5.8)), color=colors.TEXT, fontsize=FONT - 1, va="center")


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _legend_label(panel: Mapping[str, Any], s: Series) -> str:
    calcs = ((panel.get("options") or {}).get("legend") or {}).get("calcs") or []
    unit, decimals = dj.unit(panel), dj.defaults(panel).get("decimals")
    extra = "  ".join(f"{c.replace('lastNotNull', 'last')} {format_value(reduce(s.values, c), unit, decimals)}"
                      for c in calcs[:3])
    return f"{s.name}  {extra}" if extra else s.name


def _legend_rows(box: Box, count: int) -> int:
    columns = max(1, int((box[2] - 16) // 230))
    fits = int((box[3] - TITLE_PX - 60) // LEGEND_ROW_PX)
    return max(0, min(math.ceil(count / columns), fits, 4))


# --- panel types ------------------------------------------------------------------------

def timeseries(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    series = [s for s in data.series if s.values]
    rows = _legend_rows(box, len(series))
    ax = _inner(fig, box, top=TITLE_PX + 4, bottom=rows * LEGEND_ROW_PX + 20)
    custom = dj.defaults(panel).get("custom") or {}
    fill = float(custom.get("fillOpacity") or 0) / 100
    entries = []
    for i, s in enumerate(series):
        color = colors.series(i)
        times = [_dt(t) for t in s.times]
        ax.plot(times, s.values, color=color, linewidth=float(custom.get("lineWidth") or 1) + 0.2)
        if fill:
            ax.fill_between(times, s.values, color=color, alpha=fill)
        entries.append((_legend_label(panel, s), color))
    _unit_axis(ax, panel)
    if (custom.get("thresholdsStyle") or {}).get("mode", "off") != "off":
        low, high = ax.get_ylim()  # thresholds are drawn where the data is, never stretch the axis
        for bound, color in dj.threshold_steps(panel):
            if bound is not None and low <= bound <= high:
                ax.axhline(bound, color=colors.grafana(color), linestyle="--", linewidth=1)
        ax.set_ylim(low, high)
    _time_axis(ax, window)
    _legend(fig, box, entries, rows)


def stat(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    series = [s for s in data.series if s.values][:12]
    calc, unit, decimals = _calc(panel), dj.unit(panel), dj.defaults(panel).get("decimals")
    background = (panel.get("options") or {}).get("colorMode") == "background"
    x, y, w, h = box
    cell_w = (w - 8) / len(series)
    for i, s in enumerate(series):
        value = reduce(s.values, calc)
        shown = mapped(panel, value)
        text, color = shown if shown else (format_value(value, unit, decimals), value_color(panel, value, i))
        cell = (x + 4 + i * cell_w, y + 4, cell_w, h - TITLE_PX - 8)
        ax = _axes(fig, cell)
        ax.axis("off")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        if background:
            ax.add_patch(Rectangle((0.02, 0.02), 0.96, 0.96, facecolor=color, alpha=0.85))
            color = colors.CANVAS
        size = max(10.0, min(cell[3] * 0.42, cell_w / max(len(text), 3) * 1.5) * 72 / fig.dpi)
        ax.text(0.5, 0.5, text, color=color, fontsize=size, fontweight="bold",
                ha="center", va="center")
        if len(series) > 1:
            ax.text(0.5, 0.9, _clip(s.name, int(cell_w / 5.5)), color=colors.TEXT, fontsize=FONT - 1, ha="center",
                    va="center")
        if (panel.get("options") or {}).get("graphMode") == "area" and len(s.values) > 1 and not background:
            spark = _axes(fig, (cell[0], cell[1], cell[2], cell[3] * 0.3))
            spark.axis("off")
            spark.fill_between(range(len(s.values)), s.values, color=color, alpha=0.18, linewidth=0)
            spark.plot(range(len(s.values)), s.values, color=color, alpha=0.6, linewidth=0.8)


def gauge(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    """A stat with a bar showing the value between the panel's min and max."""
    stat(fig, box, panel, data, window)
    defaults = dj.defaults(panel)
    series = [s for s in data.series if s.values][:12]
    x, y, w, _ = box
    cell_w = (w - 8) / len(series)
    low = float(defaults.get("min") if defaults.get("min") is not None else 0)
    high = float(defaults.get("max") if defaults.get("max") is not None else 100)
    for i, s in enumerate(series):
        value = reduce(s.values, _calc(panel)) or 0.0
        share = 0.0 if high <= low else min(max((value - low) / (high - low), 0.0), 1.0)
        ax = _axes(fig, (x + 12 + i * cell_w, y + 8, cell_w - 16, 6))
        ax.axis("off")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.add_patch(Rectangle((0, 0), 1, 1, facecolor=colors.GRID))
        ax.add_patch(Rectangle((0, 0), share, 1, facecolor=value_color(panel, value, i)))


def bargauge(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    series = [s for s in data.series if s.values][:20]
    ax = _inner(fig, box, top=TITLE_PX + 4, bottom=16, left=min(160, box[2] * 0.35))
    values = [reduce(s.values, _calc(panel)) or 0.0 for s in series]
    ax.barh(range(len(series)), values, color=[value_color(panel, v, i) for i, v in enumerate(values)])
    ax.set_yticks(range(len(series)), [_clip(s.name, 28) for s in series])
    ax.invert_yaxis()
    unit, decimals = dj.unit(panel), dj.defaults(panel).get("decimals")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_value(v, unit, decimals)))


def piechart(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    series = [s for s in data.series if s.values]
    values = [max(reduce(s.values, _calc(panel)) or 0.0, 0.0) for s in series]
    x, y, w, h = box
    side = min(w * 0.5, h - TITLE_PX - 12)
    ax = _axes(fig, (x + 10, y + 6, side, side))
    palette = [colors.series(i) for i in range(len(series))]
    if sum(values) <= 0:
        frame_ax = _axes(fig, box)
        frame_ax.axis("off")
        message(frame_ax, box, "All values are zero")
        return
    donut = (panel.get("options") or {}).get("pieType") == "donut"
    ax.pie(values, colors=palette, startangle=90, counterclock=False,
           wedgeprops={"width": 0.45 if donut else 1, "edgecolor": colors.PANEL, "linewidth": 1})
    unit, decimals = dj.unit(panel), dj.defaults(panel).get("decimals")
    total = sum(values)
    entries = [(f"{s.name}  {format_value(v, unit, decimals)} ({100 * v / total:.0f}%)", c)
               for s, v, c in zip(series, values, palette, strict=True)]
    legend_box = (x + side + 16, y, w - side - 20, h - TITLE_PX)
    rows = int((legend_box[3] - 8) // LEGEND_ROW_PX)
    _legend(fig, legend_box, entries, min(rows, len(entries)))


def heatmap(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    """Buckets (``le``) as rows, time as columns; cumulative bucket counts are de-accumulated."""
    series = [s for s in data.series if s.values]
    if all("le" in s.labels for s in series):
        series.sort(key=lambda s: float(s.labels["le"]))
        names = [s.labels["le"] for s in series]
    else:
        names = [s.name for s in series]
    times = sorted({t for s in series for t in s.times})
    index = {t: i for i, t in enumerate(times)}
    grid = [[math.nan] * len(times) for _ in series]
    for row, s in enumerate(series):
        for t, v in zip(s.times, s.values, strict=True):
            grid[row][index[t]] = v
    if names and all("le" in s.labels for s in series):
        for row in range(len(grid) - 1, 0, -1):
            grid[row] = [a - b if not (math.isnan(a) or math.isnan(b)) else a for a, b in zip(grid[row], grid[row - 1],
                                                                                                 strict=True)]
    ax = _inner(fig, box, top=TITLE_PX + 4, bottom=20)
    ax.grid(False)
    ax.imshow(grid, aspect="auto", origin="lower", cmap="inferno", interpolation="nearest",
              extent=(0, len(times), 0, len(series)))
    step = max(1, len(names) // 6)
    ax.set_yticks([i + 0.5 for i in range(0, len(names), step)], [names[i] for i in range(0, len(names), step)])
    ticks = list(range(0, len(times), max(1, len(times) // 6)))
    ax.set_xticks(ticks, [_dt(times[i]).strftime("%H:%M") for i in ticks])


def state_timeline(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    """One band per series, coloured by value mapping (else thresholds), legend of the states."""
    series = [s for s in data.series if s.values]
    ax = _inner(fig, box, top=TITLE_PX + 4, bottom=LEGEND_ROW_PX + 22, left=min(110, box[2] * 0.25))
    ax.grid(False)
    states: dict[str, str] = {}
    for row, s in enumerate(series):
        for i, (t, v) in enumerate(zip(s.times, s.values, strict=True)):
            end = s.times[i + 1] if i + 1 < len(s.times) else window.end
            shown = mapped(panel, v)
            text, color = shown if shown else (format_value(v, dj.unit(panel)), threshold_color(panel, v))
            states.setdefault(text, color)
            ax.barh(row, (end - t) / 86400, left=date2num(_dt(t)), height=0.8, color=color, linewidth=0)
    ax.set_yticks(range(len(series)), [_clip(s.name, 18) for s in series])
    ax.invert_yaxis()
    _time_axis(ax, window)
    _legend(fig, box, list(states.items()), 1)


def table(fig: Figure, box: Box, panel: Mapping[str, Any], data: PanelData, window: Window) -> None:
    series = [s for s in data.series if s.values]
    rows = int((box[3] - TITLE_PX - 10) // LEGEND_ROW_PX)
    unit, decimals, calc = dj.unit(panel), dj.defaults(panel).get("decimals"), _calc(panel)
    entries = [(f"{s.name}:  {format_value(reduce(s.values, calc), unit, decimals)}", colors.TEXT) for s in series]
    _legend(fig, (box[0], box[1] + 4, box[2], box[3] - TITLE_PX - 8), entries, min(rows, len(entries)))


def _row(fig: Figure, box: Box, panel: Mapping[str, Any]) -> None:
    ax = _axes(fig, box)
    ax.axis("off")
    ax.set_xlim(0, box[2])
    ax.set_ylim(0, box[3])
    collapsed = len(panel.get("panels") or [])
    suffix = f"  ({collapsed} panels, collapsed)" if collapsed else ""
    ax.text(4, box[3] / 2, f"{panel.get('title', '')}{suffix}", color=colors.TEXT, fontsize=FONT + 3,
            fontweight="bold", va="center")


DRAWERS: dict[str, Drawer] = {
    "timeseries": timeseries, "graph": timeseries, "stat": stat, "singlestat": stat, "gauge": gauge,
    "bargauge": bargauge, "piechart": piechart, "heatmap": heatmap, "state-timeline": state_timeline,
    "status-history": state_timeline, "table": table,
}
