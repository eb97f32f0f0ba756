"""LLM quality of service: what a router on-call engineer checks first during an incident.

Streaming latency (time to first token, time per output token), token volume, spend,
fallbacks, retries, rate limits and backend health, per model and backend. Per-model
latency, token and cost panels and the rate-limit panel read the aggregate recording rules
(all instances); the stats and per-backend panels follow the instance filter.
"""

from __future__ import annotations

from grafanalib import core as g

from alerts import recording as r
from app_instrumentation import catalog as c
from dashboards import backends, uids
from dashboards import panels as p
from dashboards import promql as q
from dashboards.base import dashboard, with_links

TTFT_STEPS = p.steps("green", (1, "yellow"), (2.5, "red"))
TPOT_STEPS = p.steps("green", (0.1, "yellow"), (0.25, "red"))
BY_MODEL = ["model"]
BY_BACKEND = ["backend"]
SECONDS_PER_HOUR = 3600
UP_DOWN = {0: ("down", "red"), 1: ("up", "green")}
#: From the router's view of a backend to the engine behind it and its GPUs.


def build() -> g.Dashboard:
    spend = q.scaled(q.sum_rate(c.COST, ["model", "backend"]), SECONDS_PER_HOUR)
    cost_per_1k = (f"{q.rule(r.MODEL_COST_PER_HOUR)} / ignoring(token_type) "
                   f"{q.rule(r.MODEL_TOKENS_RATE, token_type='output')} * 1000 / {SECONDS_PER_HOUR}")
    return dashboard(
        uids.QOS,
        "LLM Quality of Service",
        "Streaming latency, tokens, spend, fallbacks, rate limits and backend health.",
        [
            p.stat("Time to first token p95", q.quantile(0.95, c.TIME_TO_FIRST_TOKEN), unit="s",
                   thresholds=TTFT_STEPS),
            p.stat("Time per output token p95", q.quantile(0.95, c.TIME_PER_OUTPUT_TOKEN), unit="s",
                   thresholds=TPOT_STEPS),
            p.stat("Output tokens per second", q.sum_rate(c.TOKENS, token_type="output"),
                   unit=p.TOKENS_PER_SECOND, thresholds=p.NEUTRAL),
            p.stat("Spend rate", q.scaled(q.sum_rate(c.COST), SECONDS_PER_HOUR), unit=p.USD_PER_HOUR,
                   thresholds=p.NEUTRAL),
            p.stat("Fallbacks per second", q.sum_rate(c.FALLBACKS), unit="ops",
                   thresholds=p.steps("green", (0.1, "yellow"), (1, "red"))),
            p.stat("Backends up", q.agg("sum", q.series(c.BACKEND_UP)), unit="short",
                   thresholds=p.steps("red", (1, "yellow"), (2, "green"))),
            p.timeseries("Time to first token p95 by model",
                         p.Query(q.rule(r.MODEL_TTFT_QUANTILE, quantile="0.95"), "{{model}}"),
                         unit="s", thresholds=TTFT_STEPS, description=q.rule_note(r.MODEL_TTFT_QUANTILE)),
            p.timeseries("Time per output token p95 by model",
                         p.Query(q.rule(r.MODEL_TPOT_QUANTILE, quantile="0.95"), "{{model}}"),
                         unit="s", thresholds=TPOT_STEPS, description=q.rule_note(r.MODEL_TPOT_QUANTILE)),
            p.timeseries("Tokens per second, input and output, by model",
                         p.Query(q.rule(r.MODEL_TOKENS_RATE), "{{model}} {{token_type}}"),
                         unit=p.TOKENS_PER_SECOND, description=q.rule_note(r.MODEL_TOKENS_RATE)),
            p.timeseries("Spend rate by model and backend", p.Query(spend, "{{model}} @ {{backend}}"),
                         unit=p.USD_PER_HOUR, stacked=True),
            p.timeseries("Cost per 1k output tokens by model",
                         p.Query(cost_per_1k, "{{model}}"), unit="currencyUSD",
                         description=q.rule_note(r.MODEL_COST_PER_HOUR)),
            with_links(p.timeseries("Backend request latency p95 by backend",
                                    p.Query(q.quantile(0.95, c.BACKEND_REQUEST_DURATION, BY_BACKEND), "{{backend}}"),
                                    unit="s"), backends.LINK),
            p.timeseries("Backend error ratio by backend",
                         p.Query(q.share(c.BACKEND_REQUEST_DURATION, {"status": "error"}, BY_BACKEND,
                                         c.BACKEND_REQUEST_DURATION.count), "{{backend}}"),
                         unit=p.RATIO, max_value=1, thresholds=p.steps("green", (0.05, "yellow"), (0.1, "red"))),
            p.timeseries("Fallbacks by route and reason",
                         p.Query(q.sum_rate(c.FALLBACKS, ["from_backend", "to_backend", "reason"]),
                                 "{{from_backend}} → {{to_backend}} ({{reason}})"), unit="ops", stacked=True),
            p.timeseries("Retries by backend and reason",
                         p.Query(q.sum_rate(c.RETRIES, ["backend", "reason"]), "{{backend}} ({{reason}})"),
                         unit="ops", stacked=True),
            p.timeseries("Requests refused by rate limits, by backend",
                         p.Query(q.rule(r.BACKEND_RATE_LIMITED_RATE), "{{backend}}"), unit="reqps", stacked=True,
                         description=q.rule_note(r.BACKEND_RATE_LIMITED_RATE)),
            p.timeseries("Rate-limit budget remaining (lowest instance)",
                         p.Query(q.agg("min", q.series(c.RATE_LIMIT_REMAINING), ["backend", "limit_type"]),
                                 "{{backend}} {{limit_type}}"), unit="short"),
            p.timeseries("Backends by circuit-breaker state",
                         p.Query(q.agg("sum", q.series(c.BACKEND_STATE), ["state"]), "{{state}}"),
                         unit="short", stacked=True, description="Counts (backend, router instance) pairs per state."),
            with_links(p.state_timeline("Backend up", p.Query(q.agg("min", q.series(c.BACKEND_UP), BY_BACKEND),
                                                              "{{backend}}"), states=UP_DOWN), backends.LINK),
            p.state_timeline("Health checks",
                             p.Query(q.agg("min", q.series(c.HEALTH_CHECK_UP), ["check"]), "{{check}}"),
                             states=UP_DOWN),
        ],
    )
