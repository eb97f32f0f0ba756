"""The alert-quality scorecard: its engine agrees with promtool, and its verdicts can fail.

The full scorecard of every env runs in CI as its own step (``scripts/test``); these tests run
the engine on hand-made timelines and the scorer on one or two scenarios each.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from app_instrumentation import catalog as cat
from foundation.settings import load_settings
from llmmon.alert_quality.engine import (
    Firing,
    Timeline,
    encode,
    evaluate,
    go_duration_seconds,
    group_order,
    parse_failures,
)
from llmmon.alert_quality.run import rule_set, score
from llmmon.alert_quality.scenarios import SCENARIOS
from llmmon.alert_quality.simulate import Simulation
from llmmon.checkers import promtool_test_rules, require
from llmmon.cli import main
from llmmon.render import collect, write

BY_NAME = {s.name: s for s in SCENARIOS}


@pytest.fixture(scope="module")
def prod_rules(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("render")
    write(collect(load_settings("prod")), out)
    return out / "prometheus" / "rules"


def promtool_values(tmp_path: Path, series: dict[str, list], checks: list[dict]) -> None:
    """Feed ``encode``d series to promtool and run ``promql_expr_test`` checks on them."""
    require("promtool")
    doc = {"rule_files": [], "evaluation_interval": "15s", "tests": [{
        "interval": "15s", "input_series": [{"series": k, "values": encode(v)} for k, v in series.items()],
        "promql_expr_test": checks}]}
    (tmp_path / "t.yml").write_text(yaml.safe_dump(doc))
    result = promtool_test_rules([tmp_path / "t.yml"])
    assert result.ok, result.output


def test_a_float_counter_reaches_promtool_exactly_and_without_resets(tmp_path):
    counter = [0.0]
    for _ in range(50):
        counter.append(counter[-1] + 0.0004)  # float sums: promtool's a+bxN would drift below them
    assert "x" not in encode(counter)
    promtool_values(tmp_path, {"c": counter}, [
        {"expr": "resets(c[15m])", "eval_time": "12m", "exp_samples": [{"labels": "{}", "value": 0}]},
        {"expr": "c", "eval_time": "12m30s", "exp_samples": [{"labels": "c", "value": counter[-1]}]},
    ])


def test_a_series_that_stops_goes_stale_at_once(tmp_path):
    """As Prometheus does for a failed scrape or a target gone from discovery: no 5-minute lookback."""
    assert encode([None, None, 1.0, 2.0, 3.0, None, None, 7.0]) == "_x2 1.0+1.0x2 stale _ 7.0"
    promtool_values(tmp_path, {"g": [None, None, 1.0, 2.0, 3.0, None, None, 7.0]}, [
        {"expr": "g", "eval_time": "15s", "exp_samples": []},  # not born yet
        {"expr": "g", "eval_time": "60s", "exp_samples": [{"labels": "g", "value": 3}]},
        {"expr": "g", "eval_time": "75s", "exp_samples": []},  # stale, not the last value for 5m
        {"expr": "g", "eval_time": "105s", "exp_samples": [{"labels": "g", "value": 7}]},
    ])


def test_go_durations_as_promtool_prints_them():
    assert go_duration_seconds("1h2m30s") == 3750
    assert go_duration_seconds("45s") == 45
    with pytest.raises(Exception, match="unexpected promtool time"):
        go_duration_seconds("1d")


def test_first_firing_times_are_prometheus_own(tmp_path):
    """``for: 1m`` at a 15 s evaluation interval: firing 60 s after the condition turned true, per series."""
    require("promtool")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"alert": "High", "expr": "x > 5", "for": "1m", "labels": {"severity": "critical"}}]}]}))
    timeline = Timeline(15, {'x{pod="a"}': [0, 0, 10, 10, 10, 10, 10, 10, 10, 10, None, None, None],
                             'x{pod="b"}': [10.0] * 13})
    firings = evaluate([rules], timeline, ["High"], 15)
    first = {}
    for f in firings:
        first.setdefault(dict(f.labels)["pod"], f.at)
    assert first == {"b": 60.0, "a": 90.0}  # a turned true at 30 s
    assert max(f.at for f in firings if dict(f.labels)["pod"] == "a") == 135.0  # stale at 150 s: resolved


def test_an_alert_reading_another_groups_recording_sees_it_current_on_every_run(tmp_path):
    """promtool evaluates groups in random order unless told: the SLO alerts (one group) read
    recordings of other groups, and fired one evaluation apart from run to run."""
    require("promtool")
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [
        {"name": "alerts", "rules": [{"alert": "High", "expr": "x:recorded > 5", "labels": {"severity": "warning"}}]},
        {"name": "recordings", "rules": [{"record": "x:recorded", "expr": "x"}]},
    ]}))
    assert group_order([rules]) == ["recordings", "alerts"]
    timeline = Timeline(15, {"x": [0, 0, 10, 10, 10]})
    # x turns 10 at 30 s: with the recording evaluated first, High fires at 30 s itself. Eight
    # runs: in Go's random map order each would have had one chance in two to see it at 45 s.
    assert {min(f.at for f in evaluate([rules], timeline, ["High"], 15)) for _ in range(8)} == {30.0}


def test_parse_failures_reads_promtools_report():
    output = "\n".join([  # as promtool 2.42 prints it, trailing spaces included
        "  FAILED:",
        "    alertname: High, time: 1m30s, ",
        "        exp:[], ",
        "        got:[",
        "            0:",
        '              Labels:{alertname="High", pod="a\\"q", severity="critical"}',
        '              Annotations:{summary="x"}',
        "            ]",
        "",
    ])
    assert parse_failures(output) == [
        Firing("High", (("alertname", "High"), ("pod", 'a"q'), ("severity", "critical")), 90.0)
    ]


def test_rule_set_keeps_alerts_and_the_recordings_they_read(prod_rules, tmp_path):
    kept = rule_set(sorted(prod_rules.glob("*.yml")), tmp_path / "kept.yml")
    doc = yaml.safe_load((tmp_path / "kept.yml").read_text())
    records = {r["record"] for g in doc["groups"] for r in g["rules"] if "record" in r}
    assert "slo:sli_error:ratio_rate3d" in records  # the ticket alerts read it
    assert "llm_router:http_requests:rate5m" not in records  # dashboards only
    assert "slo:sli_error:ratio_rate30d" not in records
    assert {"HighErrorRate", "RouterStalled", "AvailabilitySLOBurnRatePage"} <= set(kept.alerts)
    # What the simulation must feed: raw series only (engine names such as vllm:... have colons too).
    every_record = {r["record"] for f in prod_rules.glob("*.yml") for g in yaml.safe_load(f.read_text())["groups"]
                    for r in g["rules"] if "record" in r}
    assert "llm_router_inference_total" in kept.wanted and not kept.wanted & every_record
    assert "slo:sli_error:ratio_rate3d" in every_record


def _rules_copy(src: Path, dst: Path, edit) -> Path:
    shutil.copytree(src, dst)
    path = dst / "llm-router-alerts.yml"
    doc = yaml.safe_load(path.read_text())
    for group in doc["groups"]:
        group["rules"] = [r for r in (edit(r) for r in group["rules"]) if r is not None]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dst


def test_a_noisy_rule_is_a_false_positive_in_healthy_traffic(prod_rules, tmp_path):
    """HighQueueSize with its threshold at 0: a healthy router always has something queued."""
    def noisy(rule):
        if rule.get("alert") == "HighQueueSize":
            rule["expr"] = re.sub(r">\s*[\d.]+", "> 0", rule["expr"])
        return rule

    card = score(load_settings("prod"), _rules_copy(prod_rules, tmp_path / "rules", noisy), [BY_NAME["steady"]])
    (steady,) = card.results
    assert not card.ok and not steady.ok
    assert steady.unexpected == ["HighQueueSize"] and "HighQueueSize" in steady.fired
    scores = {s.name: s for s in card.alert_scores()}
    assert scores["HighQueueSize"].false_firing_s >= 3600  # firing for most of the two hours
    assert scores["HighErrorRate"].false_firing_s == 0


def test_removing_an_alert_makes_its_incident_missed(prod_rules, tmp_path):
    rules = _rules_copy(prod_rules, tmp_path / "rules", lambda r: None if r.get("alert") == "RouterStalled" else r)
    card = score(load_settings("prod"), rules, [BY_NAME["stall"]])
    (stall,) = card.results
    assert stall.missed == ["RouterStalled"] and not card.ok


def test_the_env_rules_catch_the_stall_and_sleep_through_a_rolling_restart():
    card = score(load_settings("prod"), None, [BY_NAME["stall"], BY_NAME["rolling-restart"]])
    stall, restart = card.results
    assert stall.ok and 0 < stall.fired["RouterStalled"] <= 10 * 60  # a 5m window and 'for: 1m', then some
    assert restart.ok and restart.fired == {}
    # Thanos' alerts watch the metrics store, which no scenario simulates: not scored (promtool-tested).
    assert load_settings("prod").metrics_store.thanos_enabled and not [a for a in card.alerts if a.startswith("Thanos")]
    detection = {s.name: s for s in card.alert_scores()}["RouterStalled"]
    assert detection.info.receiver == "critical-alerts" and detection.info.group_wait_s == 30
    assert detection.to_json()["detections"]["stall"]["time_to_notify_seconds"] == stall.fired["RouterStalled"] + 30


def test_a_critical_alert_in_a_no_page_scenario_is_a_false_page(prod_rules, tmp_path):
    """The client error storm, with the client alert made critical: a page for bad clients."""
    def critical(rule):
        if rule.get("alert") == "HighClientErrorRate":
            rule["labels"]["severity"] = "critical"
        return rule

    card = score(load_settings("prod"), _rules_copy(prod_rules, tmp_path / "rules", critical),
                 [BY_NAME["client-error-storm"]])
    (storm,) = card.results
    assert storm.false_pages == ["HighClientErrorRate"] and not storm.ok


def test_cli_writes_json_and_exits_by_verdict(tmp_path, capsys, prod_rules):
    out = tmp_path / "card.json"
    assert main(["alert-quality", "--env", "dev", "--scenario", "router-outage", "--json", str(out)]) == 0
    card = json.loads(out.read_text())
    (router_outage,) = card["scenarios"]
    assert router_outage["name"] == "router-outage" and router_outage["healthy"] is False
    assert set(router_outage["fired"]) >= {"ServiceDown", "RouterInstancesDown"}
    assert "ServiceDown" in capsys.readouterr().out
    broken = _rules_copy(prod_rules, tmp_path / "rules", lambda r: None if r.get("alert") == "ServiceDown" else r)
    assert main(["alert-quality", "--env", "prod", "--rules", str(broken), "--scenario", "router-outage"]) == 1
    assert main(["alert-quality", "--env", "prod", "--rules", str(tmp_path / "nope")]) == 2


def test_a_fleet_summed_span_loss_alert_misses_the_canary_that_loses_every_span(prod_rules, tmp_path):
    """The canary's spans are 2 % of the fleet's: summed over the fleet, 98 % still reach the
    collector. Only TraceSpansLost per instance catches it."""
    def summed(rule):
        if rule.get("alert") == "TraceSpansLost":
            rule["expr"] = re.sub(r"rate\((llm_router_trace_spans_\w+(?:\{[^}]*\})?\[\w+\])\)", r"sum(rate(\1))",
                                  rule["expr"].replace("sum without (outcome) ", ""))
        return rule

    rules = _rules_copy(prod_rules, tmp_path / "rules", summed)
    assert "sum(rate(llm_router_trace_spans_ended_total" in (rules / "llm-router-alerts.yml").read_text()
    (loss,) = score(load_settings("prod"), rules, [BY_NAME["span-loss"]]).results
    assert loss.missed == ["TraceSpansLost"]
    (loss,) = score(load_settings("prod"), prod_rules, [BY_NAME["span-loss"]]).results
    assert loss.ok and 0 < loss.fired["TraceSpansLost"] <= 15 * 60  # a 10m window and 'for: 10m'


def test_simulated_pods_export_their_traced_spans_late_and_the_lost_ones_fail():
    """span-loss: every pod ends two spans per traced inference (10 % of them) and exports them one
    scrape later at most; after the first hour pod 0's (the canary's) exports all fail, the
    others' all succeed."""
    scrape_s = 15
    wanted = frozenset({cat.TRACE_SPANS_ENDED.name, cat.TRACE_SPANS_EXPORTED.name, cat.INFERENCE.name})
    scenario = BY_NAME["span-loss"]
    timeline = Simulation(scenario.state, scenario.pods, 2 * 3600, scrape_s, "ns", wanted).run()
    hour = 3600 // scrape_s

    def pod_series(name: str, pod: int, **labels: str) -> list[float]:
        found = [v for k, v in timeline.series.items() if k.startswith(name + "{") and f'pod="llm-router-0-{pod}"' in k
                 and all(f'{lk}="{lv}"' in k for lk, lv in labels.items())]
        return [sum(values) for values in zip(*found, strict=True)]

    for pod in range(scenario.pods):
        ended = pod_series(cat.TRACE_SPANS_ENDED.name, pod)
        success = pod_series(cat.TRACE_SPANS_EXPORTED.name, pod, outcome="success")
        failure = pod_series(cat.TRACE_SPANS_EXPORTED.name, pod, outcome="failure")
        inferences = pod_series(cat.INFERENCE.name, pod)
        assert 0.15 < ended[-1] / inferences[-1] < 0.25  # 2 spans x 10 %
        for step in range(1, len(ended)):
            exported = success[step] + failure[step]
            assert ended[step - 1] <= exported <= ended[step]  # what ended a scrape ago went out
        if pod == 0:
            assert success[-1] == success[hour + 1] and failure[-1] > 0.9 * (ended[-1] - ended[hour])
        else:
            assert failure[-1] == 0 and success[-1] >= ended[-2]
