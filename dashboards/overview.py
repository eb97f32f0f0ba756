"""LLM Router Overview: the seed's first dashboard, with its queries fixed.

Fixes against the seed: stat panels sum rates across series (the seed showed one value per
route), the "Average Response Time" stat is named for what it is (a p95), every quantile
aggregates buckets ``by (le)`` first, ratios are 0..1 with the ``percentunit`` unit.
"""

from __future__ import annotations

from grafanalib import core as g

from app_instrumentation import catalog as c
from dashboards import panels as p
from dashboards import promql as q
from dashboards import uids
from dashboards.alert_colours import below_steps
from dashboards.base import dashboard, drilldown, with_links
from foundation import alert_names as n

INFERENCE_LATENCY_STEPS = p.steps("green", (5, "yellow"), (15, "red"))


def build() -> g.Dashboard:
    requests = q.sum_rate(c.HTTP_REQUESTS)
    hits, misses = (q.sum_rate(s, ["cache_type"]) for s in (c.CACHE_HITS, c.CACHE_MISSES))
    return dashboard(
        uids.OVERVIEW,
        "LLM Router Overview",
        "Traffic, success, latency and cache of the LLM router; start here.",
        [
            p.stat("Request rate", requests, unit="reqps", thresholds=p.NEUTRAL, width=6,
                   description="HTTP requests per second, all routes and instances."),
            with_links(
                p.stat("Inference success ratio", q.share(c.INFERENCE, {"status": "success"}), unit=p.RATIO,
                       thresholds=p.HIGH_IS_GOOD, max_value=1, width=6),
                drilldown("Errors by model", uids.MODEL_PERFORMANCE),
            ),
            with_links(
                p.stat("Inference latency p95", q.quantile(0.95, c.INFERENCE_DURATION), unit="s",
                       thresholds=INFERENCE_LATENCY_STEPS, width=6,
                       description="95th percentile of inference duration (the seed called it 'Average')."),
                drilldown("Latency by model", uids.MODEL_PERFORMANCE),
            ),
            p.stat("Models loaded", q.agg("sum", q.series(c.MODELS_LOADED)), unit="short",
                   thresholds=p.steps("red", (1, "green")), width=6),
            p.timeseries("Request rate by route", p.Query(q.sum_rate(c.HTTP_REQUESTS, ["method", "route"]),
                                                          "{{method}} {{route}}"), unit="reqps"),
            p.timeseries(
                "Inference latency p50 / p95 / p99",
                *(p.Query(q.quantile(x, c.INFERENCE_DURATION), f"p{round(x * 100)}") for x in (0.5, 0.95, 0.99)),
                unit="s", thresholds=INFERENCE_LATENCY_STEPS,
            ),
            p.timeseries("Output token rate by model",
                         p.Query(q.sum_rate(c.TOKENS_GENERATED, ["model"]), "{{model}}"),
                         unit=p.TOKENS_PER_SECOND, stacked=True),
            p.timeseries("Cache hit ratio by cache",
                         p.Query(q.ratio_or_zero(hits, f"({hits} + {misses})"), "{{cache_type}}"),
                         unit=p.RATIO, max_value=1, thresholds=below_steps(n.LOW_CACHE_HIT_RATE)),
        ],
    )
