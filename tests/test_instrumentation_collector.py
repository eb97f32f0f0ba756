"""MetricsCollector: every catalog metric, typed events, swallowed instrumentation errors."""

import subprocess
import sys
import textwrap

import pytest

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceContext, InferenceObserver, InferenceResult, ObserverSet
from app_instrumentation.families import GAUGE_MULTIPROCESS_MODES
from app_instrumentation.guard import OPERATIONS
from app_instrumentation.labels import LabelPolicy
from llmmon.checkers import promtool_check_metrics

MODEL, STRATEGY, BACKEND = "llama-3-8b", "quick", "vllm"


@pytest.fixture
def c():
    return MetricsCollector(LabelPolicy.of([MODEL], [BACKEND, "openai"], [STRATEGY]))


def value(c, name, **labels):
    return c.registry.get_sample_value(name, labels)


def test_collector_is_an_inference_observer(c):
    assert isinstance(c, InferenceObserver)


def test_every_catalog_family_is_registered_including_process_metrics(c):
    from prometheus_client import generate_latest

    text = generate_latest(c.registry).decode()
    for spec in catalog.METRICS:
        assert f"# TYPE {spec.name} {spec.kind.value}" in text, spec.name


def test_every_gauge_has_a_multiprocess_mode():
    gauges = {m.name for m in catalog.METRICS if m.kind is catalog.Kind.GAUGE and not m.collected}
    assert gauges == set(GAUGE_MULTIPROCESS_MODES)


def test_completed_inference_records_seed_and_llm_signals(c):
    ctx = InferenceContext(MODEL, STRATEGY)
    result = InferenceResult(MODEL, BACKEND, output_tokens=11, duration_seconds=2.0, prompt_tokens=7,
                             ttft_seconds=0.5, backend_seconds=1.9, cost_usd=0.25)
    c.on_complete(ctx, result)
    ms, mb = dict(model=MODEL, strategy=STRATEGY), dict(model=MODEL, backend=BACKEND)
    assert value(c, catalog.INFERENCE.name, status="success", cached="false", **ms) == 1
    assert value(c, catalog.INFERENCE_DURATION.sum, **ms) == 2.0
    assert value(c, catalog.TOKENS_GENERATED.name, **ms) == 11
    assert value(c, catalog.TOKENS_PER_SECOND.sum, model=MODEL) == 5.5
    assert value(c, catalog.TIME_TO_FIRST_TOKEN.sum, **mb) == 0.5
    assert value(c, catalog.TIME_PER_OUTPUT_TOKEN.sum, **mb) == pytest.approx(1.5 / 10)
    assert value(c, catalog.TOKENS.name, token_type="input", **mb) == 7
    assert value(c, catalog.TOKENS.name, token_type="output", **mb) == 11
    assert value(c, catalog.COST.name, **mb) == 0.25
    assert value(c, catalog.BACKEND_REQUEST_DURATION.count, status="success", **mb) == 1


def test_cached_inference_leaves_backend_side_series_alone(c):
    c.on_complete(InferenceContext(MODEL, STRATEGY), InferenceResult(MODEL, BACKEND, 4, 0.01, prompt_tokens=3, cached=True))
    assert value(c, catalog.INFERENCE.name, model=MODEL, strategy=STRATEGY, status="success", cached="true") == 1
    assert value(c, catalog.TOKENS.name, model=MODEL, backend=BACKEND, token_type="input") is None
    assert value(c, catalog.TOKENS_PER_SECOND.count, model=MODEL) is None
    assert not value(c, catalog.INSTRUMENTATION_ERRORS.name, operation="inference_complete"), "a cached answer is no error"


def test_failed_inference_counts_error_with_its_type(c):
    exc = TimeoutError("slow")
    c.on_error(InferenceContext(MODEL, STRATEGY), exc)
    assert value(c, catalog.INFERENCE.name, model=MODEL, strategy=STRATEGY, status="error", cached="false") == 1
    assert value(c, catalog.ERRORS.name, type="backend_timeout", component="llm_router", severity="error") == 1


def test_seed_events(c):
    c.model_loaded(MODEL, "gguf", 5e9, 12.0)
    c.model_loaded("other-model", "gguf", 6e9, 3.0)
    c.model_unloaded("other-model", "gguf", 6e9)
    assert value(c, catalog.MODELS_LOADED.name, format="gguf", size_category="medium") == 1
    assert value(c, catalog.MODEL_MEMORY.name, model=MODEL, format="gguf") == 5e9
    c.cache_hit()
    c.cache_miss()
    c.cache_size(2048)
    assert value(c, catalog.CACHE_SIZE.name, cache_type="response") == 2048
    c.connection_opened("http", "http/1.1")
    c.connection_opened("http", "http/1.1")
    c.connection_closed("http", "http/1.1", 3.0)
    assert value(c, catalog.ACTIVE_CONNECTIONS.name, type="http", protocol="http/1.1") == 1
    assert value(c, catalog.CONNECTION_DURATION.count, type="http", protocol="http/1.1") == 1
    c.queue_size(7)
    c.queue_processed(0.2)
    assert value(c, catalog.QUEUE_SIZE.name, queue_type="inference") == 7


def test_backend_state_is_one_hot_and_sets_backend_up(c):
    c.backend_state(BACKEND, "healthy")
    c.backend_state(BACKEND, "cooling_down")
    states = {s: value(c, catalog.BACKEND_STATE.name, backend=BACKEND, state=s) for s in catalog.BACKEND_STATES}
    assert states == {"healthy": 0, "degraded": 0, "cooling_down": 1, "down": 0}
    assert value(c, catalog.BACKEND_UP.name, backend=BACKEND) == 0
    c.backend_state(BACKEND, "degraded")
    assert value(c, catalog.BACKEND_UP.name, backend=BACKEND) == 1, "a degraded backend still takes requests"
    c.rate_limit_remaining(BACKEND, 42)
    assert value(c, catalog.RATE_LIMIT_REMAINING.name, backend=BACKEND, limit_type="requests") == 42


def test_exception_inside_instrumentation_is_counted_not_raised(c, monkeypatch):
    def broken(*args):
        raise RuntimeError("registry on fire")

    monkeypatch.setattr(c.family(catalog.CACHE_HITS).metric, "labels", broken)
    assert c.cache_hit() is None  # no exception
    c.on_complete(InferenceContext(MODEL, STRATEGY), "not a result")  # a caller passing garbage
    assert value(c, catalog.INSTRUMENTATION_ERRORS.name, operation="cache_hit") == 1
    assert value(c, catalog.INSTRUMENTATION_ERRORS.name, operation="inference_complete") == 1


def test_failing_error_counter_still_never_reaches_the_caller(c, monkeypatch) -> None:
    """Even when counting the failure fails too (the whole registry is broken), the caller sees nothing."""

    def broken(*args: object) -> None:
        raise RuntimeError("registry on fire")

    for spec in (catalog.CACHE_HITS, catalog.INSTRUMENTATION_ERRORS):
        monkeypatch.setattr(c.family(spec).metric, "labels", broken)
    assert c.cache_hit() is None
    c.on_complete(InferenceContext(MODEL, STRATEGY), "not a result")


def test_initialize_series_exposes_zero_self_metrics(c):
    c.initialize_series(log_streams=["access"])
    for operation in OPERATIONS:
        assert value(c, catalog.INSTRUMENTATION_ERRORS.name, operation=operation) == 0
    assert value(c, catalog.SERIES_OVERFLOW.name, metric=catalog.CACHE_HITS.name) == 0
    assert value(c, catalog.LOG_EVENTS_DROPPED.name, stream="access") == 0


def test_observer_set_survives_a_failing_observer(c):
    class Broken:
        def on_start(self, ctx):
            raise ValueError("boom")

        on_complete = on_error = on_start

    observers = ObserverSet([Broken(), c])
    ctx = InferenceContext(MODEL, STRATEGY)
    observers.start(ctx)
    observers.complete(ctx, InferenceResult(MODEL, BACKEND, 2, 0.1))
    assert value(c, catalog.INFERENCE.name, model=MODEL, strategy=STRATEGY, status="success", cached="false") == 1


def test_exposition_of_a_busy_collector_passes_promtool(c):
    from prometheus_client import generate_latest

    c.initialize_series(log_streams=["access"])
    c.on_complete(InferenceContext(MODEL, STRATEGY), InferenceResult(MODEL, BACKEND, 9, 1.0, 3, 0.1, 0.9, cost_usd=0.1))
    c.backend_state(BACKEND, "healthy")
    c.http_request("GET", "/health", 200, 0.01)
    result = promtool_check_metrics(generate_latest(c.registry).decode())
    assert result.ok, result.output


BLOCKER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
"""


def _import_with_blocked(blocked, body):
    code = f"BLOCKED = {set(blocked)!r}\n" + BLOCKER + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_app_instrumentation_imports_without_infra_packages():
    """A router installs only the base package: every module imports without pulumi, grafanalib, yaml."""
    out = _import_with_blocked({"pulumi", "pulumi_kubernetes", "grafanalib", "yaml"}, """
        import importlib, pkgutil, app_instrumentation
        names = [m.name for m in pkgutil.iter_modules(app_instrumentation.__path__, "app_instrumentation.")]
        for name in names:
            importlib.import_module(name)
        print(len(names))
    """)
    assert int(out) >= 10


def test_metrics_core_needs_no_web_framework_or_repo_code():
    """Collector, middleware, health and exposition are plain ASGI: no starlette, no llmmon."""
    out = _import_with_blocked({"pulumi", "grafanalib", "yaml", "starlette", "llmmon"}, """
        import app_instrumentation.collector, app_instrumentation.middleware, app_instrumentation.exposition
        import app_instrumentation.health, app_instrumentation.health_checks, app_instrumentation.multiprocess
        import app_instrumentation.routes, app_instrumentation.events
        print("ok")
    """)
    assert out == "ok"


def test_metrics_doc_is_generated_from_the_current_catalog():
    from pathlib import Path

    from app_instrumentation import metrics_doc

    committed = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
    assert committed.read_text() == metrics_doc.render(), "run: python -m app_instrumentation.metrics_doc docs/metrics.md"
    for spec in catalog.METRICS:
        assert f"`{spec.name}`" in committed.read_text()


@pytest.mark.parametrize(
    "exc, expected",
    [(ValueError("bad max_tokens"), "validation_error"), (RuntimeError("boom"), "inference_error"),
     (TimeoutError(), "backend_timeout")],
)
def test_failed_inference_error_type_matches_the_error_logs(c, exc, expected):
    from app_instrumentation.errors import classify

    c.on_error(InferenceContext(MODEL, STRATEGY), exc)
    assert classify(exc, "inference_error") == expected
    assert value(c, catalog.ERRORS.name, type=expected, component="llm_router", severity="error") == 1
