"""The scorecard: which alerts fired in which scenario, when, and what that means for on-call.

Per scenario: every alert that fired and its first firing time (seconds after the incident
began, or after the start of a healthy scenario), the expected alerts that were missed, and
the alerts that fired where they should not. Per alert: seconds of false firing, and for the
incidents it is meant for whether and how fast it detected them, and when Alertmanager would
notify (first firing + the ``group_wait`` of the route it reaches).

A card fails when an alert fires in a healthy scenario, when a critical alert fires in a
scenario that must not page or that does not allow it, or when an incident is missed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from foundation.alert_names import WATCHDOG
from llmmon.alert_quality.engine import Firing
from llmmon.alert_quality.scenarios import Scenario


@dataclass(frozen=True)
class AlertInfo:
    """What the rule files and Alertmanager say about one alert."""

    severity: str
    receiver: str
    #: Seconds Alertmanager waits before the first notification of a new group on that route.
    group_wait_s: float


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    #: Alert -> seconds from the incident's start (or the scenario's) to its first firing.
    fired: dict[str, float]
    #: Alert -> seconds it was firing (any label set), at the evaluation interval's resolution.
    firing_s: dict[str, float]
    missed: list[str]
    #: Fired although the scenario neither expects nor allows it.
    unexpected: list[str]
    #: Unexpected and critical, or critical where nothing may page: someone was woken for nothing.
    false_pages: list[str]

    @property
    def ok(self) -> bool:
        if self.missed or self.false_pages:
            return False
        return not (self.scenario.healthy and self.unexpected)


def result(scenario: Scenario, firings: Iterable[Firing], alerts: Mapping[str, AlertInfo],
           eval_interval_s: int) -> ScenarioResult:
    origin = scenario.incident_at_s or 0
    first: dict[str, float] = {}
    steps: dict[str, set[float]] = {}
    for f in firings:
        if f.alert == WATCHDOG:
            continue
        first[f.alert] = min(first.get(f.alert, f.at), f.at)
        steps.setdefault(f.alert, set()).add(f.at)
    fired = {name: at - origin for name, at in sorted(first.items())}
    unexpected = sorted(set(fired) - scenario.expect - scenario.allow)
    critical = {name for name in fired if alerts.get(name) and alerts[name].severity == "critical"}
    false_pages = sorted(critical & set(unexpected)) if scenario.pages else sorted(critical)
    return ScenarioResult(
        scenario=scenario, fired=fired,
        firing_s={name: len(at) * eval_interval_s for name, at in sorted(steps.items())},
        missed=sorted(scenario.expect - set(fired)), unexpected=unexpected, false_pages=false_pages,
    )


@dataclass
class AlertScore:
    name: str
    info: AlertInfo
    false_firing_s: float = 0.0
    #: Scenario name -> seconds to detect (None: missed) for every incident this alert is meant for.
    detections: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.info.severity, "receiver": self.info.receiver, "group_wait_seconds": self.info.group_wait_s,
            "false_positive_seconds": self.false_firing_s,
            "detections": {
                name: {"detected": ttd is not None, "time_to_detect_seconds": ttd,
                       "time_to_notify_seconds": None if ttd is None else ttd + self.info.group_wait_s}
                for name, ttd in sorted(self.detections.items())
            },
        }


@dataclass
class Scorecard:
    env: str
    results: list[ScenarioResult]
    alerts: dict[str, AlertInfo]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def alert_scores(self) -> list[AlertScore]:
        scores = {name: AlertScore(name, info) for name, info in sorted(self.alerts.items()) if name != WATCHDOG}
        for r in self.results:
            for name in r.unexpected:
                if name in scores:
                    scores[name].false_firing_s += r.firing_s.get(name, 0.0)
            for name in r.scenario.expect:
                if name in scores:
                    scores[name].detections[r.scenario.name] = r.fired.get(name)
        return list(scores.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "ok": self.ok,
            "scenarios": [
                {
                    "name": r.scenario.name, "summary": r.scenario.summary, "healthy": r.scenario.healthy,
                    "pages": r.scenario.pages, "duration_seconds": r.scenario.duration_s,
                    "incident_at_seconds": r.scenario.incident_at_s,
                    "expected": sorted(r.scenario.expect), "fired": r.fired, "missed": r.missed,
                    "unexpected": r.unexpected, "false_pages": r.false_pages, "ok": r.ok,
                }
                for r in self.results
            ],
            "alerts": {s.name: s.to_json() for s in self.alert_scores()},
        }
