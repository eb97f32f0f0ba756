"""Thanos' own alerts (``metricsStore.mode: thanos``) and their ``promtool test rules`` suite.

Expressions, ``for`` durations and severities follow the Thanos mixin at the pinned release
(``examples/alerts/alerts.yaml`` of thanos-io/thanos v0.42.4), with our job names and labels:

* ThanosCompactHalted: the Compactor hit an error it will not retry (``thanos_compact_halted``):
  no compaction, downsampling or retention until someone looks;
* ThanosCompactIsDown: no Compactor target up. The mixin pages (critical); here it is a
  warning: its docs say the Compactor "does not need to be highly available";
* ThanosSidecarBucketOperationsFailed: a sidecar's bucket operations fail, so its blocks stop
  reaching object storage (the sidecar cannot upload);
* ThanosSidecarIsDown, ThanosStoreIsDown, ThanosQueryIsDown: no target of that component up
  (``absent(up == 1)``: all replicas down, or none discovered). Without the Store Gateway the
  Querier has no history; without the Querier Grafana has no data.

Only an env with Thanos loads them (``prometheus/rules/thanos-alerts.yml``); elsewhere the
``absent`` alerts would fire at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.model import AlertRule, RuleGroup, Severity, duration_seconds
from alerts.promql import selector
from alerts.yamlfmt import dump
from foundation.exporter_metrics import THANOS_BUCKET_OPERATION_FAILURES, THANOS_COMPACT_HALTED
from foundation.settings import Settings

SERVICE = "thanos"
RULE_FILE = "thanos-alerts.yml"
TEST_FILE = "thanos-alerts.test.yml"
#: Scrape job of each component (``stack.services.longterm`` scrapes them under these names).
JOBS = {"sidecar": THANOS_BUCKET_OPERATION_FAILURES.job, "query": "thanos-query", "store": "thanos-store",
        "compact": THANOS_COMPACT_HALTED.job}
FOR = "5m"
#: Every test samples once a minute.
STEP_S = 60
INSTANCE = "10.0.0.7:10902"


@dataclass(frozen=True)
class ThanosAlert:
    name: str
    severity: Severity
    expr: str
    summary: str
    description: str
    #: How the promtool suite drives it: ``gauge`` (1 = bad), ``failures`` (a counter that
    #: rises = bad) or ``absent`` (no ``up == 1`` target = bad).
    kind: str
    metric: str
    job: str


def _absent(component: str, name: str, what: str, severity: Severity = Severity.CRITICAL) -> ThanosAlert:
    job = JOBS[component]
    return ThanosAlert(name, severity, f"absent({selector('up', {'job': job})} == 1)",
                       f"Thanos {what} is down",
                       f"No {job} target is up (all replicas down, or none discovered) for {FOR}.",
                       "absent", "up", job)


ALERTS: tuple[ThanosAlert, ...] = (
    ThanosAlert(
        "ThanosCompactHalted", Severity.WARNING,
        f"{selector(THANOS_COMPACT_HALTED.name, {'job': THANOS_COMPACT_HALTED.job})} == 1",
        "Thanos Compactor has halted",
        "The Compactor {{ $labels.instance }} hit an error it does not retry: no compaction, downsampling "
        "or retention until it is fixed and restarted.",
        "gauge", THANOS_COMPACT_HALTED.name, THANOS_COMPACT_HALTED.job),
    _absent("compact", "ThanosCompactIsDown", "Compactor", Severity.WARNING),
    ThanosAlert(
        "ThanosSidecarBucketOperationsFailed", Severity.CRITICAL,
        f"sum by (instance) (rate({selector(THANOS_BUCKET_OPERATION_FAILURES.name, {'job': JOBS['sidecar']})}[5m])) > 0",
        "Thanos sidecar cannot upload to object storage",
        "Bucket operations of the sidecar {{ $labels.instance }} fail ({{ $value | printf \"%.3f\" }}/s): its "
        "Prometheus blocks are not reaching object storage.",
        "failures", THANOS_BUCKET_OPERATION_FAILURES.name, JOBS["sidecar"]),
    _absent("sidecar", "ThanosSidecarIsDown", "sidecar"),
    _absent("store", "ThanosStoreIsDown", "Store Gateway"),
    _absent("query", "ThanosQueryIsDown", "Querier"),
)


def rule(settings: Settings, alert: ThanosAlert) -> AlertRule:
    return AlertRule(
        alert=alert.name, expr=alert.expr, severity=alert.severity, for_=FOR,
        labels={"service": SERVICE, "signal": alert.name[len("Thanos"):].lower()},
        annotations={"summary": alert.summary, "description": alert.description,
                     "runbook_url": f"{settings.alerting.runbook_url}#{alert.name.lower()}"},
    )


def rule_group(settings: Settings) -> RuleGroup:
    return RuleGroup("thanos.alerts", tuple(rule(settings, a) for a in ALERTS))


def rule_file(settings: Settings) -> str:
    return dump({"groups": [rule_group(settings).to_dict()]})


# -- promtool test suite -----------------------------------------------------------------------
def _series(alert: ThanosAlert, values: str, instance: str = INSTANCE) -> dict[str, str]:
    return {"series": selector(alert.metric, {"instance": instance, "job": alert.job}), "values": values}


def _expected(settings: Settings, alert: ThanosAlert, value: str = "") -> list[dict[str, Any]]:
    r = rule(settings, alert)
    labels = dict(r.labels)
    description = alert.description
    if alert.kind != "absent":
        labels["instance"] = INSTANCE
        description = description.replace("{{ $labels.instance }}", INSTANCE)
    if alert.kind == "gauge":
        labels["job"] = alert.job
    description = description.replace('{{ $value | printf "%.3f" }}', value)
    return [{"exp_labels": labels, "exp_annotations": {**dict(r.annotations), "description": description}}]


def _case(name: str, series: list[dict[str, str]], at_minutes: int, alert: ThanosAlert,
          expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "interval": f"{STEP_S}s", "input_series": series,
            "alert_rule_test": [{"eval_time": f"{at_minutes}m", "alertname": alert.name, "exp_alerts": expected}]}


def cases(settings: Settings, alert: ThanosAlert) -> list[dict[str, Any]]:
    """Bad from minute 1 on: still pending one minute before ``for`` has elapsed, firing after it;
    good throughout: quiet. ``absent`` alerts also fire with no target at all and stay quiet
    while one of two replicas is up."""
    hold = int(duration_seconds(FOR) // STEP_S)
    steps = hold + 4
    if alert.kind == "gauge":
        bad, good = f"0 1x{steps}", f"0x{steps + 1}"
    elif alert.kind == "failures":  # 3 failed operations a minute: 0.05/s
        bad, good = f"0+3x{steps + 1}", f"5x{steps + 1}"
    else:
        bad, good = f"1 0x{steps}", f"1x{steps + 1}"
    fire_at = 1 + hold + 1
    out = [
        _case(f"{alert.name} fires", [_series(alert, bad)], fire_at, alert, _expected(settings, alert, "0.050")),
        _case(f"{alert.name} stays quiet while healthy", [_series(alert, good)], fire_at, alert, []),
        _case(f"{alert.name} does not fire before 'for' ({FOR})", [_series(alert, bad)], hold, alert, []),
    ]
    if alert.kind == "absent":
        other = {"series": selector("up", {"instance": INSTANCE, "job": "llm-router"}), "values": f"1x{steps + 1}"}
        out.append(_case(f"{alert.name} fires when no target is discovered", [other], fire_at, alert,
                         _expected(settings, alert)))
        out.append(_case(f"{alert.name} stays quiet while one replica is up", [
            _series(alert, bad), _series(alert, good, instance="10.0.0.8:10902")], fire_at, alert, []))
    return out


def rule_tests(settings: Settings) -> str:
    tests = [case for alert in ALERTS for case in cases(settings, alert)]
    return dump({"rule_files": [f"../rules/{RULE_FILE}"], "evaluation_interval": f"{STEP_S}s", "tests": tests})
