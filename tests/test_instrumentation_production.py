"""Instrumentation for production alerts and panels: zero series, inferences in progress, GC metrics,
and the failure classification the error alerts rely on."""

from __future__ import annotations

import asyncio
import gc
import weakref

import httpx
import pytest
from prometheus_client import generate_latest

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.labels import LabelPolicy
from app_instrumentation.runtime import freeze_startup_heap
from llmmon.checkers import promtool_check_metrics
from llmmon.example_router.app import create_app
from llmmon.example_router.config import BackendConfig
from tests.test_router import FAST, fast_config, scenario, value

MODELS, BACKENDS, STRATEGIES = ("m1", "m2"), ("a", "b", "c"), ("quick", "cost")


@pytest.fixture
def c() -> MetricsCollector:
    collector = MetricsCollector(LabelPolicy.of(MODELS, BACKENDS, STRATEGIES))
    collector.initialize_series()
    return collector


def sample(c: MetricsCollector, name: str, **labels: str) -> float | None:
    return c.registry.get_sample_value(name, labels)


def test_every_allow_listed_counter_label_set_exists_at_zero(c):
    """What makes an error ratio read 0 on a healthy router: the error series exist before any error."""
    for model in MODELS:
        for strategy in STRATEGIES:
            for status in ("success", "error"):
                for cached in ("true", "false"):
                    labels = dict(model=model, strategy=strategy, status=status, cached=cached)
                    assert sample(c, catalog.INFERENCE.name, **labels) == 0, labels
        for backend in BACKENDS:
            assert sample(c, catalog.BACKEND_REQUEST_DURATION.count, model=model, backend=backend, status="error") == 0
    assert sample(c, catalog.RETRIES.name, backend="a", reason="timeout") == 0
    assert sample(c, catalog.FALLBACKS.name, from_backend="a", to_backend="b", reason="error") == 0
    assert sample(c, catalog.FALLBACKS.name, from_backend="a", to_backend="a", reason="error") is None  # no self-fallback
    # Open-ended labels are left alone (no invented route, component or cache type).
    assert sample(c, catalog.HTTP_REQUESTS.name, method="GET", route="/x", status_code="200") is None


def test_gauges_are_not_set_to_zero_where_zero_means_something(c):
    assert sample(c, catalog.BACKEND_UP.name, backend="a") is None  # 0 would read "down"
    assert sample(c, catalog.RATE_LIMIT_REMAINING.name, backend="a", limit_type="requests") is None


def test_label_products_that_would_crowd_the_series_bound_are_skipped():
    small = MetricsCollector(LabelPolicy.of(MODELS, BACKENDS, STRATEGIES, max_series=20))
    assert small.known_label_sets(catalog.INFERENCE) == []  # 2 x 2 x 2 x 2 = 16 > 20 / 2
    assert len(small.known_label_sets(catalog.TOKENS_GENERATED)) == 4
    assert small.known_label_sets(catalog.ERRORS) == []  # "component" is open-ended


def test_inferences_in_progress_count_until_the_end_however_it_ends(c):
    name = catalog.INFERENCES_IN_PROGRESS.name
    assert sample(c, name) == 0
    with c.inference_in_progress(), c.inference_in_progress():
        assert sample(c, name) == 2
    with pytest.raises(RuntimeError), c.inference_in_progress():
        raise RuntimeError("backend exploded")
    assert sample(c, name) == 0


def test_the_router_holds_an_inference_in_progress_through_queueing_streaming_and_cancellation():
    config = fast_config(max_concurrency=1, backends=(BackendConfig("a", latency_ms=300, tokens_per_second=100000),
                                                      BackendConfig("b", **FAST)))
    name = catalog.INFERENCES_IN_PROGRESS.name

    async def steps(client: httpx.AsyncClient, app) -> list[float]:
        seen = []
        slow = [asyncio.create_task(client.post("/api/generate", json={"prompt": f"s{i}", "model": "m1"}))
                for i in range(3)]
        await asyncio.sleep(0.1)
        seen.append(value(app, name))  # one running, two queued
        for task in slow[1:]:
            task.cancel()  # clients that went away while queued
        await asyncio.gather(*slow, return_exceptions=True)
        seen.append(value(app, name))
        async with client.stream("POST", "/api/generate", json={"prompt": "s0", "model": "m1", "stream": True}) as r:
            await r.aread()  # a cached answer, streamed
        seen.append(value(app, name))
        return seen

    seen, app = scenario(config, steps)
    assert seen == [3, 0, 0]
    assert value(app, catalog.INFERENCE.name, model="m1", strategy="quick", status="success", cached="true") == 1


def test_python_gc_metrics_follow_the_collector_and_pass_promtool():
    c = MetricsCollector()
    collections = catalog.PYTHON_GC_COLLECTIONS.name
    before = sample(c, collections, generation="2")
    pause = sample(c, catalog.PYTHON_GC_PAUSE.name, generation="2")
    gc.collect()
    assert sample(c, collections, generation="2") == before + 1
    assert sample(c, catalog.PYTHON_GC_PAUSE.name, generation="2") > pause
    for spec in (catalog.PYTHON_GC_OBJECTS_COLLECTED, catalog.PYTHON_GC_OBJECTS_UNCOLLECTABLE):
        assert sample(c, spec.name, generation="0") is not None
    result = promtool_check_metrics(generate_latest(c.registry).decode())
    assert result.ok, result.output


def test_freezing_the_startup_heap_collects_its_garbage_and_keeps_the_rest_out_of_collections():
    """Cycles already unreachable are freed, not frozen; what is alive is left to no collection."""
    class Node:
        pass

    garbage, alive = Node(), Node()
    garbage.me, alive.me = garbage, alive  # reference cycles: only the cyclic collector frees them
    freed = weakref.ref(garbage)
    del garbage
    try:
        frozen = freeze_startup_heap()
        assert freed() is None  # collected before the freeze
        assert frozen == gc.get_freeze_count() > 0
        assert not any(o is alive for o in gc.get_objects())  # no generation holds it any more
    finally:
        gc.unfreeze()  # the rest of the suite runs with Python's collector as it was
    assert any(o is alive for o in gc.get_objects())


def test_a_failed_inference_is_a_server_side_failure_and_a_rejected_request_is_not():
    """The error alerts' classification, as the example router records it."""
    config = fast_config(backends=(BackendConfig("a", error_rate=1.0, **FAST), BackendConfig("b", error_rate=1.0, **FAST)),
                         max_retries=0, breaker_failures=100)

    async def steps(client: httpx.AsyncClient, app) -> None:
        await client.post("/api/generate", json={"prompt": ""})
        await client.post("/api/generate", json={"prompt": "x", "model": "m1"})

    _, app = scenario(config, steps)
    samples = {tuple(s.labels[k] for k in ("type", "component", "severity")): s.value
               for f in app.collector.registry.collect() if f.name == catalog.ERRORS.base_name
               for s in f.samples if s.name == catalog.ERRORS.name and s.value}
    failures = {k: v for k, v in samples.items() if k[2] in catalog.FAILURE_SEVERITIES
                and k[0] not in catalog.CLIENT_ERROR_TYPES}
    # One failed request = one failure, though two backend attempts failed before it.
    assert failures == {("backend_error", "llm_router", "error"): 1}
    assert samples[("validation_error", "api", "warning")] == 1
    assert samples[("backend_error", "backend", "warning")] == 2


def test_the_example_router_exposes_zero_error_series_before_any_error():
    app = create_app(fast_config())
    app.router.initialize_series()
    registry = app.collector.registry
    assert registry.get_sample_value(catalog.ERRORS.name, {"type": "queue_full", "component": "llm_router",
                                                           "severity": "error"}) == 0
