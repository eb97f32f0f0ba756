"""Recording rules over the serving engines: one series per engine (``backend``) and model, whatever its kind.

The engines' dashboard reads these instead of every pod's histogram buckets of three engine kinds;
the names and the labels each keeps are in ``alerts.recording`` (``ENGINE_*``). Alerts read the
raw series (``alerts.engine_alerts``), so a rule-evaluation lag never delays a page.
"""

from __future__ import annotations

from alerts import engines as e
from alerts import recording as rec
from alerts.model import RecordingRule
from alerts.profiles import Profile


def engine_rules(profile: Profile) -> list[RecordingRule]:
    w, keys = profile.window("5m"), e.ENGINE_KEYS
    rules = [
        RecordingRule(rec.ENGINE_RUNNING, e.any_engine(lambda k: e.gauge(k.running, keys))),
        RecordingRule(rec.ENGINE_WAITING, e.any_engine(lambda k: e.gauge(k.waiting, keys))),
        # The fullest pod's cache: one pod full already preempts and queues.
        RecordingRule(rec.ENGINE_KV_CACHE_USAGE, e.any_engine(lambda k: e.kv_usage(k, keys))),
        RecordingRule(rec.ENGINE_PREEMPTION_RATE, e.any_engine(lambda k: e.counter_rate(k.preemptions, w, keys))),
        RecordingRule(rec.ENGINE_TOKENS_RATE, e.any_engine(lambda k: e.counter_rate(k.prompt_tokens, w, keys)),
                      {"token_type": "prompt"}),
        RecordingRule(rec.ENGINE_TOKENS_RATE, e.any_engine(lambda k: e.counter_rate(k.generation_tokens, w, keys)),
                      {"token_type": "generation"}),
        RecordingRule(rec.ENGINE_PREFIX_CACHE_HIT_RATIO, e.any_engine(lambda k: e.prefix_hit_ratio(k, w, keys))),
    ]
    histograms = {rec.ENGINE_TTFT_QUANTILE: "ttft", rec.ENGINE_ITL_QUANTILE: "itl",
                  rec.ENGINE_QUEUE_TIME_QUANTILE: "queue_time"}
    for name, field in histograms.items():
        for q in rec.QUANTILES:
            expr = e.any_engine(lambda k, f=field, q=q: e.quantile(q, getattr(k, f), w, keys))
            rules.append(RecordingRule(name, expr, {"quantile": q}))
    return rules
