"""Every env's rules pass ``promtool check rules`` and their generated ``promtool test rules``
suites; the suites fail when the rules drift from the thresholds they were generated from."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.render import artifacts, rule_files
from alerts.ruletests import rule_tests
from llmmon.checkers import promtool_check_rules, promtool_test_rules, require
from llmmon.render import write
from llmmon.settings import load_settings

ENVS = ("dev", "staging", "prod")


@pytest.fixture(scope="module", params=ENVS)
def rendered(request, tmp_path_factory) -> Path:
    require("promtool")
    out = tmp_path_factory.mktemp(request.param)
    write(artifacts(load_settings(request.param)), out)
    return out


def test_promtool_check_rules(rendered):
    files = sorted((rendered / "prometheus" / "rules").glob("*.yml"))
    assert [f.name for f in files] == ["llm-router-alerts.yml", "llm-router-recording.yml", "llm-router-slo.yml"]
    result = promtool_check_rules(files)
    assert result.ok, result.output


def test_generated_rule_tests_pass(rendered):
    tests = sorted((rendered / "prometheus" / "tests").glob("*.test.yml"))
    assert len(tests) == 3
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
    rules.write_text(rules.read_text().replace("> 0.1\n", "> 0.3\n").replace("< 10 and", "< 10 or"))
    result = promtool_test_rules([tmp_path / "prometheus" / "tests" / "llm-router-alerts.test.yml"])
    assert not result.ok
    assert "HighErrorRate fires" in result.output
    assert "LowTokenGeneration stays quiet without traffic" in result.output


def test_test_profile_rules_pass_promtool(tmp_path):
    files = []
    for name, text in rule_files(load_settings("dev"), profile="test").items():
        (tmp_path / name).write_text(text)
        files.append(tmp_path / name)
    result = promtool_check_rules(files)
    assert result.ok, result.output
