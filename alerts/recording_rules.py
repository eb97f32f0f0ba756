"""Expressions of the aggregate recording rules named in ``alerts.recording``.

Every rule sums across instances by the labels ``recording.AGGREGATED_BY`` gives it, so
dashboards read one series per label set instead of re-aggregating raw per-instance
series over every zoom level. Ratios read 0 while their numerator has no series yet (no
error, hit or fallback so far), and nothing only while there is no traffic at all.
"""

from __future__ import annotations

from alerts import recording as rec
from alerts.model import RecordingRule
from alerts.profiles import Profile
from alerts.promql import quantile, share_or_zero, sum_rate
from app_instrumentation import catalog as c
from app_instrumentation.catalog import MetricSpec


def aggregate_rules(profile: Profile) -> list[RecordingRule]:
    w = profile.window("5m")

    def total(record: str, spec: MetricSpec, **matchers: str) -> str:
        """``spec``'s rate summed by the labels ``record`` keeps."""
        return sum_rate(spec.name, w, rec.AGGREGATED_BY[record], **matchers)

    def share(part: str, whole: str) -> str:
        # 0, not nothing, before the first error/hit/fallback: a healthy router's panels show 0.
        return share_or_zero(part, whole)

    def errors(record: str) -> str:
        return share(total(record, c.INFERENCE, status="error"), total(record, c.INFERENCE))

    hits = total(rec.CACHE_HIT_RATIO, c.CACHE_HITS)
    misses = total(rec.CACHE_HIT_RATIO, c.CACHE_MISSES)
    rules = [
        RecordingRule(rec.HTTP_REQUEST_RATE, total(rec.HTTP_REQUEST_RATE, c.HTTP_REQUESTS)),
        RecordingRule(rec.INFERENCE_RATE, total(rec.INFERENCE_RATE, c.INFERENCE)),
        RecordingRule(rec.INFERENCE_ERROR_RATIO, errors(rec.INFERENCE_ERROR_RATIO)),
        RecordingRule(rec.MODEL_INFERENCE_ERROR_RATIO, errors(rec.MODEL_INFERENCE_ERROR_RATIO)),
        RecordingRule(rec.ERROR_RATE, total(rec.ERROR_RATE, c.ERRORS)),
        RecordingRule(rec.TOKENS_GENERATED_RATE, total(rec.TOKENS_GENERATED_RATE, c.TOKENS_GENERATED)),
        RecordingRule(rec.MODEL_TOKENS_RATE, total(rec.MODEL_TOKENS_RATE, c.TOKENS)),
        RecordingRule(rec.CACHE_HIT_RATIO, share(hits, f"({hits} + {misses})")),
        RecordingRule(rec.MODEL_COST_PER_HOUR, f"{total(rec.MODEL_COST_PER_HOUR, c.COST)} * 3600"),
        RecordingRule(rec.FALLBACK_RATIO, share(total(rec.FALLBACK_RATIO, c.FALLBACKS),
                                                total(rec.FALLBACK_RATIO, c.INFERENCE))),
        RecordingRule(rec.BACKEND_RATE_LIMITED_RATE, total(rec.BACKEND_RATE_LIMITED_RATE, c.RATE_LIMITED)),
    ]
    spec_of = {rec.INFERENCE_LATENCY_QUANTILE: c.INFERENCE_DURATION, rec.MODEL_INFERENCE_LATENCY_QUANTILE:
               c.INFERENCE_DURATION, rec.MODEL_TTFT_QUANTILE: c.TIME_TO_FIRST_TOKEN,
               rec.MODEL_TPOT_QUANTILE: c.TIME_PER_OUTPUT_TOKEN, rec.BACKEND_TTFT_QUANTILE: c.TIME_TO_FIRST_TOKEN,
               rec.BACKEND_TPOT_QUANTILE: c.TIME_PER_OUTPUT_TOKEN}
    rules += [RecordingRule(name, quantile(q, spec_of[name], w, rec.AGGREGATED_BY[name]), {"quantile": q})
              for name in rec.QUANTILE_RULES if name in spec_of for q in rec.QUANTILES]
    return rules
