"""What one threshold alert is made of: its name, severity, signal, expression builder, probe and limits.

``alerts.definitions`` (the router's alerts) and ``alerts.engine_alerts`` (engines and GPUs) declare
them; ``alerts.groups`` renders them and ``alerts.ruletests`` generates their promtool suites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from alerts.model import Severity
from alerts.probes import Probe

#: ``expr(profile, threshold)``, or ``expr(profile, threshold, floor)`` for alerts with a floor.
Expr = Callable[..., str]


class Format(StrEnum):
    """How a description prints the alert's value and threshold."""

    NUMBER = "number"  # printf "%.2f"
    PERCENT = "percent"  # humanizePercentage: 0.05 -> 5%


@dataclass(frozen=True)
class AlertSpec:
    name: str
    severity: Severity
    #: Shared by warning/critical twins so that inhibition can match them.
    signal: str
    dashboard: str
    summary: str
    description: str
    expr: Expr
    probe: Probe
    threshold: float | None
    for_: str | None
    #: Alerts on a share of traffic: the absolute rate (events/s) it must also exceed.
    floor: float | None = None
    #: Queue alerts: the threshold as a share of ``router.queueCapacity`` when the env gives one.
    capacity_share: float | None = None
    value_format: Format = Format.NUMBER

    @property
    def is_share(self) -> bool:
        """The threshold is a share (0..1)."""
        return self.value_format is Format.PERCENT
