"""LLM Router SLOs: error budget and burn rates from the Sloth-style recording rules.

Burn rate = error ratio over a window / error budget (1 - objective); 1 spends the budget
exactly over the SLO period. The burn-rate lines mark Sloth's page/ticket factors
(14.4 over 1h, 6 over 6h, 1 over 3d).
"""

from __future__ import annotations

from grafanalib import core as g

from alerts import recording as r
from dashboards import panels as p
from dashboards import promql as q
from dashboards import uids
from dashboards.base import dashboard
from dashboards.variables import ENV, Variable

SLO = Variable("slo", "SLO", f'label_values({r.SLO_OBJECTIVE}{{env=~"$env"}}, sloth_slo)')
SLO_FILTER = (("sloth_slo", SLO.name),)
BURN_RATE = "suffix: ×"
BURN_STEPS = p.steps("green", (1, "yellow"), (6, "orange"), (14.4, "red"))
#: Windows shown as burn rates: Sloth's multi-window alert pairs use these.
BURN_WINDOWS = ("5m", "1h", "6h", "3d")
LEGEND = "{{sloth_slo}}"


def slo_rule(name: str) -> str:
    return q.rule(name, SLO_FILTER)


def window_burn_rate(window: str) -> p.Query:
    """Error ratio over ``window`` divided by the budget (the window rule adds ``sloth_window``)."""
    expr = f"{slo_rule(r.sli_error_rule(window))} / ignoring(sloth_window) {slo_rule(r.SLO_ERROR_BUDGET)}"
    return p.Query(expr, f"{LEGEND} {window}")


def build() -> g.Dashboard:
    return dashboard(
        uids.SLO,
        "LLM Router SLOs",
        f"Error budget and burn rates of the router's SLOs over {r.SLO_PERIOD}.",
        [
            p.stat(f"Error budget remaining ({r.SLO_PERIOD})", p.Query(slo_rule(r.SLO_PERIOD_ERROR_BUDGET_REMAINING),
                                                                         LEGEND),
                   unit=p.RATIO, thresholds=p.steps("red", (0, "orange"), (0.25, "yellow"), (0.5, "green")),
                   width=6, description="Share of the period's error budget not yet spent; below 0 the SLO is missed."),
            p.stat("Objective", p.Query(slo_rule(r.SLO_OBJECTIVE), LEGEND), unit=p.RATIO, thresholds=p.NEUTRAL,
                   width=6),
            p.stat("Current burn rate (5m)", p.Query(slo_rule(r.SLO_CURRENT_BURN_RATE), LEGEND), unit=BURN_RATE,
                   thresholds=BURN_STEPS, width=6),
            p.stat(f"Burn rate over {r.SLO_PERIOD}", p.Query(slo_rule(r.SLO_PERIOD_BURN_RATE), LEGEND),
                   unit=BURN_RATE, thresholds=p.steps("green", (1, "red")), width=6),
            p.timeseries("Error budget remaining", p.Query(slo_rule(r.SLO_PERIOD_ERROR_BUDGET_REMAINING), LEGEND),
                         unit=p.RATIO, thresholds=p.steps("red", (0, "green"))),
            p.timeseries("Burn rate by window", *map(window_burn_rate, BURN_WINDOWS), unit=BURN_RATE,
                         thresholds=BURN_STEPS),
            p.timeseries(
                "Error ratio (5m) and error budget",
                p.Query(slo_rule(r.SLI_ERROR_5M), f"{LEGEND} error ratio"),
                p.Query(slo_rule(r.SLO_ERROR_BUDGET), f"{LEGEND} budget (1 - objective)"),
                unit=p.RATIO, width=24,
            ),
        ],
        variables=(ENV, SLO),
    )
