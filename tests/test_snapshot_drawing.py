"""How ``llmmon snapshot`` draws one panel, checked on the matplotlib figure (no Prometheus needed)."""

from __future__ import annotations

from typing import Any

import pytest
from matplotlib.text import Text

from llmmon.snapshot.data import PanelData, Series, Window, legend, substitute, variable_values
from llmmon.snapshot.figure import draw_dashboard
from llmmon.snapshot.units import format_value

WINDOW = Window(start=1_700_000_000, end=1_700_003_600, step=60, scrape_s=15)
#: Grafana's dark-theme named colours (its design system): what a stat turns at each step.
GREEN, YELLOW, RED = "#73bf69", "#fade2a", "#f2495c"


def panel(kind: str, title: str = "P", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "title": title, "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
            "targets": [{"expr": "up", "refId": "A"}], **extra}


def stat_panel(unit: str = "s") -> dict[str, Any]:
    return panel("stat", "Latency", fieldConfig={"defaults": {"unit": unit, "color": {"mode": "thresholds"},
                 "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                              {"color": "yellow", "value": 1},
                                                              {"color": "red", "value": 2.5}]}}},
                 options={"colorMode": "value", "graphMode": "none", "reduceOptions": {"calcs": ["lastNotNull"]}})


def series(*values: float, name: str = "s", labels: dict[str, str] | None = None) -> Series:
    times = [WINDOW.start + i * WINDOW.step for i in range(len(values))]
    return Series(name, labels or {}, times, list(values))


def texts(fig: Any) -> list[Text]:
    return [t for ax in fig.axes for t in ax.texts] + list(fig.texts)


def draw(panels: list[dict[str, Any]], data: dict[str, PanelData]) -> Any:
    return draw_dashboard({"title": "D", "panels": panels}, lambda p: data[p["title"]], WINDOW, width=1000)


@pytest.mark.parametrize(("value", "color"), [(0.5, GREEN), (1.0, YELLOW), (2.4, YELLOW), (3.0, RED)])
def test_stat_is_a_big_number_coloured_by_its_threshold(value: float, color: str) -> None:
    drawing = draw([stat_panel()], {"Latency": PanelData([series(9.0, value)])})
    [big] = [t for t in texts(drawing.figure) if t.get_text() == format_value(value, "s")]
    assert big.get_color().lower() == color
    assert big.get_fontsize() > 20


def test_empty_panel_says_no_data_inside_its_box() -> None:
    drawing = draw([panel("timeseries", "Empty"), {**panel("timeseries", "Full"),
                                                   "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8}}],
                   {"Empty": PanelData(), "Full": PanelData([series(1, 2, 3)])})
    assert drawing.panels == {"Empty": "no data", "Full": "data"}
    fig = drawing.figure
    fig.canvas.draw()
    [no_data] = [t for t in texts(fig) if t.get_text() == "No data"]
    box = no_data.get_window_extent()
    assert box.x1 < fig.get_size_inches()[0] * fig.dpi / 2  # in the left (empty) half, not omitted


def test_failed_query_is_drawn_as_an_error() -> None:
    drawing = draw([panel("timeseries", "Bad")], {"Bad": PanelData(error="parse error at char 3")})
    assert drawing.panels == {"Bad": "error"}
    assert any("parse error at char 3" in t.get_text() for t in texts(drawing.figure))


def test_time_series_have_legends_with_their_names_and_units_on_the_axis() -> None:
    p = panel("timeseries", "Rate", fieldConfig={"defaults": {"unit": "reqps"}}, options={"legend": {"calcs": ["max"]}})
    drawing = draw([p], {"Rate": PanelData([series(1, 4, name="llama"), series(2, 3, name="mistral")])})
    shown = [t.get_text() for t in texts(drawing.figure)]
    assert any(s.startswith("llama") and "max 4 req/s" in s for s in shown)
    assert any(s.startswith("mistral") for s in shown)
    fig = drawing.figure
    fig.canvas.draw()
    ticks = [t.get_text() for ax in fig.axes if ax.axison for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.endswith("req/s") for t in ticks)


@pytest.mark.parametrize("kind", ["timeseries", "stat", "gauge", "bargauge", "piechart", "heatmap",
                                  "state-timeline", "table", "some-future-panel"])
def test_every_panel_type_draws_data(kind: str) -> None:
    buckets = [series(i, i * 2, i * 3, name=le, labels={"le": le}) for i, le in enumerate(["1", "5", "+Inf"], 1)]
    drawing = draw([panel(kind, "X")], {"X": PanelData(buckets)})
    assert drawing.panels == {"X": "data"}
    assert len(drawing.figure.axes) > 1


def test_rows_and_text_panels_need_no_query() -> None:
    row = {"type": "row", "title": "Section", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": []}
    text = {"type": "text", "title": "Notes", "gridPos": {"x": 0, "y": 1, "w": 24, "h": 3},
            "options": {"content": "read me"}}
    drawing = draw_dashboard({"title": "D", "panels": [row, text]}, lambda p: pytest.fail("queried"), WINDOW)
    assert drawing.panels == {"Section": "static", "Notes": "static"}


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (0.5, "percentunit", "50%"), (0.25, "s", "250 ms"), (90, "s", "1.5 min"), (1024, "bytes", "1 KiB"),
    (3.5, "reqps", "3.5 req/s"), (12, "suffix: tok/s", "12 tok/s"), (1500, "short", "1.5 k"),
    (2.0, "currencyUSD", "$2"), (7, "widgets", "7 widgets"), (None, "s", "–"),
])
def test_units_as_grafana_shows_them(value: float | None, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown


def test_variables_take_their_all_value_and_rate_interval_follows_grafana() -> None:
    dashboard = {"templating": {"list": [
        {"name": "env", "includeAll": True, "allValue": ".*", "current": {"value": ["$__all"]}},
        {"name": "model", "includeAll": False, "current": {"value": "llama"}},
    ]}}
    values = variable_values(dashboard, WINDOW)
    # Grafana: $__rate_interval = max(4 × scrape interval, step + scrape interval).
    assert values["__rate_interval"] == "75s"
    assert substitute('rate(x{env=~"$env", model="${model}"}[$__rate_interval])', values) == \
        'rate(x{env=~".*", model="llama"}[75s])'


def test_legend_fills_the_template_else_prints_the_series() -> None:
    assert legend("{{model}} p95", {"model": "llama"}, "e") == "llama p95"
    assert legend("", {"__name__": "up", "job": "a"}, "e") == 'up{job="a"}'
    assert legend("", {}, "sum(up)") == "sum(up)"


def test_dollar_signs_are_text_not_math() -> None:
    p = panel("timeseries", "Spend", fieldConfig={"defaults": {"unit": "suffix: $/h"}},
              options={"legend": {"calcs": ["mean", "max"]}})
    drawing = draw([p], {"Spend": PanelData([series(1, 2, name="a")])})
    fig = drawing.figure
    from llmmon.snapshot.figure import plain_text

    with plain_text():
        fig.canvas.draw()
    [label] = [t for t in texts(fig) if t.get_text().startswith("a ")]
    assert label.get_text() == "a  mean 1.5 $/h  max 2 $/h"
    assert not label.get_parse_math()  # a pair of $ would otherwise be typeset as TeX
