"""The engine rules over SGLang and TGI series too, by ``promtool test rules``: the generated suites write vLLM's.

The alerts and recording rules read every engine kind at once (``alerts.engines``); these scenarios
feed each kind's own series (names from ``foundation.engine_metrics``) and check what fires and what
is recorded, by hand-computed values.
"""

from __future__ import annotations

from alerts import recording as rec
from foundation import engine_metrics as m
from tests.test_rules_production import firing, run

ENGINE_ALERTS = ("EngineKVCacheNearFull", "EngineWaitingQueue", "EnginePreemptionStorm", "EngineDown")


def pod(backend: str, name: str, **extra: str) -> str:
    labels = {"job": f"engine-{backend}", "instance": f"{name}:8000", "namespace": "inference", "pod": name,
              "backend": backend, "model_name": "llama-3-8b", **extra}
    return ", ".join(f'{k}="{v}"' for k, v in labels.items())


def steady(value: float, minutes: int = 30) -> str:
    return f"{value:g}x{minutes}"


def per_minute(per_second: float, minutes: int = 30) -> str:
    return f"0+{per_second * 60:g}x{minutes}"


SG = pod("local-gpu", "sglang-0", engine_type="unified")
TGI = pod("vllm", "tgi-0")
VLLM = pod("openai", "vllm-0", engine="0")  # any backend name: the rules do not care


def test_saturation_alerts_fire_for_every_kind(tmp_path):
    run(tmp_path, [
        (f"{m.SGLANG_TOKEN_USAGE.name}{{{SG}}}", steady(0.95)),
        (f"{m.SGLANG_WAITING.name}{{{SG}}}", steady(12)),
        (f"{m.SGLANG_RETRACTED.name}{{{SG}}}", per_minute(2)),
        (f"{m.TGI_BATCH_TOKENS.name}{{{TGI}}}", steady(9500)),
        (f"{m.TGI_MAX_BATCH_TOKENS.name}{{{TGI}}}", steady(10000)),
        (f"{m.TGI_WAITING.name}{{{TGI}}}", steady(3)),
        (f"{m.VLLM_KV_CACHE_USAGE.name}{{{VLLM}}}", steady(0.5)),
        (f"{m.VLLM_WAITING.name}{{{VLLM}}}", steady(0)),
        (f"{m.VLLM_PREEMPTIONS.name}{{{VLLM}}}", per_minute(0.1)),
    ], [firing(ENGINE_ALERTS, {"EngineKVCacheNearFull": 2, "EngineWaitingQueue": 1, "EnginePreemptionStorm": 1},
               "25m")])


def test_the_comparison_holds_for_every_kind_not_just_the_last(tmp_path):
    """``a or b or c > t`` would compare only c: two half-full caches must stay quiet."""
    run(tmp_path, [
        (f"{m.VLLM_KV_CACHE_USAGE.name}{{{VLLM}}}", steady(0.5)),
        (f"{m.SGLANG_TOKEN_USAGE.name}{{{SG}}}", steady(0.5)),
        (f"{m.TGI_BATCH_TOKENS.name}{{{TGI}}}", steady(5000)),
        (f"{m.TGI_MAX_BATCH_TOKENS.name}{{{TGI}}}", steady(10000)),
    ], [firing(ENGINE_ALERTS, {}, "25m")])


def test_engine_down_needs_most_of_its_pods_down(tmp_path):
    up = [(f"up{{{pod('vllm', f'vllm-{i}')}}}", steady(0 if i < 2 else 1)) for i in range(3)]   # 2 of 3
    up += [(f"up{{{pod('local-gpu', f'lg-{i}')}}}", steady(0 if i < 1 else 1)) for i in range(3)]  # 1 of 3
    run(tmp_path, up, [firing(ENGINE_ALERTS, {"EngineDown": 1}, "10m")])


def sample(record: str, labels: dict[str, str], value: float) -> dict:
    body = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"expr": f"{record}{{{body}}}", "eval_time": "10m",
            "exp_samples": [{"labels": f"{record}{{{body}}}", "value": value}]}


def test_recording_rules_read_every_kind_into_one_series_per_engine(tmp_path):
    lg, vl = {"backend": "local-gpu", "model_name": "llama-3-8b"}, {"backend": "vllm", "model_name": "llama-3-8b"}
    ttft = [(f'{m.SGLANG_TTFT.bucket}{{{SG}, is_streaming="false", le="{b:g}"}}', per_minute(0 if b < 1 else 4))
            for b in (0.8, 1.0, 2.0)] + [(f'{m.SGLANG_TTFT.bucket}{{{SG}, is_streaming="false", le="+Inf"}}',
                                          per_minute(4))]
    run(tmp_path, [
        (f"{m.SGLANG_TOKEN_USAGE.name}{{{SG}}}", steady(0.25)),
        (f"{m.SGLANG_TOKEN_USAGE.name}{{{pod('local-gpu', 'sglang-1', engine_type='unified')}}}", steady(0.75)),
        (f'{m.SGLANG_PROMPT_TOKENS.name}{{{SG}, is_streaming="true"}}', per_minute(30)),
        (f'{m.SGLANG_PROMPT_TOKENS.name}{{{SG}, is_streaming="false"}}', per_minute(10)),
        (f'{m.SGLANG_CACHED_TOKENS.name}{{{SG}, cache_source="device"}}', per_minute(10)),
        (f"{m.TGI_GENERATED_TOKENS.sum}{{{TGI}}}", per_minute(50)),
        (f"{m.TGI_BATCH_TOKENS.name}{{{TGI}}}", steady(2000)),
        (f"{m.TGI_MAX_BATCH_TOKENS.name}{{{TGI}}}", steady(8000)),
        *ttft,
    ], [
        sample(rec.ENGINE_KV_CACHE_USAGE, lg, 0.75),   # the fullest pod
        sample(rec.ENGINE_KV_CACHE_USAGE, vl, 0.25),   # TGI: 2000 of 8000 tokens
        sample(rec.ENGINE_TOKENS_RATE, {**lg, "token_type": "prompt"}, 40),
        sample(rec.ENGINE_TOKENS_RATE, {**vl, "token_type": "generation"}, 50),
        sample(rec.ENGINE_PREFIX_CACHE_HIT_RATIO, lg, 0.25),  # 10 cached of 40 prompt tokens/s
        # Every first token between 0.8 s and 1 s: p95 = 0.8 + 0.95 * 0.2.
        sample(f'{rec.ENGINE_TTFT_QUANTILE}', {**lg, "quantile": "0.95"}, 0.99),
    ])
