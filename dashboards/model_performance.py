"""LLM Model Performance: the seed's second dashboard, per model.

Per-model traffic, latency and error panels read the aggregate recording rules: a 7-day view
then reads one series per model instead of every instance's buckets (see the README's
query benchmark); they cover all instances.

Fixes against the seed: the tokens-per-second p95 keeps ``model`` in its ``sum by`` (the
seed's legend ``{{model}}`` was empty; the median is drawn beside it), memory is shown in bytes
with a byte unit instead of a hand division, the load-time heatmap keeps the seed's per-model
rows as one heatmap per model (the ``$model`` variable repeats it) instead of mixing every
model's buckets in one.
"""

from __future__ import annotations

from grafanalib import core as g

from alerts import recording as r
from app_instrumentation import catalog as c
from dashboards import panels as p
from dashboards import promql as q
from dashboards import uids
from dashboards.backends import LINK as ENGINES_LINK
from dashboards.base import dashboard, with_links
from dashboards.overview import INFERENCE_LATENCY_STEPS

BY_MODEL = ["model"]


def build() -> g.Dashboard:
    return dashboard(
        uids.MODEL_PERFORMANCE,
        "LLM Model Performance",
        "Usage, speed, latency, errors and memory per model.",
        [
            p.pie("Inference share by model", p.Query(q.agg("sum", q.rule(r.INFERENCE_RATE), BY_MODEL), "{{model}}"),
                  unit="reqps", description=q.rule_note(r.INFERENCE_RATE)),
            p.timeseries("Inferences by strategy",
                         p.Query(q.sum_rate(c.INFERENCE, ["strategy"]), "{{strategy}}"), unit="reqps", stacked=True),
            p.timeseries("Inference latency p95 by model",
                         p.Query(q.rule(r.MODEL_INFERENCE_LATENCY_QUANTILE, quantile="0.95"), "{{model}}"),
                         unit="s", thresholds=INFERENCE_LATENCY_STEPS,
                         description=q.rule_note(r.MODEL_INFERENCE_LATENCY_QUANTILE)),
            # Slow generation is usually the engine's: its queue, KV cache and inter-token latency.
            with_links(p.timeseries("Tokens per second by model, p95 and median",
                                    *(p.Query(q.quantile(x, c.TOKENS_PER_SECOND, BY_MODEL), f"{{{{model}}}} {name}")
                                      for x, name in ((0.95, "p95"), (0.5, "p50"))),
                                    unit=p.TOKENS_PER_SECOND,
                                    description="Each request's generation speed: p95 (the seed's view) and median."),
                       ENGINES_LINK),
            p.timeseries("Inference error ratio by model",
                         p.Query(q.rule(r.MODEL_INFERENCE_ERROR_RATIO), "{{model}}"),
                         unit=p.RATIO, max_value=1, thresholds=p.steps("green", (0.05, "yellow"), (0.1, "red")),
                         description=q.rule_note(r.MODEL_INFERENCE_ERROR_RATIO)),
            p.timeseries("Cached answer ratio by model",
                         p.Query(q.share(c.INFERENCE, {"cached": "true"}, BY_MODEL), "{{model}}"),
                         unit=p.RATIO, max_value=1),
            p.timeseries("Model memory",
                         p.Query(q.agg("sum", q.series(c.MODEL_MEMORY), ["model", "format"]),
                                 "{{model}} ({{format}})"),
                         unit="bytes", width=24),
            p.heatmap("Model load time distribution: $model",
                      q.agg("sum", q.over_window("increase", c.MODEL_LOAD_DURATION, c.MODEL_LOAD_DURATION.bucket),
                            ["le"]),
                      unit="s", width=12, repeat_by="model",
                      description="One heatmap per model (the Model variable repeats it): loads per duration bucket."),
        ],
    )
