"""Cardinality control: allow-lists, enums and the per-metric series bound."""

import pytest

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.labels import RAW_CACHE_SIZE, LabelPolicy


def collector(max_series=500):
    policy = LabelPolicy.of(["llama-3-8b"], ["vllm", "openai"], ["quick"], max_series=max_series)
    return MetricsCollector(policy, process_metrics=False)


def value(c, name, **labels):
    return c.registry.get_sample_value(name, labels)


def test_allow_listed_values_pass_and_others_become_other():
    c = collector()
    ctx = InferenceContext(model="llama-3-8b", strategy="quick")
    c.on_complete(ctx, InferenceResult("llama-3-8b", "vllm", 10, 1.0))
    c.on_complete(InferenceContext("gpt-5-secret", "bogus"), InferenceResult("gpt-5-secret", "my-laptop", 10, 1.0))
    labels = dict(status="success", cached="false")
    assert value(c, catalog.INFERENCE.name, model="llama-3-8b", strategy="quick", **labels) == 1
    assert value(c, catalog.INFERENCE.name, model="other", strategy="other", **labels) == 1
    assert value(c, catalog.TOKENS.name, model="other", backend="other", token_type="output") == 10
    assert value(c, catalog.INFERENCE.name, model="gpt-5-secret", strategy="bogus", **labels) is None


def test_fallback_and_retry_backends_are_allow_listed_too():
    c = collector()
    c.fallback("vllm", "somewhere-else", "error")
    c.retry("mystery", "timeout")
    assert value(c, catalog.FALLBACKS.name, from_backend="vllm", to_backend="other", reason="error") == 1
    assert value(c, catalog.RETRIES.name, backend="other", reason="timeout") == 1


def test_enum_labels_outside_their_set_become_other():
    c = collector()
    c.error("made_up_error", "api", "apocalyptic")
    c.fallback("vllm", "openai", "bad-luck")
    assert value(c, catalog.ERRORS.name, type="other", component="api", severity="other") == 1
    assert value(c, catalog.FALLBACKS.name, from_backend="vllm", to_backend="openai", reason="other") == 1


def test_empty_allow_list_maps_everything_to_other():
    c = MetricsCollector(LabelPolicy(), process_metrics=False)
    c.rate_limited("openai")
    assert value(c, catalog.RATE_LIMITED.name, backend="other") == 1


def test_open_policy_keeps_any_name_until_the_series_bound():
    c = MetricsCollector(LabelPolicy.open(max_series=2), process_metrics=False)
    for backend in ("vllm", "openai", "third"):
        c.rate_limited(backend)
    assert value(c, catalog.RATE_LIMITED.name, backend="vllm") == 1
    assert value(c, catalog.RATE_LIMITED.name, backend="openai") == 1
    assert value(c, catalog.RATE_LIMITED.name, backend="other") == 1
    c.error("made_up_error", "api", "error")  # closed enums stay closed
    assert value(c, catalog.ERRORS.name, type="other", component="api", severity="error") == 1
    assert LabelPolicy.of(["m"], None).backends is None and LabelPolicy.of(["m"], None).models == frozenset({"m"})
    with pytest.raises(ValueError, match="max_series"):
        LabelPolicy.open(max_series=0)


def test_series_bound_folds_new_label_sets_and_counts_them():
    c = collector(max_series=3)
    for i in range(10):
        c.cache_hit(f"cache-{i}")
    series = {s.labels["cache_type"]: s.value for m in c.registry.collect() if m.name == catalog.CACHE_HITS.base_name
              for s in m.samples if s.name == catalog.CACHE_HITS.name}
    assert series == {"cache-0": 1, "cache-1": 1, "cache-2": 1, "other": 7}
    assert value(c, catalog.SERIES_OVERFLOW.name, metric=catalog.CACHE_HITS.name) == 7
    # Known label sets keep working after the bound is reached.
    c.cache_hit("cache-1")
    assert value(c, catalog.CACHE_HITS.name, cache_type="cache-1") == 2


def test_series_bound_applies_to_the_inference_fast_path():
    c = collector(max_series=1)
    policy_models = ["llama-3-8b"]
    for strategy in ("quick", "other-one", "third"):
        c.on_complete(InferenceContext(policy_models[0], strategy), InferenceResult(policy_models[0], "vllm", 5, 0.5))
    # "quick" is the one allowed series; the two unknown strategies both map to "other", a second series.
    assert value(c, catalog.SERIES_OVERFLOW.name, metric=catalog.INFERENCE.name) == 2


def test_every_repeated_fold_is_counted():
    """A label set beyond the bound seen again is counted again (folds are not cached away)."""
    c = collector(max_series=1)
    for cache_type in ("kept", "folded", "folded", "folded"):
        c.cache_hit(cache_type)
    assert value(c, catalog.CACHE_HITS.name, cache_type="other") == 3
    assert value(c, catalog.SERIES_OVERFLOW.name, metric=catalog.CACHE_HITS.name) == 3
    for strategy in ("quick", "bogus", "bogus", "bogus"):  # "quick" takes the one series; "other" folds
        c.on_complete(InferenceContext("llama-3-8b", strategy), InferenceResult("llama-3-8b", "vllm", 5, 0.5))
    assert value(c, catalog.SERIES_OVERFLOW.name, metric=catalog.INFERENCE.name) == 3


def test_client_controlled_values_do_not_grow_memory_without_bound():
    """Distinct raw values (model names from clients) beyond the cache sizes are not all remembered."""
    c = collector(max_series=10)
    for i in range(RAW_CACHE_SIZE + 50):
        c.on_complete(InferenceContext(f"model-{i}", "quick"), InferenceResult(f"model-{i}", "vllm", 1, 0.1))
    assert len(c.family(catalog.INFERENCE)._children) <= RAW_CACHE_SIZE
    assert len(c._inference_series) <= RAW_CACHE_SIZE
    assert value(c, catalog.INFERENCE.name, model="other", strategy="quick", status="success", cached="false") == (
        RAW_CACHE_SIZE + 50
    )


def test_policy_refuses_a_zero_bound():
    with pytest.raises(ValueError, match="max_series"):
        LabelPolicy.of(max_series=0)


def test_booleans_use_the_seed_spelling():
    c = collector()
    c.on_complete(InferenceContext("llama-3-8b", "quick"), InferenceResult("llama-3-8b", "vllm", 3, 0.1, cached=True))
    assert value(c, catalog.INFERENCE.name, model="llama-3-8b", strategy="quick", status="success", cached="true") == 1
