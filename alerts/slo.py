"""SLOs as typed objects, rendered into Sloth-compatible recording rules and
multi-window multi-burn-rate alerts (Google SRE workbook, chapter "Alerting on SLOs").

Each :class:`Slo` defines its error ratio as ``bad / total`` over a window. For every
window in ``recording.SLI_WINDOWS`` a rule ``slo:sli_error:ratio_rate<window>`` records
that ratio from the raw counters, with Sloth's labels ``sloth_service``, ``sloth_slo``,
``sloth_id`` and ``sloth_window``; the meta rules (objective, error budget, burn rates,
remaining budget) use Sloth's names too, so Sloth's Grafana dashboards work unchanged.

Alerts: a page (severity critical) when the budget burns 14.4x over 5m and 1h, or 6x over
30m and 6h; a ticket (severity warning) when it burns 3x over 2h and 1d, or 1x over 6h
and 3d. Both share ``signal="slo_<name>"`` so the page inhibits the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts import recording as rec
from alerts.model import AlertRule, RecordingRule, RuleError, Severity
from alerts.profiles import Profile
from alerts.promql import le_regex, selector
from app_instrumentation import catalog as c
from foundation.settings.alerting import AlertingSettings


@dataclass(frozen=True)
class BurnWindow:
    short: str
    long: str
    factor: float


#: SRE workbook table 5-8: (short, long, burn-rate factor) per severity.
PAGE_WINDOWS = (BurnWindow("5m", "1h", 14.4), BurnWindow("30m", "6h", 6))
TICKET_WINDOWS = (BurnWindow("2h", "1d", 3), BurnWindow("6h", "3d", 1))
PERIOD_DAYS = 30


@dataclass(frozen=True)
class Slo:
    name: str
    #: Percentage of good events over the SLO period (99.5 means 0.5 % error budget).
    objective: float
    description: str
    #: PromQL of the bad and the total event rate; ``{w}`` is replaced by the window.
    bad: str
    total: str
    dashboard: str = "llm-slo"
    #: Latency SLOs: the bucket bound a good request is faster than.
    threshold_seconds: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.objective < 100:
            raise RuleError(f"SLO {self.name}: objective must be a percentage between 0 and 100")
        if self.name not in rec.SLO_NAMES:
            raise RuleError(f"SLO {self.name}: unknown SLO; expected one of {rec.SLO_NAMES}")

    @property
    def ratio(self) -> float:
        return round(self.objective / 100, 10)

    @property
    def budget(self) -> float:
        return round(1 - self.ratio, 10)

    @property
    def labels(self) -> dict[str, str]:
        return {"sloth_id": f"{rec.SLO_SERVICE}-{self.name}", "sloth_service": rec.SLO_SERVICE,
                "sloth_slo": self.name}

    @property
    def signal(self) -> str:
        return "slo_" + self.name.replace("-", "_")

    def error_ratio(self, window: str) -> str:
        return f"({self.bad.replace('{w}', window)})\n/\n({self.total.replace('{w}', window)})"


def slos(settings: AlertingSettings) -> tuple[Slo, ...]:
    inferences = f"sum(rate({c.INFERENCE.name}[{{w}}]))"
    availability = settings.slos[rec.SLO_AVAILABILITY]
    latency = settings.slos[rec.SLO_TTFT_LATENCY]
    bound = latency.threshold_seconds or 1.0
    ttft = c.TIME_TO_FIRST_TOKEN
    fast = selector(ttft.bucket, regex={"le": le_regex(bound)})
    return (
        Slo(rec.SLO_AVAILABILITY, availability.objective, "Inferences that complete without error",
            bad=f"sum(rate({selector(c.INFERENCE.name, {'status': 'error'})}[{{w}}]))", total=inferences),
        Slo(rec.SLO_TTFT_LATENCY, latency.objective, f"Requests whose first token arrives within {bound:g}s",
            bad=f"sum(rate({ttft.count}[{{w}}])) - sum(rate({fast}[{{w}}]))",
            total=f"sum(rate({ttft.count}[{{w}}]))", threshold_seconds=bound),
    )


def recording_rules(slo: Slo, profile: Profile) -> list[RecordingRule]:
    """Sloth's SLI rules (one per window) and its metadata rules for one SLO."""
    ids = slo.labels
    match = ", ".join(f'{k}="{v}"' for k, v in sorted(ids.items()))
    on = "on (sloth_id, sloth_service, sloth_slo)"
    sli5 = f"{rec.SLI_ERROR_5M}{{{match}}}"
    period = rec.sli_error_rule(rec.SLO_PERIOD)
    rules = [RecordingRule(rec.sli_error_rule(w), slo.error_ratio(profile.window(w)), {**ids, "sloth_window": w})
             for w in rec.SLI_WINDOWS]
    p = profile.window(rec.SLO_PERIOD)
    rules += [
        RecordingRule(period, f"sum_over_time({sli5}[{p}])\n/ ignoring (sloth_window)\ncount_over_time({sli5}[{p}])",
                      {**ids, "sloth_window": rec.SLO_PERIOD}),
        RecordingRule(rec.SLO_OBJECTIVE, f"vector({slo.ratio:g})", ids),
        RecordingRule(rec.SLO_ERROR_BUDGET, f"vector(1 - {slo.ratio:g})", ids),
        RecordingRule(rec.SLO_TIME_PERIOD_DAYS, f"vector({PERIOD_DAYS})", ids),
        RecordingRule(rec.SLO_CURRENT_BURN_RATE,
                      f"{sli5}\n/ {on} group_left\n{rec.SLO_ERROR_BUDGET}{{{match}}}", ids),
        RecordingRule(rec.SLO_PERIOD_BURN_RATE,
                      f"{period}{{{match}}}\n/ {on} group_left\n{rec.SLO_ERROR_BUDGET}{{{match}}}", ids),
        RecordingRule(rec.SLO_PERIOD_ERROR_BUDGET_REMAINING, f"1 - {rec.SLO_PERIOD_BURN_RATE}{{{match}}}", ids),
        RecordingRule(rec.SLO_INFO, "vector(1)",
                      {**ids, "sloth_mode": "cli-gen-prom", "sloth_objective": f"{slo.objective:g}",
                       "sloth_spec": "prometheus/v1", "sloth_version": "llmmon"}),
    ]
    return rules


def _burn_condition(slo: Slo, windows: tuple[BurnWindow, ...]) -> str:
    match = ", ".join(f'{k}="{v}"' for k, v in sorted(slo.labels.items()))
    terms = [
        "(\n" + "\nand\n".join(
            f"  max({rec.sli_error_rule(w)}{{{match}}} > ({b.factor:g} * {slo.budget:g})) without (sloth_window)"
            for w in (b.short, b.long)
        ) + "\n)"
        for b in windows
    ]
    return "\nor\n".join(terms)


def burn_rate_alerts(slo: Slo, grafana_url: str, runbook_url: str) -> list[AlertRule]:
    """Page and ticket alert of one SLO (windows come from the SLI rules, already profiled)."""
    title = "".join(part.capitalize() if part != "ttft" else "TTFT" for part in slo.name.split("-"))
    out = []
    for severity, kind, windows in ((Severity.CRITICAL, "Page", PAGE_WINDOWS),
                                    (Severity.WARNING, "Ticket", TICKET_WINDOWS)):
        name = f"{title}SLOBurnRate{kind}"
        speeds = " or ".join(f"{b.factor:g}x over {b.short} and {b.long}" for b in windows)
        out.append(AlertRule(
            alert=name,
            expr=_burn_condition(slo, windows),
            severity=severity,
            labels={"service": rec.SLO_SERVICE, "signal": slo.signal, "sloth_severity": kind.lower()},
            annotations={
                "summary": f"{slo.description}: error budget burning {'fast' if kind == 'Page' else 'steadily'}",
                "description": f"The {slo.objective:g}% {slo.name} SLO burns its {PERIOD_DAYS}-day error budget "
                               f"at {speeds}.",
                "dashboard_url": f"{grafana_url}/d/{slo.dashboard}",
                "runbook_url": f"{runbook_url}#{name.lower()}",
            },
        ))
    return out
