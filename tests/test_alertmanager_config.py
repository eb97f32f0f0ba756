"""Alertmanager config: accepted by amtool 0.25, routes each severity and Watchdog to its
receiver, inhibits warnings under a critical of the same signal, never holds a credential."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.alertmanager import alertmanager_config, local_alertmanager_config
from alerts.render import artifacts
from foundation.settings import load_settings
from llmmon.checkers import amtool_check_config, amtool_route, require, run_tool

ENVS = ("dev", "staging", "prod")
ROUTES = [
    ({"alertname": "CriticalErrorRate", "severity": "critical", "service": "llm-router"}, "critical-alerts"),
    ({"alertname": "HighErrorRate", "severity": "warning", "service": "llm-router"}, "warning-alerts"),
    ({"alertname": "MetricSeriesOverflow", "severity": "info", "service": "llm-router"}, "default"),
    ({"alertname": "Watchdog", "severity": "info", "service": "llm-router"}, "watchdog"),
    ({"alertname": "Unlabelled"}, "default"),
]
#: Plain credential fields Alertmanager also accepts; only their ``*_file`` twins may appear.
PLAIN_SECRETS = {"api_url", "smtp_auth_password", "auth_password", "routing_key", "service_key", "api_key",
                 "credentials", "password", "bot_token", "token", "smtp_auth_secret", "auth_secret"}


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module", params=ENVS)
def rendered(request, tmp_path_factory) -> Path:
    require("amtool")
    path = tmp_path_factory.mktemp(request.param) / "alertmanager.yml"
    path.write_text(artifacts(load_settings(request.param))["alertmanager/alertmanager.yml"])
    return path


def test_amtool_accepts_every_env(rendered):
    result = amtool_check_config(rendered)
    assert result.ok, result.output


@pytest.mark.parametrize("labels, receiver", ROUTES)
def test_routes(rendered, labels, receiver):
    result = amtool_route(rendered, labels, [receiver])
    assert result.ok, result.output


def test_a_wrong_expectation_fails(rendered):
    assert not amtool_route(rendered, ROUTES[0][0], ["warning-alerts"]).ok


def test_routes_use_matchers_syntax():
    route = alertmanager_config(load_settings("prod"))["route"]
    assert route["receiver"] == "default"
    for child in route["routes"]:
        assert "matchers" in child and "match" not in child and "match_re" not in child


def test_critical_inhibits_warning_of_the_same_service_and_signal():
    rule, engine = alertmanager_config(load_settings("prod"))["inhibit_rules"]
    assert rule == {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'],
                    "equal": ["service", "signal"]}
    # An engine down does not also page for its symptoms: the router's view of its backend, its saturation.
    symptoms = "BackendDown|BackendCoolingDown|EngineKVCacheNearFull|EngineWaitingQueue|EnginePreemptionStorm"
    assert engine == {"source_matchers": ['alertname="EngineDown"'], "target_matchers": [f'alertname=~"{symptoms}"'],
                      "equal": ["backend"]}


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


@pytest.mark.parametrize("env", ENVS)
def test_credentials_only_as_files(env):
    config = alertmanager_config(load_settings(env))
    keys = _keys(config)
    assert not keys & PLAIN_SECRETS, keys & PLAIN_SECRETS
    if env == "prod":
        assert {"api_url_file", "routing_key_file", "smtp_auth_password_file", "credentials_file"} <= keys


def test_local_config_sends_everything_to_one_webhook(tmp_path):
    require("amtool")
    config = local_alertmanager_config(load_settings("dev"), "http://127.0.0.1:9/hook")
    urls = {c["url"] for r in config["receivers"] for c in r["webhook_configs"]}
    assert urls == {"http://127.0.0.1:9/hook"}
    assert config["inhibit_rules"] == alertmanager_config(load_settings("dev"))["inhibit_rules"]
    path = write_config(tmp_path, config)
    assert amtool_check_config(path).ok
    for labels, receiver in ROUTES:
        result = amtool_route(path, labels, [receiver])
        assert result.ok, result.output


def test_routing_timings_come_from_the_env():
    """staging re-sends criticals every 2h and the rest every 8h; the heartbeat follows groupInterval."""
    routing = load_settings("staging").alerting.routing
    route = alertmanager_config(load_settings("staging"))["route"]
    children = {child["receiver"]: child for child in route["routes"]}
    assert route["group_by"] == ["alertname", "env", "service"]
    assert (route["group_wait"], route["group_interval"], route["repeat_interval"]) == (
        routing.group_wait, routing.group_interval, routing.repeat_interval)
    assert children["critical-alerts"]["repeat_interval"] == routing.critical_repeat_interval != routing.repeat_interval
    assert children["watchdog"]["group_wait"] == "0s"
    assert children["watchdog"]["repeat_interval"] == routing.group_interval == "5m"
    local = {c["receiver"]: c for c in local_alertmanager_config(load_settings("dev"), "http://127.0.0.1:9/")["route"]
             ["routes"]}
    assert local["watchdog"]["repeat_interval"] == "1m"  # group interval under a minute: heartbeat at most once a minute


def test_receivers_render_the_env_settings():
    """Every recipient is mailed over TLS; the dead man's switch gets heartbeats, never 'resolved'."""
    settings = load_settings("prod")
    team = settings.alerting.receiver("default").emails
    receivers = {**settings.alerting.receivers,
                 "default": replace(settings.alerting.receiver("default"), emails=(*team, "second@example.com"))}
    config = alertmanager_config(replace(settings, alerting=replace(settings.alerting, receivers=receivers)))
    assert config["global"]["smtp_require_tls"] is True
    by_name = {r["name"]: r for r in config["receivers"]}
    assert by_name["default"]["email_configs"][0]["to"] == ", ".join((*team, "second@example.com"))
    (webhook,) = by_name["watchdog"]["webhook_configs"]
    watchdog = settings.alerting.receiver("watchdog")
    assert webhook["url"] == watchdog.webhook_url and webhook["send_resolved"] is False
    assert webhook["http_config"] == {"authorization": {"credentials_file": watchdog.webhook_credentials_file}}


def render_template(tmp_path: Path, template: str, data: dict[str, Any]) -> str:
    """``amtool template render``: Alertmanager's own template engine on notification ``data``."""
    require("amtool")
    (tmp_path / "none.tmpl").write_text("")
    (tmp_path / "data.json").write_text(json.dumps(data))
    result = run_tool("amtool template render", [
        "amtool", "template", "render", f"--template.glob={tmp_path / 'none.tmpl'}",
        f"--template.data={tmp_path / 'data.json'}", f"--template.text={template}"])
    assert result.ok, result.output
    return result.output


def test_messages_carry_every_alert_label_and_the_start_time(tmp_path):
    """Email and Slack texts of the critical receiver, rendered by amtool: which pod, which env, since when."""
    receiver = next(r for r in alertmanager_config(load_settings("prod"))["receivers"] if r["name"] == "critical-alerts")
    labels = {"alertname": "ServiceDown", "env": "prod", "instance": "10.1.0.4:9090", "namespace": "llm-router-prod",
              "pod": "llm-router-7d9-abc", "severity": "critical"}
    alert = {"labels": labels, "annotations": {"summary": "LLM Router instance is down", "description": "D",
                                               "dashboard_url": "https://g/d/x", "runbook_url": "https://r#servicedown"}}
    data = {"receiver": "critical-alerts", "status": "firing", "externalURL": "http://am", "commonAnnotations": {},
            "groupLabels": {"alertname": "ServiceDown"}, "commonLabels": {"env": "prod"},
            "alerts": [{**alert, "status": "firing", "startsAt": "2026-11-30T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"},
                       {**alert, "labels": {**labels, "pod": "llm-router-7d9-xyz"}, "status": "resolved",
                        "startsAt": "2026-11-30T09:00:00Z", "endsAt": "2026-11-30T09:05:00Z"}]}
    for text in (receiver["email_configs"][0]["text"], receiver["slack_configs"][0]["text"]):
        out = render_template(tmp_path, text, data)
        assert "[FIRING] LLM Router instance is down" in out and "[RESOLVED] LLM Router instance is down" in out
        assert ("Labels: alertname=ServiceDown env=prod instance=10.1.0.4:9090 namespace=llm-router-prod "
                "pod=llm-router-7d9-abc severity=critical") in out
        assert "pod=llm-router-7d9-xyz" in out
        assert "Started: 2026-11-30 10:00:00 UTC\n" in out
        assert "Started: 2026-11-30 09:00:00 UTC, resolved: 2026-11-30 09:05:00 UTC" in out
        assert "Runbook: https://r#servicedown" in out
    subject = render_template(tmp_path, receiver["email_configs"][0]["headers"]["Subject"], data)
    assert subject == "CRITICAL LLM Router: [FIRING:1] ServiceDown (prod)"
