"""All rule groups of one environment, for a profile (``"prod"`` or ``"test"``).

Public API:

* ``build_rule_groups(settings, profile="prod") -> dict[file_stem, list[RuleGroup]]``
* ``effective_threshold(settings, spec)`` / ``effective_floor`` / ``effective_for``: the values
  after the env's ``alerting.overrides`` and ``router.queueCapacity`` (the generated promtool
  tests use these).
"""

from __future__ import annotations

import string

from alerts.definitions import SERVICE, SPECS, AlertSpec, Format
from alerts.engine_recording import engine_rules
from alerts.model import AlertRule, RuleGroup, Severity
from alerts.profiles import Profile, get_profile
from alerts.recording_rules import aggregate_rules
from alerts.slo import burn_rate_alerts, recording_rules, slos
from foundation import alert_names as n
from foundation.settings import Settings, SettingsError

#: Rule file stem -> content; one file per concern keeps diffs and reloads readable.
ALERTS_FILE = "llm-router-alerts"
RECORDING_FILE = "llm-router-recording"
SLO_FILE = "llm-router-slo"


def effective_threshold(settings: Settings, spec: AlertSpec) -> float | None:
    """The override's threshold, else the share of the env's queue capacity, else the spec's."""
    override = settings.alerting.overrides.get(spec.name)
    key = f"alerting.overrides.{spec.name}.threshold"
    capacity = settings.router.queue_capacity
    if override is None or override.threshold is None:
        if spec.capacity_share is not None and capacity is not None:
            return round(spec.capacity_share * capacity, 6)
        return spec.threshold
    if spec.threshold is None:
        raise SettingsError(settings.env, key, f"{spec.name} has no threshold to override, only 'for'")
    if spec.is_share and override.threshold > 1:
        raise SettingsError(settings.env, key, f"{spec.name}'s threshold is a share (0..1), got {override.threshold:g}")
    if spec.capacity_share is not None and capacity is not None and override.threshold >= capacity:
        raise SettingsError(settings.env, key, f"{spec.name} could never fire: the queue holds at most "
                            f"router.queueCapacity = {capacity} requests, got threshold {override.threshold:g}")
    return override.threshold


def effective_floor(settings: Settings, spec: AlertSpec) -> float | None:
    override = settings.alerting.overrides.get(spec.name)
    if override is None or override.floor is None:
        return spec.floor
    if spec.floor is None:
        raise SettingsError(settings.env, f"alerting.overrides.{spec.name}.floor",
                            f"{spec.name} has no floor; floors exist for alerts on a share of traffic: "
                            f"{', '.join(s.name for s in SPECS if s.floor is not None)}")
    return override.floor


def effective_for(settings: Settings, spec: AlertSpec) -> str | None:
    override = settings.alerting.overrides.get(spec.name)
    return override.for_ if override is not None and override.for_ is not None else spec.for_


#: Go template printing an alert's ``$value``, per format.
GO_VALUE = {Format.NUMBER: '{{ $value | printf "%.2f" }}', Format.PERCENT: "{{ $value | humanizePercentage }}"}


def format_value(value: float, fmt: Format) -> str:
    """What ``GO_VALUE[fmt]`` prints for ``value`` (Prometheus' humanizePercentage is ``%.4g%%`` of 100x)."""
    return f"{value:.2f}" if fmt is Format.NUMBER else f"{value * 100:.4g}%"


def describe(spec: AlertSpec, value: str, threshold: float | None, floor: float | None,
             labels: dict[str, str]) -> str:
    """Fill ``spec``'s description template (see ``alerts.definitions``)."""
    shown = "" if threshold is None else (format_value(threshold, spec.value_format) if spec.is_share
                                          else f"{threshold:g}")
    return spec.description.format(value=value, threshold=shown, floor="" if floor is None else f"{floor:g}",
                                   **labels)


def alert_rule(settings: Settings, spec: AlertSpec, profile: Profile) -> AlertRule:
    threshold = effective_threshold(settings, spec)
    floor = effective_floor(settings, spec)
    a = settings.alerting
    fields = {f for _, f, _, _ in string.Formatter().parse(spec.description) if f}
    go_labels = {k: f"{{{{ $labels.{k} }}}}" for k in fields - {"value", "threshold", "floor"}}
    limits = (threshold if threshold is not None else 0.0, *((floor,) if floor is not None else ()))
    return AlertRule(
        alert=spec.name,
        expr=spec.expr(profile, *limits),
        severity=spec.severity,
        for_=profile.for_(effective_for(settings, spec)),
        labels={"service": SERVICE, "signal": spec.signal},
        annotations={
            "summary": spec.summary,
            "description": describe(spec, GO_VALUE[spec.value_format], threshold, floor, go_labels),
            "dashboard_url": f"{a.grafana_url}/d/{spec.dashboard}",
            "runbook_url": f"{a.runbook_url}#{spec.name.lower()}",
        },
    )


def watchdog(settings: Settings) -> AlertRule:
    a = settings.alerting
    return AlertRule(
        alert=n.WATCHDOG,
        expr="vector(1)",
        severity=Severity.INFO,
        labels={"service": SERVICE, "signal": "watchdog"},
        annotations={
            "summary": "Alerting pipeline heartbeat (always firing)",
            "description": "Always firing so that the dead man's switch notices when Prometheus, "
                           "its rules or Alertmanager stop working.",
            "dashboard_url": f"{a.grafana_url}/d/llm-router-overview",
            "runbook_url": f"{a.runbook_url}#watchdog",
        },
    )


def build_rule_groups(settings: Settings, profile: str | Profile = "prod") -> dict[str, list[RuleGroup]]:
    p = get_profile(profile)
    a = settings.alerting
    env_slos = slos(a)
    return {
        ALERTS_FILE: [RuleGroup("llm-router.alerts", (*(alert_rule(settings, s, p) for s in SPECS),
                                                      watchdog(settings)))],
        RECORDING_FILE: [RuleGroup("llm-router.recording", tuple(aggregate_rules(p))),
                         RuleGroup("llm-router.engines-recording", tuple(engine_rules(p)))],
        SLO_FILE: [
            *(RuleGroup(f"sloth-slo-sli-recordings-{s.labels['sloth_id']}", tuple(recording_rules(s, p)))
              for s in env_slos),
            RuleGroup("sloth-slo-alerts-llm-router",
                      tuple(r for s in env_slos for r in burn_rate_alerts(s, a.grafana_url, a.runbook_url))),
        ],
    }
