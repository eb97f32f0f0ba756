"""Per-env alerting settings: overrides, SLOs, receivers; bad input names key and env."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import yaml

from alerts.groups import build_rule_groups
from alerts.render import artifacts
from foundation import alert_names as names
from foundation.settings import PROJECT_DIR, Settings, SettingsError, load_settings


def settings_with(alerting: dict, env: str = "dev") -> Settings:
    base = load_settings(env)
    config = yaml.safe_load((PROJECT_DIR / f"Pulumi.{env}.yaml").read_text())["config"]
    config = {k.split(":", 1)[1]: copy.deepcopy(v) for k, v in config.items() if k.startswith("llm-router-monitoring:")}
    config["alerting"] = alerting
    return Settings.from_config(env, config, base.secret_keys)


def test_every_env_loads_with_an_alerting_section():
    for env in ("dev", "staging", "prod"):
        assert load_settings(env).alerting.receivers.keys() == {"default", "critical-alerts", "warning-alerts",
                                                                "watchdog"}


def test_unknown_alert_name_in_overrides_is_a_clear_error():
    with pytest.raises(SettingsError) as err:
        settings_with({"overrides": {"HighErorRate": {"threshold": 1}}})
    assert err.value.env == "dev" and err.value.key == "alerting.overrides.HighErorRate"
    assert "unknown alert name" in str(err.value) and "HighErrorRate" in str(err.value)


def test_override_keys_and_values_are_checked():
    with pytest.raises(SettingsError, match="alerting.overrides.HighErrorRate.for"):
        settings_with({"overrides": {"HighErrorRate": {"for": "soon"}}})
    with pytest.raises(SettingsError, match="unknown key"):
        settings_with({"overrides": {"HighErrorRate": {"treshold": 1}}})
    with pytest.raises(SettingsError, match=">= 0"):
        settings_with({"overrides": {"HighErrorRate": {"threshold": -1}}})


def test_threshold_override_on_an_alert_without_threshold_is_refused():
    s = settings_with({"overrides": {names.SERVICE_DOWN: {"threshold": 1}}})
    with pytest.raises(SettingsError, match="ServiceDown has no threshold"):
        build_rule_groups(s)


def alert(s: Settings, name: str):
    return next(r for r in build_rule_groups(s)["llm-router-alerts"][0].alerts if r.alert == name)


def test_overrides_change_the_rendered_rule():
    s = settings_with({"overrides": {"HighErrorRate": {"threshold": 0.07, "floor": 0.3, "for": "7m"}}})
    rule = alert(s, "HighErrorRate")
    assert "\n> 0.07\nand\n" in rule.expr and rule.expr.endswith("> 0.3") and rule.for_ == "7m"
    assert "(threshold 7%), at more than 0.3 failures/s" in rule.annotations["description"]


def test_share_floor_and_capacity_overrides_are_checked():
    with pytest.raises(SettingsError, match="HighErrorRate.threshold.*share \\(0..1\\), got 2"):
        build_rule_groups(settings_with({"overrides": {"HighErrorRate": {"threshold": 2}}}))
    with pytest.raises(SettingsError, match="HighQueueSize has no floor; floors exist for .*HighErrorRate"):
        build_rule_groups(settings_with({"overrides": {"HighQueueSize": {"floor": 1}}}))
    # dev knows its queue capacity (64): a threshold the queue can never exceed is refused.
    with pytest.raises(SettingsError, match="HighQueueSize could never fire.*queueCapacity = 64.*threshold 100"):
        build_rule_groups(settings_with({"overrides": {"HighQueueSize": {"threshold": 100}}}))
    with pytest.raises(SettingsError, match=">= 0"):
        settings_with({"overrides": {"HighErrorRate": {"floor": -1}}})


def test_queue_alerts_follow_the_queue_capacity():
    """dev's router.queueCapacity (64): warning at half, page at 90 %; prod knows no capacity: the seed's."""
    dev, prod = load_settings("dev"), load_settings("prod")
    assert dev.router.queue_capacity == 64 and prod.router.queue_capacity is None
    assert alert(dev, "HighQueueSize").expr.endswith("> 32")
    assert alert(dev, "CriticalQueueSize").expr.endswith("> 57.6")
    assert alert(prod, "HighQueueSize").expr.endswith("> 100")
    assert alert(prod, "CriticalQueueSize").expr.endswith("> 500")
    override = settings_with({"overrides": {"HighQueueSize": {"threshold": 40}}})
    assert alert(override, "HighQueueSize").expr.endswith("> 40")


def test_latency_threshold_no_bucket_can_exceed_is_refused_at_render():
    s = settings_with({"overrides": {"CriticalResponseTime": {"threshold": 500}}})
    with pytest.raises(SettingsError, match="CriticalResponseTime.threshold"):
        artifacts(s)


def test_ttft_slo_threshold_must_be_a_bucket_bound():
    with pytest.raises(SettingsError, match="bucket bound"):
        settings_with({"slos": {"ttft-latency": {"objective": 99, "thresholdSeconds": 0.7}}})
    with pytest.raises(SettingsError, match="unknown SLO"):
        settings_with({"slos": {"latency": {"objective": 99}}})
    with pytest.raises(SettingsError, match="between 0 and 100"):
        settings_with({"slos": {"availability": {"objective": 100}}})


def test_receiver_credentials_must_be_absolute_file_paths():
    with pytest.raises(SettingsError, match="absolute file path"):
        settings_with({"receivers": {"critical-alerts": {"slackChannel": "#x", "slackApiUrlFile": "slack.txt"}}})
    with pytest.raises(SettingsError, match="unknown key"):
        settings_with({"receivers": {"critical-alerts": {"slackApiUrl": "https://hooks.example.com/x"}}})
    with pytest.raises(SettingsError, match="unknown receiver"):
        settings_with({"receivers": {"pager": {}}})


def test_cli_render_exits_non_zero_on_unknown_env(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "llmmon.cli", "render", "--env", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "nope" in proc.stderr and "known environments" in proc.stderr


def test_slo_settings_change_the_rendered_slo_rules():
    """dev's objectives (99 %, 95 %) and TTFT bound (2.5s) reach the SLI rules and burn-rate alerts."""
    groups = build_rule_groups(settings_with({"slos": {"availability": {"objective": 99},
                                                       "ttft-latency": {"objective": 95, "thresholdSeconds": 2.5}}}))
    rules = {(r.name, r.labels.get("sloth_slo"), r.labels.get("sloth_window")): r
             for g in groups["llm-router-slo"] for r in g.rules}
    assert '{le=~"2\\\\.5"}' in rules[("slo:sli_error:ratio_rate5m", "ttft-latency", "5m")].expr
    assert "(14.4 * 0.01)" in rules[("AvailabilitySLOBurnRatePage", None, None)].expr
    assert "(14.4 * 0.05)" in rules[("TTFTLatencySLOBurnRatePage", None, None)].expr
    assert rules[("slo:objective:ratio", "availability", None)].expr == "vector(0.99)"


@pytest.mark.parametrize("alerting, key, problem", [
    ({"receivers": {"critical-alerts": {"slackChannel": "#x"}}}, "receivers.critical-alerts.slackChannel",
     "go together"),
    ({"receivers": {"watchdog": {"webhookCredentialsFile": "/etc/am/token"}}}, "receivers.watchdog.webhookCredentialsFile",
     "needs webhookUrl"),
    ({"receivers": {"watchdog": {"webhookUrl": "deadman.example.com/ping"}}}, "receivers.watchdog.webhookUrl",
     "http(s) URL"),
    ({"smtp": {"authUsername": "alerts"}}, "smtp.authUsername", "go together"),
    ({"smtp": {"smarthost": ":587"}}, "smtp.smarthost", "host:port"),
    ({"grafanaUrl": "grafana.example.com"}, "grafanaUrl", "http(s) URL"),
    ({"routing": {"groupWait": "30 seconds"}}, "routing.groupWait", "Prometheus duration"),
    ({"routing": {"repeatInterval": "4h or so"}}, "routing.repeatInterval", "Prometheus duration"),
    ({"slos": {"availability": {"objective": 99, "thresholdSeconds": 1}}}, "slos.availability.thresholdSeconds",
     "unknown key"),
    ({"overrides": {"HighErrorRate": {"threshold": True}}}, "overrides.HighErrorRate.threshold", "expected a number"),
])
def test_malformed_alerting_keys_name_key_and_env(alerting, key, problem):
    with pytest.raises(SettingsError) as err:
        settings_with(alerting, env="staging")
    assert (err.value.env, err.value.key) == ("staging", f"alerting.{key}")
    assert problem in err.value.problem


def test_links_have_no_double_slash():
    s = settings_with({"grafanaUrl": "https://grafana.example.com/", "runbookUrl": "https://runbooks.example.com/x/"})
    rule = next(r for r in build_rule_groups(s)["llm-router-alerts"][0].alerts if r.alert == "HighErrorRate")
    assert rule.annotations["dashboard_url"] == "https://grafana.example.com/d/llm-router-overview"
    assert rule.annotations["runbook_url"] == "https://runbooks.example.com/x#higherrorrate"
