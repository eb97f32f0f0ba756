"""Typed Prometheus rules whose constructors refuse rules Prometheus would load but nobody should.

An :class:`AlertRule` must have a known severity, a summary, a description and a runbook,
a valid ``for`` duration and an expression that parses (``promql-parser``, the Rust
PromQL parser). ``RuleGroup.to_dict`` renders in a fixed key order, so the YAML of two
renders of the same settings is byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import promql_parser

#: Prometheus durations: one or more ``<n><unit>`` terms, largest unit first.
DURATION_RE = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
#: Recording rule names may contain colons (``level:metric:operations``).
RECORD_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
ALERT_NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_UNIT_SECONDS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}

REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
REQUIRED_LABELS = ("severity", "service", "signal")


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class RuleError(ValueError):
    """A rule that must not be rendered; the message names the rule."""


def duration_seconds(value: str) -> float:
    """Seconds of a Prometheus duration (``1h30m``); RuleError when it is not one."""
    match = DURATION_RE.match(value) if isinstance(value, str) else None
    if not value or match is None:
        raise RuleError(f"{value!r} is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")
    units = ("y", "w", "d", "h", "m", "s", "ms")
    return sum(int(match.group(2 + 2 * i)) * _UNIT_SECONDS[u] for i, u in enumerate(units) if match.group(2 + 2 * i))


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for a whole number of seconds (``90`` -> ``1m30s``)."""
    total, out = int(seconds), ""
    if total != seconds or total < 0:
        raise RuleError(f"duration must be a whole, non-negative number of seconds, got {seconds}")
    for unit in ("d", "h", "m", "s"):
        n, total = divmod(total, int(_UNIT_SECONDS[unit]))
        out += f"{n}{unit}" if n else ""
    return out or "0s"


def parse_promql(expr: str, owner: str) -> Any:
    """The AST of ``expr``; RuleError naming ``owner`` when it does not parse."""
    if not isinstance(expr, str) or not expr.strip():
        raise RuleError(f"{owner}: empty expression")
    try:
        return promql_parser.parse(expr)
    except Exception as exc:  # noqa: BLE001 - the parser raises its own bare exception types
        raise RuleError(f"{owner}: expression does not parse: {exc}\n  {expr}") from exc


def _check_labels(owner: str, labels: Mapping[str, str]) -> None:
    for name, value in labels.items():
        if not LABEL_NAME_RE.match(name) or name.startswith("__"):
            raise RuleError(f"{owner}: invalid label name {name!r}")
        if not isinstance(value, str):
            raise RuleError(f"{owner}: label {name} must be a string, got {value!r}")


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(mapping.items())))


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not RECORD_NAME_RE.match(self.record):
            raise RuleError(f"recording rule {self.record!r}: invalid metric name")
        parse_promql(self.expr, f"recording rule {self.record}")
        _check_labels(f"recording rule {self.record}", self.labels)
        object.__setattr__(self, "labels", _frozen(self.labels))

    @property
    def name(self) -> str:
        return self.record

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class AlertRule:
    alert: str
    expr: str
    severity: Severity
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    #: ``None`` or ``"0s"``: fires on the first evaluation that matches.
    for_: str | None = None

    def __post_init__(self) -> None:
        owner = f"alert {self.alert!r}"
        if not ALERT_NAME_RE.match(self.alert):
            raise RuleError(f"{owner}: name must be UpperCamelCase")
        try:
            severity = Severity(self.severity)
        except ValueError:
            raise RuleError(
                f"{owner}: severity {self.severity!r} is not one of {', '.join(s.value for s in Severity)}"
            ) from None
        object.__setattr__(self, "severity", severity)
        if self.for_ is not None:
            try:
                duration_seconds(self.for_)
            except RuleError as exc:
                raise RuleError(f"{owner}: for: {exc}") from None
        parse_promql(self.expr, owner)
        if "severity" in self.labels:
            raise RuleError(f"{owner}: pass severity as the severity argument, not a label")
        missing = [k for k in REQUIRED_LABELS if k != "severity" and not self.labels.get(k)]
        if missing:
            raise RuleError(f"{owner}: missing label(s) {', '.join(missing)}")
        _check_labels(owner, self.labels)
        missing = [k for k in REQUIRED_ANNOTATIONS if not str(self.annotations.get(k, "")).strip()]
        if missing:
            raise RuleError(f"{owner}: missing annotation(s) {', '.join(missing)}")
        object.__setattr__(self, "labels", _frozen({**self.labels, "severity": severity.value}))
        object.__setattr__(self, "annotations", _frozen(self.annotations))

    @property
    def name(self) -> str:
        return self.alert

    @property
    def for_seconds(self) -> float:
        return duration_seconds(self.for_) if self.for_ else 0.0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_seconds:
            out["for"] = self.for_
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        return out


Rule = AlertRule | RecordingRule


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Rule, ...]
    interval: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.rules:
            raise RuleError(f"rule group {self.name!r}: needs a name and at least one rule")
        if self.interval is not None:
            duration_seconds(self.interval)
        alerts = [r.alert for r in self.rules if isinstance(r, AlertRule)]
        duplicated = sorted({a for a in alerts if alerts.count(a) > 1})
        if duplicated:
            raise RuleError(f"rule group {self.name!r}: duplicate alert(s) {', '.join(duplicated)}")

    @property
    def alerts(self) -> tuple[AlertRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, AlertRule))

    @property
    def recording_rules(self) -> tuple[RecordingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, RecordingRule))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.interval:
            out["interval"] = self.interval
        out["rules"] = [r.to_dict() for r in self.rules]
        return out
