"""What the rules say: the seed's alerts with its prod thresholds, labels and links for
every alert, only known metric names, Sloth-compatible SLO rules, a faithful test profile."""

from __future__ import annotations

import re

import promql_parser
import pytest
import yaml

from alerts import recording
from alerts.groups import build_rule_groups
from alerts.model import AlertRule, RecordingRule
from alerts.operator import prometheus_rule
from alerts.render import artifacts, rule_files
from app_instrumentation import catalog
from foundation import alert_names as names
from foundation import engine_metrics, exporter_metrics
from foundation.promql_names import metric_names
from foundation.settings import PROJECT_DIR, load_settings

DASHBOARD_UIDS = {"llm-router-overview", "llm-model-performance", "llm-router-system", "llm-qos", "llm-slo",
                  "llm-backends"}
#: Series that exist without the router: Prometheus' own ``up``, node-exporter, kube-state-metrics.
EXTERNAL = {"up"} | exporter_metrics.NAMES | engine_metrics.NAMES

#: Every threshold alert in prod: (comparison in the expression, for, severity, range windows).
#: The promtool suites are generated from the same definitions and move with them, so a changed
#: threshold, ``for``, severity (= receiver) or window is only caught here.
PROD_ALERTS = {
    "HighErrorRate": ("> 0.05", "2m", "warning", {"5m"}),
    "CriticalErrorRate": ("> 0.2", "1m", "critical", {"5m"}),
    "HighResponseTime": ("> 30", "3m", "warning", {"5m"}),
    "CriticalResponseTime": ("> 60", "1m", "critical", {"5m"}),
    "HighMemoryUsage": ("> 3", "5m", "warning", set()),
    "CriticalMemoryUsage": ("> 7", "1m", "critical", set()),
    "NoModelsLoaded": ("< 1", "1m", "critical", set()),
    "LowCacheHitRate": ("< 0.5", "10m", "warning", {"10m"}),
    "HighQueueSize": ("> 100", "2m", "warning", set()),
    "CriticalQueueSize": ("> 500", "30s", "critical", set()),
    "ServiceDown": ("== 0", "1m", "critical", set()),
    "LowTokenGeneration": ("< 10", "5m", "warning", {"5m"}),
    "BackendDown": ("== 0", "2m", "warning", set()),
    "BackendCoolingDown": ("== 1", "5m", "warning", set()),
    "HighFallbackRate": ("> 0.1", "5m", "warning", {"5m"}),
    "BackendRateLimited": ("> 0.1", "5m", "warning", {"5m"}),
    "HighCostBurn": ("> 25", "15m", "warning", {"1h"}),
    "InstrumentationErrors": ("> 0", "10m", "warning", {"5m"}),
    "MetricSeriesOverflow": ("> 0", "15m", "info", {"15m"}),
    "LogEventsDropped": ("> 0", "5m", "warning", {"5m"}),
    "TraceSpansLost": ("< 0.95", "10m", "warning", {"10m"}),
    "RouterInstancesDown": ("> 0.5", "1m", "critical", set()),
    "RouterStalled": ("> 0", "1m", "critical", {"5m"}),
    "HighClientErrorRate": ("> 0.5", "15m", "warning", {"5m"}),
    "RouterPodRestarting": ("> 2", "5m", "warning", {"15m"}),
    "RouterOOMKilled": ("== 1", "1m", "warning", {"10m"}),
    "RouterCPUThrottling": ("> 0.9", "15m", "warning", {"5m"}),
    "RouterNodePressure": ("== 1", "5m", "warning", set()),
    "EngineDown": ("> 0.5", "1m", "critical", set()),
    "EngineKVCacheNearFull": ("> 0.9", "10m", "warning", set()),
    "EngineWaitingQueue": ("> 10", "10m", "warning", set()),
    "EnginePreemptionStorm": ("> 1", "5m", "warning", {"5m"}),
    "GPUMemoryNearFull": ("> 0.95", "10m", "warning", set()),
    "GPUXidErrors": ("> 0", "1m", "warning", set()),
    "GPUTooHot": ("> 85", "5m", "warning", set()),
}
#: Alerts on a share of traffic also need an absolute rate above their floor (the seed's rates for errors).
PROD_FLOORS = {"HighErrorRate": "> 0.1", "CriticalErrorRate": "> 0.5", "HighClientErrorRate": "> 1"}
#: The seed's twelve alerts (names written out: the seed is the reference, not ``names``).
SEED_NAMES = ("HighErrorRate", "CriticalErrorRate", "HighResponseTime", "CriticalResponseTime", "HighMemoryUsage",
              "CriticalMemoryUsage", "NoModelsLoaded", "LowCacheHitRate", "HighQueueSize", "CriticalQueueSize",
              "ServiceDown", "LowTokenGeneration")
#: (threshold as it appears in the expression, for): the seed's values, kept in prod (the error
#: alerts' seed rates are their floors now, beside a share of inferences).
SEED = {name: (PROD_FLOORS.get(name) or PROD_ALERTS[name][0], PROD_ALERTS[name][1]) for name in SEED_NAMES}


def rules(env: str = "prod", profile: str = "prod") -> list[AlertRule | RecordingRule]:
    return [r for groups in build_rule_groups(load_settings(env), profile).values() for g in groups for r in g.rules]


def alerts(env: str = "prod", profile: str = "prod") -> dict[str, AlertRule]:
    return {r.alert: r for r in rules(env, profile) if isinstance(r, AlertRule)}


def test_prod_keeps_the_seed_alerts_thresholds_and_for():
    prod = alerts()
    assert set(names.SEED_ALERTS) == set(SEED) <= set(prod)
    for name, (threshold, for_) in SEED.items():
        assert threshold in prod[name].expr, name
        assert prod[name].for_ == for_, name


def test_prod_pins_every_threshold_alert():
    prod = alerts()
    assert set(PROD_ALERTS) == set(names.THRESHOLD_ALERTS)
    for name, (threshold, for_, severity, windows) in PROD_ALERTS.items():
        rule = prod[name]
        assert re.search(rf"(^|\s){re.escape(threshold)}(\s|$)", rule.expr), (name, rule.expr)
        if name in PROD_FLOORS:
            assert rule.expr.endswith(f" {PROD_FLOORS[name]}"), (name, rule.expr)
        assert (rule.for_, rule.labels["severity"]) == (for_, severity), name
        assert set(re.findall(r"\[(\w+)\]", rule.expr)) == windows, name


def test_seed_defects_are_fixed():
    prod = alerts()
    for name in ("HighResponseTime", "CriticalResponseTime"):
        assert "histogram_quantile(0.95, sum by (le) (rate(" in prod[name].expr
    assert 'up{job="llm-router"} == 0' == prod["ServiceDown"].expr
    assert "> 0.5" in prod["LowTokenGeneration"].expr.split(" and ")[1]  # armed from half an inference/s
    assert "> 0" in prod["LowCacheHitRate"].expr.split(" and ")[1]
    for name in ("HighErrorRate", "CriticalErrorRate"):
        assert "failures/s" in prod[name].annotations["description"]
        assert "humanizePercentage" in prod[name].annotations["description"]  # a share, printed as one


def test_every_alert_has_labels_and_links():
    for env in ("dev", "staging", "prod"):
        grafana = load_settings(env).alerting.grafana_url
        for rule in alerts(env).values():
            assert rule.labels["service"] == "llm-router"
            assert rule.labels["severity"] in {"critical", "warning", "info"}
            assert rule.labels["signal"]
            uid = rule.annotations["dashboard_url"].removeprefix(f"{grafana}/d/")
            assert uid in DASHBOARD_UIDS, rule.alert
            assert rule.annotations["runbook_url"].startswith("https://")


def test_warning_critical_twins_share_their_signal():
    prod = alerts()
    twins = [("HighErrorRate", "CriticalErrorRate"), ("HighResponseTime", "CriticalResponseTime"),
             ("HighMemoryUsage", "CriticalMemoryUsage"), ("HighQueueSize", "CriticalQueueSize"),
             ("AvailabilitySLOBurnRateTicket", "AvailabilitySLOBurnRatePage"),
             ("TTFTLatencySLOBurnRateTicket", "TTFTLatencySLOBurnRatePage")]
    for warning, critical in twins:
        assert prod[warning].labels["severity"] == "warning" and prod[critical].labels["severity"] == "critical"
        assert prod[warning].labels["signal"] == prod[critical].labels["signal"]
    signals = [r.labels["signal"] for r in prod.values()]
    assert len(set(signals)) == len(signals) - len(twins)


def test_watchdog_always_fires_with_info_severity():
    watchdog = alerts()["Watchdog"]
    assert watchdog.expr == "vector(1)" and watchdog.labels["severity"] == "info" and not watchdog.for_


def test_new_llm_signal_alerts_exist():
    assert set(names.SIGNAL_ALERTS) <= set(alerts())


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("profile", ["prod", "test"])
def test_rules_only_read_known_series(env, profile):
    known = catalog.SAMPLE_NAMES | recording.ALL_RULE_NAMES | EXTERNAL
    for rule in rules(env, profile):
        unknown = {n for n in metric_names(rule.expr) if n not in known}
        assert not unknown, f"{rule.name} reads unknown series {unknown}"


def test_the_known_series_check_catches_a_typo():
    known = catalog.SAMPLE_NAMES | recording.ALL_RULE_NAMES | EXTERNAL
    assert metric_names("sum(rate(llm_router_eror_total[5m])) > 1") - known == {"llm_router_eror_total"}


def test_recorded_names_match_the_recording_module():
    recorded = {r.record for r in rules() if isinstance(r, RecordingRule)}
    assert recorded == set(recording.ALL_RULE_NAMES)


def output_labels(node: object) -> frozenset[str]:
    """Labels an aggregate rule's result keeps: its outer ``sum by``, ``le`` dropped by a quantile."""
    if isinstance(node, promql_parser.AggregateExpr):
        return frozenset(node.modifier.labels) if node.modifier else frozenset()
    if isinstance(node, promql_parser.Call) and node.func.name == "histogram_quantile":
        return output_labels(node.args[1]) - {"le"}
    if isinstance(node, promql_parser.ParenExpr):
        return output_labels(node.expr)
    if isinstance(node, promql_parser.BinaryExpr):
        return output_labels(node.lhs)
    raise AssertionError(f"no output labels known for {node}")


def test_kept_labels_are_what_each_rule_records():
    for r in rules():
        if not isinstance(r, RecordingRule):
            continue
        if r.record in recording.AGGREGATED_BY:
            assert output_labels(promql_parser.parse(r.expr)) | set(r.labels) == recording.kept_labels(r.record), r
        else:  # SLO rules carry their identity as static labels
            assert set(r.labels) == recording.kept_labels(r.record), r


def test_kept_labels_refuse_a_name_that_is_not_recorded():
    with pytest.raises(KeyError, match="not a recording rule"):
        recording.kept_labels("llm_router_inference_total")


def test_slo_rules_are_sloth_compatible():
    slo_rules = [r for r in rules() if isinstance(r, RecordingRule) and r.record.startswith("slo:")]
    for slo in recording.SLO_NAMES:
        own = [r for r in slo_rules if r.labels["sloth_slo"] == slo]
        assert {r.labels["sloth_id"] for r in own} == {f"llm-router-{slo}"}
        assert {r.labels["sloth_service"] for r in own} == {"llm-router"}
        windows = {r.labels.get("sloth_window") for r in own if r.record.startswith("slo:sli_error:")}
        assert windows == {*recording.SLI_WINDOWS, recording.SLO_PERIOD}
    ttft = next(r for r in slo_rules if r.labels["sloth_slo"] == "ttft-latency" and r.labels.get("sloth_window") == "5m")
    bound = re.search(r'le=~"([^"|]+)', ttft.expr).group(1)
    assert float(bound) in catalog.TIME_TO_FIRST_TOKEN.buckets


def test_burn_rate_alerts_use_the_workbook_windows():
    prod = alerts()
    page, ticket = prod["AvailabilitySLOBurnRatePage"].expr, prod["AvailabilitySLOBurnRateTicket"].expr
    budget = "0.005"
    for window, factor in (("5m", "14.4"), ("1h", "14.4"), ("30m", "6"), ("6h", "6")):
        assert f"slo:sli_error:ratio_rate{window}{{" in page and f"({factor} * {budget})" in page
    for window, factor in (("2h", "3"), ("1d", "3"), ("6h", "1"), ("3d", "1")):
        assert f"slo:sli_error:ratio_rate{window}{{" in ticket and f"({factor} * {budget})" in ticket


def test_test_profile_only_compresses_time():
    prod, fast = alerts("dev"), alerts("dev", "test")
    assert prod.keys() == fast.keys()
    for name, rule in prod.items():
        assert fast[name].labels == rule.labels and fast[name].annotations == rule.annotations
        assert fast[name].for_seconds <= max(1.0, rule.for_seconds / 60)
        windows = r"\[[^\]]+\]|offset \w+"  # range windows and offsets are time, compressed alike
        assert re.sub(windows, "[w]", fast[name].expr) == re.sub(windows, "[w]", rule.expr)
    assert alerts("dev") == prod  # building the test profile leaves prod untouched


def test_render_is_deterministic():
    assert artifacts(load_settings("prod")) == artifacts(load_settings("prod"))


def test_prometheus_rule_carries_the_same_groups():
    settings = load_settings("prod")
    obj = prometheus_rule(settings, namespace="monitoring", labels={"release": "kube-prometheus"})
    assert obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "PrometheusRule"
    assert obj["metadata"]["namespace"] == "monitoring" and obj["metadata"]["labels"]["release"] == "kube-prometheus"
    groups = [g for text in rule_files(settings).values() for g in yaml.safe_load(text)["groups"]]
    assert obj["spec"]["groups"] == groups
    rendered = artifacts(settings)
    assert yaml.safe_load(rendered["prometheus/operator/llm-router.prometheusrule.yaml"])["kind"] == "PrometheusRule"
    assert not any(p.startswith("kubernetes/") for p in rendered)


def test_every_alert_has_a_runbook_section():
    headings = {line[3:].strip().lower() for line in
                (PROJECT_DIR / "docs" / "runbooks.md").read_text().splitlines() if line.startswith("## ")}
    for rule in alerts().values():
        anchor = rule.annotations["runbook_url"].rsplit("#", 1)[1]
        assert anchor in headings, f"docs/runbooks.md has no section for {rule.alert}"
