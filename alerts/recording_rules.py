"""Expressions of the aggregate recording rules named in ``alerts.recording``.

Every rule sums across instances, so dashboards read one series per label set instead of
re-aggregating raw per-instance series over every zoom level.
"""

from __future__ import annotations

from alerts import recording as rec
from alerts.model import RecordingRule
from alerts.profiles import Profile
from alerts.promql import quantile, sum_rate
from app_instrumentation import catalog as c


def aggregate_rules(profile: Profile) -> list[RecordingRule]:
    w = profile.window("5m")
    inferences = sum_rate(c.INFERENCE.name, w)
    errors = sum_rate(c.INFERENCE.name, w, status="error")
    hits = sum_rate(c.CACHE_HITS.name, w, ("cache_type",))
    misses = sum_rate(c.CACHE_MISSES.name, w, ("cache_type",))
    rules = [
        RecordingRule(rec.HTTP_REQUEST_RATE, sum_rate(c.HTTP_REQUESTS.name, w, ("route", "status_code"))),
        RecordingRule(rec.INFERENCE_RATE, sum_rate(c.INFERENCE.name, w, ("model", "status"))),
        RecordingRule(rec.INFERENCE_ERROR_RATIO, f"{errors}\n/\n{inferences}"),
        RecordingRule(
            rec.MODEL_INFERENCE_ERROR_RATIO,
            f"{sum_rate(c.INFERENCE.name, w, ('model',), status='error')}\n/\n{sum_rate(c.INFERENCE.name, w, ('model',))}",
        ),
        RecordingRule(rec.ERROR_RATE, sum_rate(c.ERRORS.name, w, ("type",))),
        RecordingRule(rec.TOKENS_GENERATED_RATE, sum_rate(c.TOKENS_GENERATED.name, w)),
        RecordingRule(rec.MODEL_TOKENS_RATE, sum_rate(c.TOKENS.name, w, ("model", "token_type"))),
        RecordingRule(rec.CACHE_HIT_RATIO, f"{hits}\n/\n({hits} + {misses})"),
        RecordingRule(rec.MODEL_COST_PER_HOUR, f"{sum_rate(c.COST.name, w, ('model',))} * 3600"),
        RecordingRule(rec.FALLBACK_RATIO, f"{sum_rate(c.FALLBACKS.name, w)}\n/\n{inferences}"),
        RecordingRule(rec.BACKEND_RATE_LIMITED_RATE, sum_rate(c.RATE_LIMITED.name, w, ("backend",))),
    ]
    quantiles = (
        (rec.INFERENCE_LATENCY_QUANTILE, c.INFERENCE_DURATION, ()),
        (rec.MODEL_INFERENCE_LATENCY_QUANTILE, c.INFERENCE_DURATION, ("model",)),
        (rec.MODEL_TTFT_QUANTILE, c.TIME_TO_FIRST_TOKEN, ("model",)),
        (rec.MODEL_TPOT_QUANTILE, c.TIME_PER_OUTPUT_TOKEN, ("model",)),
    )
    rules += [RecordingRule(name, quantile(q, spec, w, by), {"quantile": q})
              for name, spec, by in quantiles for q in rec.QUANTILES]
    return rules
