"""The typed rule model refuses bad rules and renders deterministically."""

from __future__ import annotations

import pytest

from alerts.model import (
    AlertRule,
    RecordingRule,
    RuleError,
    RuleGroup,
    Severity,
    duration_seconds,
    format_duration,
)
from alerts.profiles import PROD, TEST, get_profile

GOOD = {
    "alert": "HighThing",
    "expr": "sum(rate(llm_router_errors_total[5m])) > 1",
    "severity": Severity.WARNING,
    "labels": {"service": "llm-router", "signal": "thing"},
    "annotations": {"summary": "s", "description": "d", "runbook_url": "https://r"},
    "for_": "5m",
}


def alert(**changes):
    return AlertRule(**{**GOOD, **changes})


def test_a_good_rule_renders_with_severity_as_label():
    rendered = alert().to_dict()
    assert rendered["labels"] == {"service": "llm-router", "severity": "warning", "signal": "thing"}
    assert list(rendered) == ["alert", "expr", "for", "labels", "annotations"]
    assert rendered["for"] == "5m"


@pytest.mark.parametrize("changes, message", [
    ({"severity": "page"}, "severity 'page' is not one of critical, warning, info"),
    ({"annotations": {"summary": "s", "description": "d"}}, "runbook_url"),
    ({"annotations": {"summary": "s", "description": " ", "runbook_url": "x"}}, "description"),
    ({"annotations": {"description": "d", "runbook_url": "x"}}, "summary"),
    ({"for_": "5 minutes"}, "not a Prometheus duration"),
    ({"for_": ""}, "not a Prometheus duration"),
    ({"expr": "sum(rate(x[5m]) > "}, "does not parse"),
    ({"expr": ""}, "empty expression"),
    ({"labels": {"service": "llm-router"}}, "missing label(s) signal"),
    ({"labels": {"signal": "x"}}, "missing label(s) service"),
    ({"labels": {"service": "s", "signal": "x", "severity": "critical"}}, "severity argument"),
    ({"labels": {"service": "s", "signal": "x", "bad-name": "v"}}, "invalid label name"),
    ({"labels": {"service": "s", "signal": "x", "__name__": "v"}}, "invalid label name"),
    ({"alert": "high thing"}, "UpperCamelCase"),
])
def test_bad_alerts_are_refused(changes, message):
    with pytest.raises(RuleError, match="HighThing|high thing") as err:
        alert(**changes)
    assert message in str(err.value)


def test_recording_rules_validate_name_and_expression():
    assert RecordingRule("a:b:rate5m", "sum(rate(x[5m]))", {"q": "1"}).to_dict()["labels"] == {"q": "1"}
    with pytest.raises(RuleError, match="invalid metric name"):
        RecordingRule("a-b", "x")
    with pytest.raises(RuleError, match="does not parse"):
        RecordingRule("a:b", "rate(x[5m")


def test_groups_refuse_duplicates_and_emptiness():
    with pytest.raises(RuleError, match="duplicate alert"):
        RuleGroup("g", (alert(), alert()))
    with pytest.raises(RuleError, match="at least one rule"):
        RuleGroup("g", ())


def test_durations_round_trip():
    assert duration_seconds("1h30m") == 5400
    assert duration_seconds("1d") == 86400
    assert format_duration(5400) == "1h30m"
    assert format_duration(0) == "0s"
    with pytest.raises(RuleError):
        duration_seconds("30m1h")


def test_test_profile_compresses_time_and_prod_does_not():
    assert PROD.window("5m") == "5m" and PROD.for_("2m") == "2m"
    assert TEST.window("5m") == "10s" and TEST.window("1h") == "1m" and TEST.window("3d") == "1h12m"
    assert TEST.for_("2m") == "2s" and TEST.for_("30s") == "1s" and TEST.for_(None) is None
    assert get_profile("test") is TEST
    with pytest.raises(ValueError, match="unknown rule profile"):
        get_profile("fast")
