"""Dashboards: fixed uids, layout, units, variables, links and byte-stable JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from grafanalib._gen import DashboardEncoder

from dashboards import uids
from dashboards.definitions import as_dict, build_all
from dashboards.layout import GRID_WIDTH, place
from dashboards.panels import row, stat, timeseries
from dashboards.queries import BUILTINS, panels, raw_queries, variables_used
from dashboards.render import artifacts
from foundation.settings import load_settings
from llmmon.render import MANIFEST

EXPECTED_UIDS = {uids.OVERVIEW, uids.MODEL_PERFORMANCE, uids.SYSTEM, uids.QOS, uids.SLO, uids.BACKENDS}
DASHBOARDS = [as_dict(d) for d in build_all()]


def ids(dashboards: list[dict]) -> list[str]:
    return [d["uid"] for d in dashboards]


def test_the_contract_uids_exist():
    assert set(ids(DASHBOARDS)) == EXPECTED_UIDS
    assert EXPECTED_UIDS == {
        "llm-router-overview", "llm-model-performance", "llm-router-system", "llm-qos", "llm-slo", "llm-backends",
    }


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=ids(DASHBOARDS))
def test_panel_ids_are_unique(dashboard):
    panel_ids = [p["id"] for p in panels(dashboard)]
    assert len(panel_ids) == len(set(panel_ids)) and None not in panel_ids


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=ids(DASHBOARDS))
def test_panel_titles_are_unique_so_a_query_failure_names_one_panel(dashboard):
    titles = [p["title"] for p in panels(dashboard)]
    assert len(titles) == len(set(titles))


def cells(panel: dict) -> set[tuple[int, int]]:
    pos = panel["gridPos"]
    return {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}


def overlaps(panel_list: list[dict]) -> list[tuple[str, str]]:
    taken: dict[tuple[int, int], str] = {}
    clashes = []
    for panel in panel_list:
        for cell in cells(panel):
            if cell in taken:
                clashes.append((taken[cell], panel["title"]))
            taken[cell] = panel["title"]
    return clashes


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=ids(DASHBOARDS))
def test_grid_has_no_overlap_and_fits_24_columns(dashboard):
    for panel in panels(dashboard):
        pos = panel["gridPos"]
        assert 0 < pos["w"] and pos["x"] + pos["w"] <= GRID_WIDTH, panel["title"]
    assert overlaps(list(panels(dashboard))) == []


def test_overlap_check_catches_a_clash():
    a = {"title": "a", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8}}
    b = {"title": "b", "gridPos": {"x": 6, "y": 4, "w": 12, "h": 8}}
    assert overlaps([a, b]) == [("a", "b")] * 24


def test_layout_wraps_at_24_columns_and_rows_start_a_line():
    placed = [json.loads(json.dumps(p, cls=DashboardEncoder)) for p in place([
        stat("a", "1", unit="s", thresholds=[], width=16),
        stat("b", "1", unit="s", thresholds=[], width=16, height=6),
        stat("c", "1", unit="s", thresholds=[], width=8),
        row("section"),
        stat("d", "1", unit="s", thresholds=[], width=4),
    ])]
    positions = [(p["title"], p["gridPos"]["x"], p["gridPos"]["y"]) for p in placed]
    assert positions == [("a", 0, 0), ("b", 0, 4), ("c", 16, 4), ("section", 0, 10), ("d", 0, 11)]
    assert [p["id"] for p in placed] == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="width 25"):
        place([stat("wide", "1", unit="s", thresholds=[], width=25)])


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=ids(DASHBOARDS))
def test_timeseries_and_stat_panels_have_a_unit_and_thresholds(dashboard):
    for panel in panels(dashboard):
        if panel["type"] in {"timeseries", "stat"}:
            defaults = panel["fieldConfig"]["defaults"]
            assert defaults["unit"], panel["title"]
            assert defaults["thresholds"]["steps"][0]["value"] is None, panel["title"]


def test_no_deprecated_graph_panels_and_datasource_by_uid():
    for dashboard in DASHBOARDS:
        for panel in panels(dashboard):
            assert panel["type"] not in {"graph", "singlestat", "grafana-piechart-panel"}
            for target in panel.get("targets") or []:
                assert target["datasource"] == {"type": "prometheus", "uid": "prometheus"}


def test_every_variable_used_in_a_query_is_defined():
    for dashboard, query in raw_queries():
        defined = {t["name"] for t in dashboard["templating"]["list"]} | BUILTINS
        assert variables_used(query.expr) <= defined, query
    # and the templates' own queries only use earlier variables
    for dashboard in DASHBOARDS:
        seen: set[str] = set()
        for template in dashboard["templating"]["list"]:
            assert variables_used(template["query"]) <= seen, template["name"]
            seen.add(template["name"])


def test_router_dashboards_offer_env_instance_model():
    for dashboard in DASHBOARDS:
        names = [t["name"] for t in dashboard["templating"]["list"]]
        assert names[:2] == ["env", "instance"] or dashboard["uid"] in (uids.SLO, uids.BACKENDS)
        assert "env" in names
        for template in dashboard["templating"]["list"]:
            assert template["includeAll"] and template["allValue"] == ".*"


def test_dashboards_link_to_each_other_keeping_time_and_variables():
    for dashboard in DASHBOARDS:
        (link,) = dashboard["links"]
        assert link["type"] == "dashboards" and link["includeVars"] and link["keepTime"]
        assert link["tags"] == ["llm-router"] and "llm-router" in dashboard["tags"]
    drilldowns = [lnk["url"] for p in panels(DASHBOARDS[0]) for lnk in p["links"]]
    assert drilldowns and all(u.startswith(f"/d/{uids.MODEL_PERFORMANCE}?") for u in drilldowns)
    # From the router's view of its backends down to the engines and GPUs behind them.
    qos = next(d for d in DASHBOARDS if d["uid"] == uids.QOS)
    to_engines = {p["title"] for p in panels(qos) for lnk in p.get("links") or []
                  if lnk["url"].startswith(f"/d/{uids.BACKENDS}?")}
    assert to_engines == {"Backend request latency p95 by backend", "Backend up"}
    models = next(d for d in DASHBOARDS if d["uid"] == uids.MODEL_PERFORMANCE)
    assert [p["title"] for p in panels(models) for lnk in p.get("links") or []
            if lnk["url"].startswith(f"/d/{uids.BACKENDS}?")] == ["Tokens per second by model, p95 and median"]


def test_seed_fixes_hold():
    titles = {p["title"] for d in DASHBOARDS for p in panels(d)}
    assert "Average Response Time" not in titles and "Inference latency p95" in titles
    for _, query in raw_queries():
        if "histogram_quantile(" in query.expr:  # the call, not a recorded quantile's name
            assert "sum by (le" in query.expr, query


def test_render_is_byte_identical_across_runs_and_complete():
    first = artifacts(load_settings("dev"))
    second = artifacts(load_settings("dev"))
    assert first == second
    assert sorted(first) == sorted([f"grafana/dashboards/{u}.json" for u in EXPECTED_UIDS] + [
        "grafana/provisioning/dashboards/llm-router.yaml",
        "grafana/provisioning/datasources/datasources.yaml",
    ])
    text = first["grafana/dashboards/llm-router-overview.json"]
    assert text == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(("env", "files"), [("staging", 8), ("prod", 6)])  # prod: no provisioning files
def test_render_is_byte_identical_in_a_fresh_interpreter(tmp_path, env, files):
    script = (
        "import sys, pathlib; from llmmon.render import write; from dashboards.render import artifacts;"
        "from foundation.settings import load_settings;"
        f"write(artifacts(load_settings({env!r})), pathlib.Path(sys.argv[1]))"
    )
    outputs = []
    for seed in ("1", "2"):  # a different hash seed reorders any set or dict built from one
        out = tmp_path / seed
        subprocess.run([sys.executable, "-c", script, str(out)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed})
        outputs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1] and len([p for p in outputs[0] if p.name != MANIFEST]) == files


def test_timeseries_helper_marks_thresholds_only_when_given():
    plain = timeseries("t", "up", unit="s").to_json_data()
    marked = timeseries("t", "up", unit="s", thresholds=[{"color": "green", "value": None}]).to_json_data()
    assert plain["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "off"
    assert marked["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"



def _steps(dashboard_uid: str, title: str) -> dict[str, float]:
    """Colour -> value of the panel's threshold steps."""
    dashboard = next(d for d in DASHBOARDS if d["uid"] == dashboard_uid)
    panel = next(p for p in panels(dashboard) if p.get("title") == title)
    return {s["color"]: s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]}


GIB = 1024**3


@pytest.mark.parametrize(("uid", "title", "red", "yellow", "scale"), [
    (uids.BACKENDS, "Fullest KV cache", "EngineKVCacheNearFull", None, 1),
    (uids.BACKENDS, "Requests waiting", "EngineWaitingQueue", None, 1),
    (uids.BACKENDS, "Preemptions per second", "EnginePreemptionStorm", None, 1),
    (uids.BACKENDS, "GPU temperature", "GPUTooHot", None, 1),
    (uids.SYSTEM, "Resident memory (max instance)", "CriticalMemoryUsage", "HighMemoryUsage", GIB),
    (uids.SYSTEM, "Queued requests", "CriticalQueueSize", "HighQueueSize", 1),
    (uids.SYSTEM, "Router CPU use as a share of its limit", "RouterCPUThrottling", None, 1),
])
def test_panels_turn_red_where_their_alert_fires(uid, title, red, yellow, scale):
    from alerts.definitions import BY_NAME

    steps = _steps(uid, title)
    assert steps["red"] == BY_NAME[red].threshold * scale
    if yellow is not None:  # a warning/critical pair: yellow where the warning fires
        assert steps["yellow"] == BY_NAME[yellow].threshold * scale


def test_cache_hit_ratio_turns_green_where_the_low_hit_rate_alert_stops():
    from alerts.definitions import BY_NAME

    steps = _steps(uids.OVERVIEW, "Cache hit ratio by cache")
    assert steps == {"red": None, "green": BY_NAME["LowCacheHitRate"].threshold}


def test_panel_colours_follow_a_new_alert_default(monkeypatch):
    import dataclasses

    from alerts.definitions import BY_NAME
    from dashboards import alert_colours

    hotter = {**BY_NAME, "GPUTooHot": dataclasses.replace(BY_NAME["GPUTooHot"], threshold=90)}
    monkeypatch.setattr(alert_colours, "BY_NAME", hotter)
    assert alert_colours.alert_steps("GPUTooHot", yellow=75)[-1] == {"color": "red", "value": 90}
    with pytest.raises(ValueError, match="must ascend"):
        alert_colours.alert_steps("GPUTooHot", yellow=95)
    with pytest.raises(ValueError, match="ServiceDown has no threshold"):
        alert_colours.alert_steps("ServiceDown", yellow=0)


def test_the_issue_and_seed_levels_hold():
    from dashboards import backends, system

    assert [s["value"] for s in backends.TEMPERATURE_STEPS] == [None, 75, 85]  # issue 17's 85 °C
    assert [s["value"] for s in system.MEMORY_STEPS] == [None, 3 * GIB, 7 * GIB]  # the seed's 3 GiB / 7 GiB
    assert [s["value"] for s in system.QUEUE_STEPS] == [None, 100, 500]  # the seed's 100 / 500
