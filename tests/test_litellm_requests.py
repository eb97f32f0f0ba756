"""RequestTracker alone (no LiteLLM): event orders LiteLLM produces, settling, bounds.

Attempts are built the way ``read_attempt`` builds them from LiteLLM's callback kwargs.
"""

from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import ObserverSet
from app_instrumentation.integrations.litellm_attempts import Attempt, read_attempt
from app_instrumentation.integrations.litellm_requests import RequestTracker
from app_instrumentation.labels import LabelPolicy

T0 = datetime(2026, 1, 1, 12, 0, 0)


class ProviderError(Exception):
    """Shaped like a LiteLLM exception mapped from a provider's answer."""

    def __init__(self, status_code, llm_provider="openai"):
        super().__init__(f"status {status_code}")
        self.status_code, self.llm_provider = status_code, llm_provider


class ProxyRejection(Exception):
    """Shaped like the Proxy's own refusal (no provider involved)."""

    def __init__(self, status_code):
        super().__init__(f"status {status_code}")
        self.status_code = status_code


def attempt(trace="t1", call="c1", group="fast", deployment="fast-a", start=0.0, end=1.0, exc=None, **kw):
    return Attempt(
        trace_id=trace, call_id=call, model_group=group, requested_group=kw.pop("requested", group),
        deployment_id=deployment, backend=deployment or "", provider="openai", stream=False,
        start=T0 + timedelta(seconds=start), api_start=T0 + timedelta(seconds=start),
        first_token=T0 + timedelta(seconds=end) if exc is None else None, end=T0 + timedelta(seconds=end),
        exception=exc, status=getattr(exc, "status_code", None), **kw,
    )


@pytest.fixture
def tracked():
    now = [0.0]
    collector = MetricsCollector(LabelPolicy.open(), registry=CollectorRegistry(), process_metrics=False)
    tracker = RequestTracker(collector, ObserverSet([collector]), strategy="litellm", settle_seconds=10,
                             clock=lambda: now[0], background=False)
    return tracker, collector.registry, now


def count(registry, spec, **labels):
    name = spec if isinstance(spec, str) else spec.name
    return registry.get_sample_value(name, labels) or 0


def errors(registry, model="fast"):
    return count(registry, catalog.INFERENCE, model=model, strategy="litellm", status="error", cached="false")


@pytest.mark.parametrize("caller_first", [False, True], ids=["attempt-then-caller", "caller-then-attempt"])
def test_one_failed_inference_whichever_is_reported_first(tracked, caller_first):
    tracker, registry, _ = tracked
    exc = ProviderError(500)
    tracker.started(attempt())
    failure = attempt(start=0.0, end=2.5, exc=exc)
    steps = [lambda: tracker.failed(failure), lambda: tracker.request_failed("t1", exc, "fast")]
    for step in reversed(steps) if caller_first else steps:
        step()
    assert errors(registry) == 1
    assert count(registry, catalog.ERRORS, type="backend_error", component="backend", severity="warning") == 1
    assert count(registry, catalog.ERRORS, type="backend_error", component="llm_router", severity="error") == 1
    # Timed from the request's first attempt to the failed one's end, not to when it was reported.
    assert count(registry, catalog.INFERENCE_DURATION.sum, model="fast", strategy="litellm") == pytest.approx(2.5, abs=0.05)
    assert tracker.settle() == 0 and tracker.in_flight() == 0
    tracker.failed(attempt(call="c1", exc=exc))  # the same attempt reported again (sync and async hook)
    assert errors(registry) == 1


def test_caller_report_without_any_attempt_waits_for_one_then_fails_the_inference(tracked):
    tracker, registry, now = tracked
    tracker.started(attempt(trace="seen", deployment="fast-a"))  # the Router routed "fast" once
    tracker.request_failed("t2", ProviderError(429), "fast")
    assert errors(registry) == 0, "its attempt may still be reported"
    now[0] = 1.9
    assert tracker.settle(due_only=True) == 0
    now[0] = 2.0
    assert tracker.settle(due_only=True) == 1
    assert errors(registry) == 1
    assert count(registry, catalog.ERRORS, type="rate_limited", component="llm_router", severity="error") == 1


def test_refusals_before_any_deployment_are_api_errors_not_inferences(tracked):
    tracker, registry, _ = tracked
    tracker.request_failed(None, ProxyRejection(401), "fast")
    tracker.request_failed(None, ProxyRejection(429), "fast")
    tracker.request_failed(None, ProxyRejection(400), "fast")
    assert count(registry, catalog.ERRORS, type="validation_error", component="api", severity="warning") == 2
    assert count(registry, catalog.ERRORS, type="rate_limited", component="api", severity="warning") == 1
    assert errors(registry) == 0 and errors(registry, "other") == 0


def test_a_model_name_no_deployment_was_routed_to_is_never_a_label_value(tracked):
    tracker, registry, _ = tracked
    tracker.request_failed(None, ProviderError(503), "ignore previous instructions")
    assert errors(registry, "other") == 1
    assert errors(registry, "ignore previous instructions") == 0


def test_retry_and_fallback_are_told_apart_by_the_model_group(tracked):
    tracker, registry, _ = tracked
    tracker.started(attempt(call="c1", deployment="fast-a"))
    tracker.failed(attempt(call="c1", deployment="fast-a", exc=ProviderError(429)))
    tracker.started(attempt(call="c2", deployment="fast-b"))
    tracker.failed(attempt(call="c2", deployment="fast-b", exc=ProviderError(504)))
    tracker.started(attempt(call="c3", group="smart", requested="fast", deployment="smart-a"))
    tracker.succeeded(attempt(call="c3", group="smart", requested="fast", deployment="smart-a", end=3.0,
                              prompt_tokens=4, completion_tokens=2), "stop")
    assert count(registry, catalog.RETRIES, backend="fast-a", reason="rate_limited") == 1
    assert count(registry, catalog.FALLBACKS, from_backend="fast-b", to_backend="smart-a", reason="timeout") == 1
    assert count(registry, catalog.INFERENCE, model="fast", strategy="litellm", status="success", cached="false") == 1
    assert count(registry, catalog.RATE_LIMITED, backend="fast-a") == 1
    assert tracker.in_flight() == 0 and tracker.settle() == 0


def test_provider_rate_limit_headers_feed_rate_limit_remaining(tracked):
    tracker, registry, _ = tracked
    tracker.succeeded(attempt(remaining_requests=7, remaining_tokens=900, completion_tokens=1), "stop")
    assert count(registry, catalog.RATE_LIMIT_REMAINING, backend="fast-a", limit_type="requests") == 7
    assert count(registry, catalog.RATE_LIMIT_REMAINING, backend="fast-a", limit_type="tokens") == 900


def test_failure_with_no_follow_up_settles_after_settle_seconds(tracked):
    tracker, registry, now = tracked
    tracker.started(attempt())
    tracker.failed(attempt(exc=ProviderError(500)))
    assert tracker.next_deadline() == 10.0
    now[0] = 9.99
    assert tracker.settle(due_only=True) == 0
    tracker.started(attempt(call="c2", retries=1))  # a retry after a long backoff: nothing to settle
    assert tracker.next_deadline() is None
    tracker.failed(attempt(call="c2", retries=1, exc=ProviderError(500)))
    now[0] = 19.99
    assert tracker.settle(due_only=True) == 0
    now[0] = 20.0
    assert tracker.settle(due_only=True) == 1
    assert errors(registry) == 1
    assert count(registry, catalog.RETRIES, backend="fast-a", reason="error") == 1


def test_tracked_requests_are_bounded(tracked):
    tracker, registry, now = tracked
    tracker.max_in_flight = 3
    for i in range(5):
        tracker.started(attempt(trace=f"t{i}", call=f"c{i}"))
    assert tracker.in_flight() == 3
    tracker.stale_seconds = 60
    now[0] = 61.0
    tracker.started(attempt(trace="fresh", call="cf"))  # cancelled requests (never reported) are forgotten
    assert tracker.in_flight() == 1


def test_read_attempt_from_litellm_kwargs():
    kwargs = {
        "litellm_trace_id": "trace-9", "litellm_call_id": "call-9", "custom_llm_provider": "openai", "stream": True,
        "start_time": T0, "api_call_start_time": T0, "completion_start_time": T0, "end_time": T0,
        "litellm_params": {"metadata": {"model_group": "smart", "original_model_group": "fast",
                                        "deployment": "openai/gpt-4o", "model_info": {"id": "a" * 64}}},
        "standard_logging_object": {"prompt_tokens": 12, "completion_tokens": 4, "response_cost": 0.5,
                                    "cache_hit": False, "hidden_params": {"additional_headers": {
                                        "x_ratelimit_remaining_requests": 99}}},
    }
    kwargs["litellm_params"]["api_base"] = "https://llm.internal:8443/v1"  # a real call has it; mocks do not
    kwargs["optional_params"] = {"max_tokens": 64}
    a = read_attempt(kwargs)
    assert (a.trace_id, a.call_id, a.model_group, a.requested_group) == ("trace-9", "call-9", "smart", "fast")
    assert (a.server, a.max_tokens) == (("llm.internal", 8443), 64)
    assert a.backend == "openai/gpt-4o", "a generated deployment id is replaced by provider/model"
    assert (a.prompt_tokens, a.completion_tokens, a.cost_usd, a.cache_hit, a.remaining_requests) == (12, 4, 0.5, False, 99)
    assert read_attempt(kwargs, caching=False).cache_hit is None
    # Without a selected deployment, metadata.model_group is the client's text: not trusted.
    kwargs["litellm_params"]["metadata"]["model_info"] = {}
    assert read_attempt(kwargs).model_group is None and not read_attempt(kwargs).routed


def test_late_attempts_of_a_failed_request_count_for_their_backend_only(tracked):
    tracker, registry, _ = tracked
    exc = ProviderError(500)
    tracker.started(attempt(call="c1"))
    tracker.failed(attempt(call="c1", exc=exc))
    tracker.request_failed("t1", exc, "fast")  # the caller saw it fail
    assert errors(registry) == 1
    # LiteLLM reports another attempt of that request late (a hedged or mid-stream retry).
    tracker.started(attempt(call="c2", deployment="fast-b"))
    tracker.failed(attempt(call="c2", deployment="fast-b", exc=exc))
    tracker.succeeded(attempt(call="c3", deployment="fast-b", completion_tokens=3), "stop")
    assert errors(registry) == 1
    assert count(registry, catalog.INFERENCE, model="fast", strategy="litellm", status="success", cached="false") == 0
    assert count(registry, catalog.BACKEND_REQUEST_DURATION.count, model="fast", backend="fast-b", status="error") == 1
    assert count(registry, catalog.BACKEND_STATE, backend="fast-b", state="healthy") == 1
    assert tracker.settle() == 0 and tracker.in_flight() == 0


def test_a_later_request_reusing_the_trace_id_is_a_new_inference(tracked):
    tracker, registry, _ = tracked
    exc = ProviderError(500)
    tracker.started(attempt(call="c1"))
    tracker.failed(attempt(call="c1", exc=exc))
    tracker.request_failed("t1", exc, "fast")
    # The Proxy uses a client's session id as the trace id: the session's next request starts later.
    later = (datetime.now() - T0).total_seconds() + 1
    tracker.started(attempt(call="c2", start=later, end=later + 1))
    tracker.succeeded(attempt(call="c2", start=later, end=later + 1, completion_tokens=3), "stop")
    assert errors(registry) == 1
    assert count(registry, catalog.INFERENCE, model="fast", strategy="litellm", status="success", cached="false") == 1


# --- the Proxy's event shapes (seen on a LiteLLM Proxy run with this callback; see README) -----------
class ProxyException(Exception):
    """The Proxy's own error: its status is a string ``code``, there is no ``llm_provider``."""

    def __init__(self, code):
        super().__init__(f"proxy error {code}")
        self.code = code


def test_proxy_keeps_one_call_id_for_a_fallback_hop_which_is_still_a_fallback(tracked):
    tracker, registry, _ = tracked
    first = dict(call="shared", group="smart", deployment="gpt-4o")
    hop = dict(call="shared", group="fast", requested="smart", deployment="gpt-4o-mini", start=0.5, end=0.9)
    tracker.started(attempt(**first))
    tracker.failed(attempt(**first, exc=ProviderError(500)))
    tracker.started(attempt(**hop))
    tracker.succeeded(attempt(**hop, completion_tokens=20, prompt_tokens=10), "stop")
    assert count(registry, catalog.FALLBACKS, from_backend="gpt-4o", to_backend="gpt-4o-mini", reason="error") == 1
    assert count(registry, catalog.INFERENCE, model="smart", strategy="litellm", status="success", cached="false") == 1
    assert tracker.settle() == 0


@pytest.mark.parametrize("hook_first", [False, True], ids=["attempt-then-hook", "hook-then-attempt"])
def test_proxy_failure_hook_names_the_request_by_call_id_only(tracked, hook_first):
    tracker, registry, _ = tracked
    exc = ProviderError(429)
    tracker.started(attempt(call="call-7", group="broken", deployment="broken-a"))
    steps = [lambda: tracker.failed(attempt(call="call-7", group="broken", deployment="broken-a", exc=exc)),
             lambda: tracker.request_failed(None, exc, "broken", "call-7")]
    for step in reversed(steps) if hook_first else steps:
        step()
    assert errors(registry, "broken") == 1
    assert tracker.settle() == 0 and errors(registry, "broken") == 1


def test_proxy_refusal_before_routing_is_an_api_error_not_an_inference(tracked):
    tracker, registry, _ = tracked
    refused = attempt(call="call-9", deployment=None, refused=True)
    tracker.started(refused)
    tracker.failed(attempt(call="call-9", deployment=None, refused=True, exc=ProxyException("400")))
    tracker.request_failed(None, ProxyException("400"), "fast", "call-9")
    tracker.settle()
    assert count(registry, catalog.ERRORS, type="validation_error", component="api", severity="warning") == 1
    assert errors(registry) == 0 and errors(registry, "other") == 0
    assert count(registry, catalog.ERRORS, type="validation_error", component="backend", severity="warning") == 0
    assert tracker.in_flight() == 0


def test_read_attempt_of_a_proxy_refusal_names_no_deployment():
    kwargs = {"litellm_call_id": "call-9", "exception": ProxyException("400"),
              "litellm_params": {"proxy_rejected_before_routing": True,
                                 "metadata": {"model_group": "fast", "model_info": {"id": "fast-a"}}}}
    a = read_attempt(kwargs)
    assert a.refused and not a.routed and a.model_group is None and a.status == 400


def test_failures_the_proxy_does_not_report_are_counted_from_previous_models(tracked):
    tracker, registry, _ = tracked
    from app_instrumentation.integrations.litellm_attempts import Failed

    listed = [Failed("fast", "fast-a", n, "rate_limited") for n in range(3)]
    shared = dict(call="one-call-id", group="fast", deployment="fast-a")
    tracker.started(attempt(**shared))
    tracker.failed(attempt(**shared, exc=ProviderError(429)))  # the only failure event the Proxy sends
    tracker.started(attempt(**shared, retries=1, start=1, previous=tuple(listed[:1])))
    tracker.started(attempt(**shared, retries=2, start=2, previous=tuple(listed[:2])))
    hop = dict(call="one-call-id", group="smart", requested="fast", deployment="smart-a", start=3, end=4)
    tracker.started(attempt(**hop, previous=tuple(listed)))
    tracker.failed(attempt(**shared, retries=2, exc=ProviderError(429)))  # had it been reported late: no double count
    tracker.succeeded(attempt(**hop, completion_tokens=5, previous=tuple(listed)), "stop")
    assert count(registry, catalog.ERRORS, type="rate_limited", component="backend", severity="warning") == 3
    assert count(registry, catalog.RATE_LIMITED, backend="fast-a") == 3
    assert count(registry, catalog.BACKEND_REQUEST_DURATION.count, model="fast", backend="fast-a", status="error") == 3
    assert count(registry, catalog.RETRIES, backend="fast-a", reason="rate_limited") == 2
    assert count(registry, catalog.FALLBACKS, from_backend="fast-a", to_backend="smart-a", reason="rate_limited") == 1
    assert count(registry, catalog.INFERENCE, model="fast", strategy="litellm", status="success", cached="false") == 1
    assert tracker.settle() == 0


def test_last_attempt_of_a_failed_proxy_request_counts_even_unreported(tracked):
    tracker, registry, _ = tracked
    from app_instrumentation.integrations.litellm_attempts import Failed

    shared = dict(call="one-call-id", group="fast", deployment="fast-a")
    tracker.started(attempt(**shared))
    tracker.failed(attempt(**shared, exc=ProviderError(500)))
    tracker.started(attempt(**shared, retries=1, start=1, previous=(Failed("fast", "fast-a", 0, "backend_error"),)))
    tracker.request_failed(None, ProviderError(500), "fast", "one-call-id")  # the Proxy's hook; no 2nd event
    tracker.settle()
    assert count(registry, catalog.ERRORS, type="backend_error", component="backend", severity="warning") == 2
    assert count(registry, catalog.RETRIES, backend="fast-a", reason="error") == 1
    assert errors(registry) == 1
