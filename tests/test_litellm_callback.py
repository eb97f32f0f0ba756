"""LiteLLMCallback on a real litellm.Router (mock_response, no network): metrics, logs, spans, bounds, guards.

Expected values come from the mock answers' usage, LiteLLM's own price table and LiteLLM's own
per-attempt record (its standard_logging_object), never from the callback under test.
"""

import asyncio
import subprocess
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from app_instrumentation import catalog
from app_instrumentation import logs_fields as F
from app_instrumentation.integrations.litellm import LiteLLMCallback
from app_instrumentation.logs import LogConfig
from app_instrumentation.logs_fields import Action
from app_instrumentation.logs_wiring import Observability
from tests.litellm_support import (
    Recorder,
    answer,
    await_events,
    deployment,
    litellm,
    price,
    wait_events,
)
from tests.test_logs_support import CaptureSink, leaf

pytestmark = pytest.mark.usefixtures("offline")  # every test here: no host name resolved
MSGS = [{"role": "user", "content": "What is the capital of France?"}]
FAST = deployment("fast", "fast-a", answer("Paris.", 7, 3))
SMART = deployment("smart", "smart-a", answer("Paris, on the Seine.", 11, 5), model="openai/gpt-4o")
STRATEGY = "litellm"


@pytest.fixture(autouse=True)
def clean_litellm_callbacks():
    litellm.logging_callback_manager._reset_all_callbacks()
    yield
    litellm.logging_callback_manager._reset_all_callbacks()


def setup(model_list, *, callback_kwargs=None, **router_kwargs):
    registry = CollectorRegistry()
    callback = LiteLLMCallback(registry=registry, **{"settle_in_background": False, **(callback_kwargs or {})})
    recorder = Recorder()
    litellm.callbacks = [callback, recorder]
    router = litellm.Router(model_list=model_list, **router_kwargs)
    return router, callback, recorder, registry


def value(registry, spec_or_name, **labels):
    name = spec_or_name if isinstance(spec_or_name, str) else spec_or_name.name
    return registry.get_sample_value(name, labels)


def inferences(registry, model, status):
    return value(registry, catalog.INFERENCE, model=model, strategy=STRATEGY, status=status, cached="false")


def assert_success_metrics(registry, model, backend, prompt_tokens, completion_tokens, litellm_model):
    assert inferences(registry, model, "success") == 1
    assert value(registry, catalog.INFERENCE_DURATION.count, model=model, strategy=STRATEGY) == 1
    assert value(registry, catalog.TOKENS_GENERATED, model=model, strategy=STRATEGY) == completion_tokens
    assert value(registry, catalog.TOKENS, model=model, backend=backend, token_type="input") == prompt_tokens
    assert value(registry, catalog.TOKENS, model=model, backend=backend, token_type="output") == completion_tokens
    assert value(registry, catalog.COST, model=model, backend=backend) == pytest.approx(
        price(litellm_model, prompt_tokens, completion_tokens))
    assert value(registry, catalog.TIME_TO_FIRST_TOKEN.count, model=model, backend=backend) == 1
    assert value(registry, catalog.BACKEND_REQUEST_DURATION.count, model=model, backend=backend, status="success") == 1
    assert value(registry, catalog.BACKEND_STATE, backend=backend, state="healthy") == 1
    assert value(registry, catalog.BACKEND_UP, backend=backend) == 1


def test_async_call_is_one_successful_inference_with_litellm_tokens_and_cost():
    router, callback, _, registry = setup([FAST, SMART])

    async def call():
        response = await router.acompletion(model="fast", messages=MSGS)
        await await_events(callback, 1)
        return response

    response = asyncio.run(call())
    assert response.choices[0].message.content == "Paris."
    assert_success_metrics(registry, "fast", "fast-a", 7, 3, "gpt-4o-mini")
    assert value(registry, catalog.TIME_PER_OUTPUT_TOKEN.count, model="fast", backend="fast-a") == 1
    assert inferences(registry, "smart", "success") is None
    assert value(registry, catalog.ERRORS, type="backend_error", component="backend", severity="warning") is None


def test_sync_call_is_counted_the_same_way():
    router, callback, _, registry = setup([FAST, SMART])
    response = router.completion(model="smart", messages=MSGS)
    wait_events(callback, 1)
    assert response.choices[0].message.content == "Paris, on the Seine."
    assert_success_metrics(registry, "smart", "smart-a", 11, 5, "gpt-4o")


@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
def test_stream_counts_tokens_as_litellm_reports_them_and_time_to_first_token(sync):
    router, callback, recorder, registry = setup([FAST, SMART])
    text = "The capital of France is Paris, a city on the Seine."
    if sync:
        chunks = [c.choices[0].delta.content for c in router.completion(
            model="fast", messages=MSGS, stream=True, mock_response=text)]
        wait_events(callback, 1)
    else:
        async def call():
            stream = await router.acompletion(model="fast", messages=MSGS, stream=True, mock_response=text)
            parts = [c.choices[0].delta.content async for c in stream]
            await await_events(callback, 1)
            return parts

        chunks = asyncio.run(call())
    assert "".join(c for c in chunks if c) == text and len(chunks) > 2
    (logged,) = recorder.logged
    assert logged["stream"] is True or logged["call_type"].endswith("completion")
    assert inferences(registry, "fast", "success") == 1
    assert value(registry, catalog.TOKENS, model="fast", backend="fast-a", token_type="output") == logged["completion_tokens"] > 0
    assert value(registry, catalog.TOKENS, model="fast", backend="fast-a", token_type="input") == logged["prompt_tokens"] > 0
    ttft = value(registry, catalog.TIME_TO_FIRST_TOKEN.sum, model="fast", backend="fast-a")
    duration = value(registry, catalog.INFERENCE_DURATION.sum, model="fast", strategy=STRATEGY)
    assert 0 < ttft <= duration


@pytest.mark.parametrize("error, status, error_type", [
    (lambda: litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o"), 429, "rate_limited"),
    (lambda: litellm.InternalServerError("boom", llm_provider="openai", model="gpt-4o"), 500, "backend_error"),
    (lambda: litellm.Timeout("too slow", model="gpt-4o", llm_provider="openai"), 408, "backend_timeout"),
    (lambda: litellm.BadRequestError("prompt too long", model="gpt-4o", llm_provider="openai"), 400,
     "validation_error"),
    (lambda: litellm.AuthenticationError("bad key", llm_provider="openai", model="gpt-4o"), 401, "backend_error"),
], ids=["429", "500", "timeout", "400-client", "401-deployment-key"])
def test_failing_call_is_a_backend_failure_then_a_failed_inference(error, status, error_type):
    router, callback, recorder, registry = setup([FAST, SMART], num_retries=0)
    exc = error()
    assert exc.status_code == status

    async def call():
        with pytest.raises(type(exc)):
            await router.acompletion(model="smart", messages=MSGS, mock_response=exc)
        await await_events(callback, 1)

    asyncio.run(call())
    assert inferences(registry, "smart", "error") is None, "a failed attempt alone may still be retried"
    assert callback.settle() == 1
    assert inferences(registry, "smart", "error") == 1
    assert inferences(registry, "smart", "success") is None
    assert value(registry, catalog.ERRORS, type=error_type, component="backend", severity="warning") == 1
    assert value(registry, catalog.ERRORS, type=error_type, component="llm_router", severity="error") == 1
    assert value(registry, catalog.BACKEND_REQUEST_DURATION.count, model="smart", backend="smart-a", status="error") == 1
    assert value(registry, catalog.RATE_LIMITED, backend="smart-a") == (1 if status == 429 else None)
    assert value(registry, catalog.BACKEND_UP, backend="smart-a") in (0, 1)
    assert value(registry, catalog.BACKEND_STATE, backend="smart-a", state="healthy") == 0
    assert [entry["status"] for entry in recorder.logged] == ["failure"]


def test_fallback_to_another_model_group_counts_one_successful_inference_of_the_requested_group():
    flaky = deployment("fast", "fast-a", "litellm.InternalServerError")
    router, callback, recorder, registry = setup([flaky, SMART], num_retries=0, fallbacks=[{"fast": ["smart"]}])

    async def call():
        response = await router.acompletion(model="fast", messages=MSGS)
        await await_events(callback, 2)
        return response

    assert asyncio.run(call()).choices[0].message.content == "Paris, on the Seine."
    assert [e["model_group"] for e in recorder.logged] == ["fast", "smart"]
    assert value(registry, catalog.FALLBACKS, from_backend="fast-a", to_backend="smart-a", reason="error") == 1
    assert value(registry, catalog.RETRIES, backend="fast-a", reason="error") is None
    # The request asked for "fast": that is the inference's model; smart-a served it.
    assert inferences(registry, "fast", "success") == 1
    assert inferences(registry, "smart", "success") is None
    assert value(registry, catalog.TOKENS, model="fast", backend="smart-a", token_type="output") == 5
    assert value(registry, catalog.COST, model="fast", backend="smart-a") == pytest.approx(price("gpt-4o", 11, 5))
    assert value(registry, catalog.BACKEND_REQUEST_DURATION.count, model="fast", backend="fast-a", status="error") == 1
    assert value(registry, catalog.ERRORS, type="backend_error", component="backend", severity="warning") == 1
    assert value(registry, catalog.ERRORS, type="backend_error", component="llm_router", severity="error") is None
    assert value(registry, catalog.BACKEND_STATE, backend="fast-a", state="healthy") == 0
    assert callback.settle() == 0


def test_retry_on_another_deployment_of_the_group_counts_one_retry_and_one_success():
    bad = deployment("fast", "fast-bad", "litellm.InternalServerError", order=1)
    good = deployment("fast", "fast-good", answer("Paris.", 7, 3), order=2)
    router, callback, recorder, registry = setup([bad, good, SMART], num_retries=1, retry_after=0, allowed_fails=0)
    response = router.completion(model="fast", messages=MSGS)
    wait_events(callback, 2)
    assert response.choices[0].message.content == "Paris."
    assert [(e["model_id"], e["status"]) for e in recorder.logged] == [("fast-bad", "failure"), ("fast-good", "success")]
    assert value(registry, catalog.RETRIES, backend="fast-bad", reason="error") == 1
    assert value(registry, catalog.FALLBACKS, from_backend="fast-bad", to_backend="fast-good", reason="error") is None
    assert inferences(registry, "fast", "success") == 1
    assert inferences(registry, "fast", "error") is None
    assert value(registry, catalog.TOKENS, model="fast", backend="fast-good", token_type="input") == 7
    assert value(registry, catalog.BACKEND_UP, backend="fast-good") == 1
    assert callback.settle() == 0


def test_logs_and_spans_when_observability_is_wired():
    sink, exporter = CaptureSink(), InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    obs = Observability(LogConfig(), provider, sink=sink, environ={})
    router, callback, _, registry = setup([FAST, SMART], num_retries=0, callback_kwargs={"observability": obs})

    async def calls():
        response = await router.acompletion(model="fast", messages=MSGS, max_tokens=64)
        with pytest.raises(litellm.RateLimitError):
            await router.acompletion(model="smart", messages=MSGS, mock_response=litellm.RateLimitError(
                "slow down", llm_provider="openai", model="gpt-4o"))
        await await_events(callback, 2)
        return response

    response = asyncio.run(calls())
    callback.settle()
    obs.shutdown()
    events = sink.events()
    (done,) = [e for e in events if leaf(e, F.EVENT_ACTION.path) == Action.INFERENCE_COMPLETE
               and leaf(e, F.EVENT_DATASET.path) == "llm_router.application"]
    expected = {F.GEN_AI_REQUEST_MODEL: "fast", F.GEN_AI_RESPONSE_MODEL: "fast", F.INFERENCE_BACKEND: "fast-a",
                F.GEN_AI_SYSTEM: "openai", F.INFERENCE_STRATEGY: STRATEGY, F.GEN_AI_INPUT_TOKENS: 7,
                F.GEN_AI_OUTPUT_TOKENS: 3, F.GEN_AI_FINISH_REASONS: ["stop"], F.INFERENCE_CACHED: False,
                F.GEN_AI_RESPONSE_ID: response.id, F.GEN_AI_REQUEST_MAX_TOKENS: 64, F.INFERENCE_SUCCESS: True,
                F.EVENT_OUTCOME: "success"}
    assert {f.path: leaf(done, f.path) for f in expected} == {f.path: v for f, v in expected.items()}
    (failed,) = [e for e in events if leaf(e, F.EVENT_ACTION.path) == Action.INFERENCE_ERROR
                 and leaf(e, F.EVENT_DATASET.path) == "llm_router.error"]
    assert leaf(failed, F.GEN_AI_REQUEST_MODEL.path) == "smart"
    assert leaf(failed, F.ERROR_CODE.path) == "rate_limited"
    assert leaf(failed, F.ERROR_TYPE.path) == "litellm.exceptions.RateLimitError"
    assert leaf(failed, F.EVENT_OUTCOME.path) == "failure"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    ok, bad = spans["chat fast"], spans["chat smart"]
    wanted = {"gen_ai.request.model": "fast", F.INFERENCE_BACKEND.path: "fast-a", "gen_ai.usage.input_tokens": 7,
              "gen_ai.usage.output_tokens": 3, "gen_ai.provider.name": "openai", "gen_ai.response.id": response.id,
              "gen_ai.request.max_tokens": 64}
    assert {k: ok.attributes.get(k) for k in wanted} == wanted
    assert bad.status.status_code is StatusCode.ERROR
    assert bad.attributes["error.type"] == "litellm.exceptions.RateLimitError"
    assert bad.attributes[f"{F.NAMESPACE}.error.code"] == "rate_limited"
    # The log lines of an inference carry its span's trace id.
    assert leaf(done, F.TRACE_ID.path) == format(ok.context.trace_id, "032x")


def test_a_failure_settles_by_itself_when_no_retry_or_fallback_follows():
    router, callback, _, registry = setup([FAST, SMART], num_retries=0,
                                          callback_kwargs={"settle_seconds": 0.05, "settle_in_background": True})
    with pytest.raises(litellm.InternalServerError):
        router.completion(model="smart", messages=MSGS, mock_response="litellm.InternalServerError")
    wait_events(callback, 1)
    for _ in range(2000):  # the settler thread records it; no explicit settle()
        if inferences(registry, "smart", "error"):
            break
        asyncio.run(asyncio.sleep(0.005))
    assert inferences(registry, "smart", "error") == 1


def test_failure_waits_settle_seconds_for_a_retry_before_failing_the_inference():
    now = [100.0]
    router, callback, _, registry = setup([FAST, SMART], num_retries=0, callback_kwargs={"settle_seconds": 10})
    callback.tracker.clock = lambda: now[0]
    with pytest.raises(litellm.InternalServerError):
        router.completion(model="smart", messages=MSGS, mock_response="litellm.InternalServerError")
    wait_events(callback, 1)
    assert callback.tracker.next_deadline() == 110.0
    now[0] = 109.9
    assert callback.tracker.settle(due_only=True) == 0 and inferences(registry, "smart", "error") is None
    now[0] = 110.0
    assert callback.tracker.settle(due_only=True) == 1 and inferences(registry, "smart", "error") == 1
    assert callback.tracker.in_flight() == 0


def test_proxy_request_failure_settles_at_once_and_pre_routing_rejects_are_not_inferences():
    router, callback, _, registry = setup([FAST, SMART], num_retries=0)
    with pytest.raises(litellm.InternalServerError):
        router.completion(model="smart", messages=MSGS, mock_response="litellm.InternalServerError",
                          litellm_trace_id="trace-1")
    wait_events(callback, 1)
    exc = litellm.InternalServerError("boom", llm_provider="openai", model="gpt-4o")
    hook = callback.async_post_call_failure_hook
    asyncio.run(hook({"litellm_trace_id": "trace-1", "model": "smart"}, exc, None))
    assert inferences(registry, "smart", "error") == 1
    assert callback.settle() == 0
    # Refused by the proxy before any deployment (bad key, budget): errors_total{component="api"}, no inference.
    asyncio.run(hook({"model": "smart"}, type("AuthError", (Exception,), {"status_code": 401})(), None))
    assert value(registry, catalog.ERRORS, type="validation_error", component="api", severity="warning") == 1
    # A server-side failure with a model name no deployment was ever routed to: the name is the client's.
    asyncio.run(hook({"model": "client-chosen-name"}, RuntimeError("no deployments"), None))
    assert inferences(registry, "other", "error") == 1
    assert inferences(registry, "client-chosen-name", "error") is None


def test_label_values_stay_bounded():
    groups = [deployment(f"group-{i}", f"dep-{i}", answer("ok", 1, 1)) for i in range(3)]
    router, callback, _, registry = setup(groups, callback_kwargs={"max_series": 2})
    for i in range(3):
        router.completion(model=f"group-{i}", messages=MSGS)
    wait_events(callback, 3)
    assert inferences(registry, "group-0", "success") == 1 and inferences(registry, "group-1", "success") == 1
    assert value(registry, catalog.INFERENCE, model="other", strategy="other", status="other", cached="other") == 1
    assert value(registry, catalog.SERIES_OVERFLOW, metric=catalog.INFERENCE.name) >= 1


def test_explicit_allow_lists_map_other_names_to_other():
    router, callback, _, registry = setup([FAST, SMART], callback_kwargs={"models": ["fast"], "backends": ["fast-a"]})
    router.completion(model="fast", messages=MSGS)
    router.completion(model="smart", messages=MSGS)
    wait_events(callback, 2)
    assert inferences(registry, "fast", "success") == 1
    assert inferences(registry, "other", "success") == 1
    assert value(registry, catalog.TOKENS, model="other", backend="other", token_type="output") == 5


def test_callback_errors_never_reach_litellm_and_are_counted():
    router, callback, _, registry = setup([FAST, SMART])
    callback.tracker = None  # every hook now fails inside
    response = router.completion(model="fast", messages=MSGS)
    assert response.choices[0].message.content == "Paris."
    for _ in range(2000):
        if value(registry, catalog.INSTRUMENTATION_ERRORS, operation="litellm_success_event"):
            break
        asyncio.run(asyncio.sleep(0.005))
    assert value(registry, catalog.INSTRUMENTATION_ERRORS, operation="litellm_success_event") == 1
    assert value(registry, catalog.INSTRUMENTATION_ERRORS, operation="litellm_pre_api_call") == 1
    # Malformed kwargs from any LiteLLM version are read as defaults, not raised.
    working = LiteLLMCallback(registry=CollectorRegistry(), settle_in_background=False)
    for kwargs in ({}, {"litellm_params": 5, "standard_logging_object": [], "exception": "x"}):
        working.log_pre_api_call(None, None, kwargs)
        working.log_success_event(kwargs, object(), None, None)
        working.log_failure_event(kwargs, None, None, None)
    asyncio.run(working.async_post_call_failure_hook(None, "not an exception", None))
    assert value(working.collector.registry, catalog.INSTRUMENTATION_ERRORS, operation="litellm_success_event") == 0


IMPORT_CHECK = """
import os, sys
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import importlib, pkgutil
import app_instrumentation
for m in pkgutil.walk_packages(app_instrumentation.__path__, "app_instrumentation."):
    if m.name != "app_instrumentation.integrations.litellm":
        importlib.import_module(m.name)
assert "litellm" not in sys.modules, "app_instrumentation imported litellm"
from app_instrumentation.integrations import litellm as integration
from prometheus_client import REGISTRY
assert not [m for m in REGISTRY.collect() if m.name.startswith("llm_router")], "importing registered metrics"
a, b = integration.LiteLLMCallback(), integration.LiteLLMCallback()
assert a.collector is b.collector and a.collector.registry is REGISTRY
from litellm.proxy.types_utils.utils import get_instance_fn
proxy = get_instance_fn("app_instrumentation.integrations.litellm.proxy_callback")
assert isinstance(proxy, integration.LiteLLMCallback) and proxy.collector is a.collector
assert proxy is get_instance_fn("app_instrumentation.integrations.litellm.proxy_callback")
assert REGISTRY.get_sample_value("llm_router_instrumentation_errors_total", {"operation": "litellm_success_event"}) == 0
print("ok")
"""


def test_litellm_is_imported_only_by_the_integration_and_no_arg_callbacks_share_the_default_registry():
    done = subprocess.run([sys.executable, "-c", IMPORT_CHECK], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def test_deployment_failing_again_and_again_is_shown_cooling_down_until_it_answers():
    flaky = deployment("fast", "fast-a", "litellm.InternalServerError")
    allowed_fails, cooldown_time = 2, 60.0  # the Router's settings, given to the callback too
    router, callback, _, registry = setup([flaky, SMART], num_retries=0, allowed_fails=allowed_fails,
                                          cooldown_time=cooldown_time, callback_kwargs={
                                              "allowed_fails": allowed_fails, "cooldown_time": cooldown_time})

    def state():
        return {s for s in catalog.BACKEND_STATES if value(registry, catalog.BACKEND_STATE, backend="fast-a", state=s)}

    seen = []
    for i in range(allowed_fails + 1):  # more than allowed_fails: the Router stops sending it traffic
        with pytest.raises(litellm.InternalServerError):
            router.completion(model="fast", messages=MSGS)
        wait_events(callback, i + 1)
        seen.append((state(), value(registry, catalog.BACKEND_UP, backend="fast-a")))
    assert seen == [({"degraded"}, 1), ({"degraded"}, 1), ({"cooling_down"}, 0)]
    # The Router sends it nothing while it cools down, and tells no callback: with no new failure for
    # a few cooldown periods it is shown degraded (routable) again.
    now = callback.tracker.clock()
    callback.tracker.clock = lambda: now + 3 * cooldown_time - 1
    callback.tracker.settle(due_only=True)
    assert state() == {"cooling_down"}
    callback.tracker.clock = lambda: now + 3 * cooldown_time
    callback.tracker.settle(due_only=True)
    assert state() == {"degraded"} and value(registry, catalog.BACKEND_UP, backend="fast-a") == 1
    # Once it answers again it is healthy (a new Router: this one still has it in cooldown).
    litellm.Router(model_list=[deployment("fast", "fast-a", answer("back", 1, 1))]).completion(model="fast", messages=MSGS)
    wait_events(callback, 4)
    assert state() == {"healthy"}


def test_router_refusing_a_group_in_cooldown_is_a_failed_inference_the_caller_reports():
    a = deployment("fast", "fast-a", "litellm.RateLimitError")
    b = deployment("fast", "fast-b", "litellm.RateLimitError")
    router, callback, _, registry = setup([a, b, SMART], num_retries=0)
    refused = None
    for _ in range(3):  # a 429 cools a deployment down at once; then the Router refuses the group
        try:
            router.completion(model="fast", messages=MSGS, litellm_trace_id=f"t{_}")
        except litellm.RouterRateLimitError as exc:
            refused = exc
            callback.request_failed(exc, model="fast", trace_id=f"t{_}")
        except litellm.RateLimitError as exc:
            callback.request_failed(exc, model="fast", trace_id=f"t{_}")
    assert refused is not None and sorted(refused.cooldown_list) == ["fast-a", "fast-b"]
    wait_events(callback, 5)  # two failed attempts, three request failures
    callback.settle()  # LiteLLM may report an attempt after its caller saw the exception: don't wait for it
    assert inferences(registry, "fast", "error") == 3
    assert value(registry, catalog.ERRORS, type="backend_error", component="llm_router", severity="error") == 1
    assert value(registry, catalog.ERRORS, type="rate_limited", component="llm_router", severity="error") == 2
    for backend in ("fast-a", "fast-b"):
        assert value(registry, catalog.BACKEND_STATE, backend=backend, state="cooling_down") == 1
        assert value(registry, catalog.BACKEND_UP, backend=backend) == 0
    assert callback.settle() == 0


def test_callbacks_sharing_a_collector_count_once_and_separate_collectors_each_count():
    first = LiteLLMCallback(registry=CollectorRegistry(), settle_in_background=False)
    same = LiteLLMCallback(first.collector, settle_in_background=False)
    other = LiteLLMCallback(registry=CollectorRegistry(), settle_in_background=False)
    litellm.callbacks = [first, same, other]
    router = litellm.Router(model_list=[FAST])
    router.completion(model="fast", messages=MSGS)
    wait_events(first, 1)
    wait_events(other, 1)
    assert inferences(first.collector.registry, "fast", "success") == 1
    assert inferences(other.collector.registry, "fast", "success") == 1


def test_nothing_reached_for_the_network(offline):
    assert offline == []


OBSERVABILITY_CHECK = """
import os
os.environ["LLM_ROUTER_OBSERVABILITY"] = "true"
from app_instrumentation.integrations import litellm as integration
from app_instrumentation.logs import StructuredLogger
proxy = integration.proxy_callback
assert any(isinstance(o, StructuredLogger) for o in proxy.observers), list(proxy.observers)
print("ok")
"""


def test_proxy_callback_adds_logs_and_traces_when_asked_by_the_environment():
    done = subprocess.run([sys.executable, "-c", OBSERVABILITY_CHECK], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "OTEL_SDK_DISABLED": "true"})
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
