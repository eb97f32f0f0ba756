"""Every env's rules pass ``promtool check rules`` and their generated ``promtool test rules``
suites; the suites fail when the rules drift from the thresholds they were generated from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerts.render import artifacts, rule_files
from alerts.ruletests import rule_tests
from foundation import alert_names as names
from foundation.settings import load_settings
from llmmon.checkers import promtool_check_rules, promtool_test_rules, require
from llmmon.render import write

ENVS = ("dev", "staging", "prod")


@pytest.fixture(scope="module", params=ENVS)
def rendered(request, tmp_path_factory) -> Path:
    require("promtool")
    out = tmp_path_factory.mktemp(request.param)
    write(artifacts(load_settings(request.param)), out)
    return out


def test_promtool_check_rules(rendered):
    files = sorted((rendered / "prometheus" / "rules").glob("*.yml"))
    thanos = ["thanos-alerts.yml"] if load_settings(rendered.name.rstrip("0123456789")).metrics_store.thanos_enabled else []
    assert [f.name for f in files] == ["llm-router-alerts.yml", "llm-router-recording.yml", "llm-router-slo.yml", *thanos]
    result = promtool_check_rules(files)
    assert result.ok, result.output


def test_generated_rule_tests_pass(rendered):
    tests = sorted((rendered / "prometheus" / "tests").glob("*.test.yml"))
    assert len(tests) == 3 + load_settings(rendered.name.rstrip("0123456789")).metrics_store.thanos_enabled
    result = promtool_test_rules(tests)
    assert result.ok, result.output


def test_every_alert_has_a_firing_and_a_quiet_case():
    suite = yaml.safe_load(rule_tests(load_settings("prod"))["llm-router-alerts.test.yml"])
    rules = yaml.safe_load(rule_files(load_settings("prod"))["llm-router-alerts.yml"])["groups"][0]["rules"]
    fired, quiet = set(), set()
    for case in suite["tests"]:
        for t in case["alert_rule_test"]:
            (fired if t["exp_alerts"] else quiet).add(t["alertname"])
    alerts = {r["alert"] for r in rules}
    assert fired == alerts
    assert quiet == alerts - {"Watchdog"}
    names = {case["name"] for case in suite["tests"]}
    for zero_traffic in ("LowTokenGeneration", "LowCacheHitRate", "HighFallbackRate", "HighResponseTime"):
        assert f"{zero_traffic} stays quiet without traffic" in names
    assert "CriticalQueueSize does not fire before 'for' (30s)" in names


def test_suites_catch_rules_that_fire_too_early(tmp_path):
    """Rules that fire a little too readily (no 'for', a threshold 20 % lower, a 4x instead of a 6x
    page) against the suites generated from the real ones: each drift turns its case red."""
    prod = load_settings("prod")
    write(artifacts(prod), tmp_path)
    rules, tests = tmp_path / "prometheus" / "rules", tmp_path / "prometheus" / "tests"
    original = (rules / "llm-router-alerts.yml").read_text()
    (rules / "llm-router-alerts.yml").write_text(re.sub(r"^ +for: .*\n", "", original, flags=re.M))
    result = promtool_test_rules([tests / "llm-router-alerts.test.yml"])
    before_for = [case["name"] for case in yaml.safe_load((tests / "llm-router-alerts.test.yml").read_text())["tests"]
                  if "does not fire before 'for'" in case["name"]]
    assert len(before_for) == len(names.THRESHOLD_ALERTS)  # every threshold alert has a 'for'
    # Each one, rate alerts included (their windows must not hide a missing 'for').
    assert not result.ok and [n for n in before_for if n not in result.output] == []
    (rules / "llm-router-alerts.yml").write_text(original.replace("\n      > 0.05\n", "\n      > 0.04\n"))
    result = promtool_test_rules([tests / "llm-router-alerts.test.yml"])
    assert not result.ok and "HighErrorRate stays quiet just short of the threshold" in result.output
    # The floor too: 20 % lower lets a near-idle router page.
    (rules / "llm-router-alerts.yml").write_text(original.replace('error"}[5m])) > 0.1\n', 'error"}[5m])) > 0.08\n'))
    result = promtool_test_rules([tests / "llm-router-alerts.test.yml"])
    assert not result.ok and "HighErrorRate stays quiet below the floor (0.1/s)" in result.output
    slo = rules / "llm-router-slo.yml"
    slo.write_text(slo.read_text().replace("(6 * 0.005)", "(4 * 0.005)"))
    result = promtool_test_rules([tests / "llm-router-slo.test.yml"])
    assert not result.ok and "AvailabilitySLOBurnRatePage stays quiet below 6x burn" in result.output


def test_slo_suite_covers_page_and_ticket_of_both_slos():
    suite = yaml.safe_load(rule_tests(load_settings("prod"))["llm-router-slo.test.yml"])
    alertnames = {t["alertname"] for case in suite["tests"] for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert alertnames == {"AvailabilitySLOBurnRatePage", "AvailabilitySLOBurnRateTicket",
                          "TTFTLatencySLOBurnRatePage", "TTFTLatencySLOBurnRateTicket"}


def test_suites_catch_rules_that_drift_from_the_thresholds(tmp_path):
    """Rules rendered with doubled thresholds against tests generated from the real ones: red."""
    prod = load_settings("prod")
    write(artifacts(prod), tmp_path)
    rules = tmp_path / "prometheus" / "rules" / "llm-router-alerts.yml"
    rules.write_text(rules.read_text().replace("\n      > 0.05\n", "\n      > 0.15\n").replace("< 10 and", "< 10 or")
                     .replace('error"}[5m])) > 0.5\n', 'error"}[5m])) > 5\n'))
    result = promtool_test_rules([tmp_path / "prometheus" / "tests" / "llm-router-alerts.test.yml"])
    assert not result.ok
    assert "HighErrorRate fires" in result.output
    assert "CriticalErrorRate fires above the floor (0.5/s)" in result.output
    assert "LowTokenGeneration stays quiet without traffic" in result.output


#: Availability SLO input: one router instance's inference counter, ``% status``.
INFERENCE = 'llm_router_inference_total{instance="router-0:9090", job="llm-router", status="%s"}'


def passes_promtool(tmp_path: Path, rule_file: str, case: dict) -> None:
    """Run one hand-written ``promtool test rules`` case (1m steps) against a prod rule file."""
    require("promtool")
    (tmp_path / rule_file).write_text(rule_files(load_settings("prod"))[rule_file])
    suite = {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": [{"interval": "1m", **case}]}
    (tmp_path / "case.test.yml").write_text(yaml.safe_dump(suite))
    result = promtool_test_rules([tmp_path / "case.test.yml"])
    assert result.ok, result.output


def test_a_short_error_spike_does_not_page(tmp_path):
    """Multi-window burn rate: 4 minutes at 1/3 errors after 6 quiet hours trip both short windows
    (5m, 30m) but not their long windows (1h, 6h), so the page must stay quiet."""
    short_windows_burn = [
        {"expr": f'count(slo:sli_error:ratio_rate{window}{{sloth_slo="availability"}} > {factor} * 0.005)',
         "eval_time": "364m", "exp_samples": [{"labels": "{}", "value": 1}]}
        for window, factor in (("5m", 14.4), ("30m", 6))
    ]
    passes_promtool(tmp_path, "llm-router-slo.yml", {
        "input_series": [{"series": INFERENCE % "success", "values": "0+600x364"},
                         {"series": INFERENCE % "error", "values": "0x360 300+300x3"}],
        "promql_expr_test": short_windows_burn,
        "alert_rule_test": [{"eval_time": "364m", "alertname": "AvailabilitySLOBurnRatePage", "exp_alerts": []}],
    })


def test_aggregate_rules_sum_the_right_counter_across_instances(tmp_path):
    """Dashboard aggregates the generated suite does not check: two instances, decoy counters."""
    per_minute = {  # series (without instance) -> increase per minute on each of the two instances
        'llm_router_http_requests_total{method="GET", route="/v1/chat", status_code="200"}': 600,
        'llm_router_http_requests_total{method="POST", route="/v1/chat", status_code="500"}': 60,
        'llm_router_http_requests_total{method="GET", route="/v1/chat", status_code="500"}': 60,
        'llm_router_rate_limited_total{backend="openai"}': 30,
        'llm_router_fallbacks_total{from_backend="vllm", to_backend="openai", reason="error"}': 6000,
        'llm_router_errors_total{type="timeout", component="engine", severity="error"}': 120,
        'llm_router_inference_total{model="m", strategy="s", status="success", cached="false"}': 300,
    }
    series = [{"series": name.replace("{", f'{{instance="router-{i}:9090", job="llm-router", '),
               "values": f"0+{step}x12"} for name, step in per_minute.items() for i in (0, 1)]
    expected = {  # record -> (labels it keeps, value summed over both instances, per second)
        "llm_router:http_requests:rate5m": ('route="/v1/chat", status_code="500"', 4),
        "backend:llm_router_rate_limited:rate5m": ('backend="openai"', 1),
        "type:llm_router_errors:rate5m": ('type="timeout"', 4),
        "model_status:llm_router_inferences:rate5m": ('model="m", status="success"', 10),
    }
    tests = [{"expr": f"{name}{{{labels}}}", "eval_time": "10m",
              "exp_samples": [{"labels": f"{name}{{{labels}}}", "value": value}]}
             for name, (labels, value) in expected.items()]
    passes_promtool(tmp_path, "llm-router-recording.yml", {"input_series": series, "promql_expr_test": tests})


def test_slo_period_error_ratio_averages_the_5m_ratio(tmp_path):
    """9 % errors for 10 minutes, then none: the 30d SLI (error budget remaining) is their average."""
    period = 'slo:sli_error:ratio_rate30d{sloth_slo="availability"}'
    passes_promtool(tmp_path, "llm-router-slo.yml", {
        "input_series": [{"series": INFERENCE % "success", "values": "0+600x30"},
                         {"series": INFERENCE % "error", "values": "0+60x10 600x20"}],
        "promql_expr_test": [{"expr": f"count(({period} > 0.02) < 0.06)", "eval_time": "30m",
                              "exp_samples": [{"labels": "{}", "value": 1}]}],
    })


def test_test_profile_rules_pass_promtool(tmp_path):
    files = []
    for name, text in rule_files(load_settings("dev"), profile="test").items():
        (tmp_path / name).write_text(text)
        files.append(tmp_path / name)
    result = promtool_check_rules(files)
    assert result.ok, result.output


def test_edge_prefix_then_fire_counts_on_and_refuses_other_series():
    """The 'before for' input keeps counters monotonic across the switch and reads the same series."""
    from alerts.definitions import SPECS
    from alerts.probes import Side

    probe = next(s.probe for s in SPECS if s.name == "HighClientErrorRate")
    edge, fire = probe.edge(0.1, 5, 10), probe.scenario(0.1, Side.FIRE, 10)
    rejected, served = fire.after(edge, 5)
    # 10 requests/s, 9 % rejected for 5 minutes, then 20 %: 11 samples like 0+60x10 together.
    assert rejected["values"] == "0+54x5 390+120x4" and served["values"] == "0+546x5 3210+480x4"
    other = next(s.probe for s in SPECS if s.name == "LowCacheHitRate").scenario(0.5, Side.FIRE, 10)
    with pytest.raises(ValueError, match="same series"):
        fire.after(other, 5)
