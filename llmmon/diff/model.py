"""What a semantic diff reports: changes to named things, each with field-level details."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

Action = Literal["added", "removed", "changed"]

#: Report sections, in the order a reviewer on call reads them.
ALERTS = "Alerts"
RECORDING = "Recording rules"
PROMETHEUS = "Prometheus"
ALERTMANAGER = "Alertmanager"
DASHBOARDS = "Dashboards"
KUBERNETES = "Kubernetes"
LOGPIPELINE = "Log pipeline"
OTHER = "Other files"
SECTIONS = (ALERTS, RECORDING, PROMETHEUS, ALERTMANAGER, DASHBOARDS, KUBERNETES, LOGPIPELINE, OTHER)


@dataclass(frozen=True)
class Detail:
    """One field of a changed thing; ``None`` means absent on that side."""

    field: str
    old: str | None = None
    new: str | None = None


@dataclass(frozen=True)
class Change:
    section: str
    action: Action
    subject: str
    #: Short context shown next to the subject (e.g. the receiver an alert routes to).
    note: str = ""
    details: tuple[Detail, ...] = ()


@dataclass(frozen=True)
class EnvDiff:
    env: str
    changes: tuple[Change, ...] = ()
    #: Things the diff could not evaluate (e.g. routing without amtool); shown, not failed.
    notes: tuple[str, ...] = field(default=())


def show(value: Any) -> str:
    """A parsed value as one compact, stable line (strings bare, the rest as JSON).

    The Logstash parser turns path-like strings into ``PurePath``: shown bare like any string.
    """
    if isinstance(value, str | PurePath):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def field_details(old: Mapping[str, Any], new: Mapping[str, Any], names: Iterable[str]) -> list[Detail]:
    """Details for the named fields whose values differ (absent fields are ``None``)."""
    out = []
    for name in names:
        a, b = old.get(name), new.get(name)
        if a != b:
            out.append(Detail(name, None if a is None else show(a), None if b is None else show(b)))
    return out


def describe(values: Mapping[str, Any], names: Iterable[str]) -> list[Detail]:
    """Details describing an added thing: its fields that are set."""
    return [Detail(name, None, show(values[name])) for name in names if values.get(name) not in (None, "", [], {})]
