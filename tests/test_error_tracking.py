"""Error tracking: fixed types, stable fingerprints, errors_total, Sentry envelopes only with a DSN."""

import json

import pytest
from prometheus_client import CollectorRegistry

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.error_tracking import (
    Dsn,
    ErrorTracker,
    SentryReporter,
    reporter_from_env,
)
from app_instrumentation.errors import classify, fingerprint
from app_instrumentation.logs_fields import Stream
from tests.test_logs_support import capture_logger, http_receiver, leaf


def _fail(detail):
    def inner():
        raise TimeoutError(f"backend timed out after {detail}s")

    inner()


def _other_site():
    raise TimeoutError("backend timed out after 1s")


def _caught(fn, *args):
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("did not raise")


def test_fingerprint_is_stable_per_site_not_per_message():
    a, b = _caught(_fail, 1.5), _caught(_fail, 30)
    assert fingerprint(a) == fingerprint(b), "message details do not split a group"
    assert fingerprint(a) != fingerprint(_caught(_other_site)), "a different site is a different group"
    assert len(fingerprint(a)) == 32


def test_fingerprint_ignores_line_numbers():
    source = "def f():\n{pad}    raise KeyError('k')\n"
    keys = []
    for pad in ("", "\n\n\n"):
        namespace = {"__name__": "mod"}
        exec(compile(source.format(pad=pad), "mod.py", "exec"), namespace)  # noqa: S102 - same code, shifted lines
        keys.append(fingerprint(_caught(namespace["f"])))
    assert keys[0] == keys[1]


class RateLimitError(Exception):
    pass


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TimeoutError(), "backend_timeout"),
        (RateLimitError(), "rate_limited"),
        (ValueError(), "validation_error"),
        (ConnectionResetError(), "backend_error"),
        (KeyError(), "internal_error"),
        (type("Custom", (Exception,), {"error_type": "cache_error"})(), "cache_error"),
        (type("Custom", (Exception,), {"error_type": "made_up"})(), "internal_error"),
    ],
)
def test_classify_uses_the_fixed_catalog_types(exc, expected):
    assert classify(exc) == expected
    assert classify(exc) in catalog.ERROR_TYPES


def test_capture_counts_logs_and_fingerprints():
    registry = CollectorRegistry()
    collector = MetricsCollector(registry=registry, process_metrics=False)
    logger, sink = capture_logger()
    tracker = ErrorTracker(logger, count=collector.error)
    key = tracker.capture(_caught(_fail, 2), component="backend", severity="critical")
    logger.shutdown()
    value = registry.get_sample_value(
        catalog.ERRORS.name, {"type": "backend_timeout", "component": "backend", "severity": "critical"}
    )
    assert value == 1.0
    (line,) = sink.events(Stream.ERROR)
    assert leaf(line, "llm_router.error.grouping_key") == key and leaf(line, "error.code") == "backend_timeout"
    assert "_fail" in leaf(line, "error.stack_trace")


def test_inference_errors_are_not_counted_twice():
    """The MetricsCollector counts inference failures; the tracker as an observer only reports them."""
    from app_instrumentation.events import InferenceContext

    counted = []
    tracker = ErrorTracker(count=lambda *labels: counted.append(labels))
    tracker.on_error(InferenceContext("llama-3-8b", "quick"), _caught(_fail, 1))
    assert counted == []


def test_no_dsn_sends_nothing():
    assert reporter_from_env("dev", "1", {}) is None
    assert reporter_from_env("dev", "1", {"SENTRY_DSN": "  "}) is None
    tracker = ErrorTracker()
    tracker.capture(ValueError("x"))  # neither logger, counter nor reporter: nothing happens, nothing fails


def test_dsn_parsing():
    dsn = Dsn.parse("https://abc123@sentry.example:9000/prefix/42")
    assert dsn.envelope_url == "https://sentry.example:9000/prefix/api/42/envelope/"
    assert "sentry_key=abc123" in dsn.auth_header
    with pytest.raises(ValueError, match="invalid Sentry DSN"):
        Dsn.parse("https://sentry.example/42")


def test_sentry_envelope_reaches_a_local_receiver():
    with http_receiver() as receiver:
        host_port = receiver.url.removeprefix("http://")
        reporter = SentryReporter(f"http://publickey@{host_port}/7", "staging", "1.2.3")
        tracker = ErrorTracker(reporter=reporter)
        exc = _caught(_fail, 3)
        exc.args = ("backend said Authorization: Bearer sk-secret-1",)
        key = tracker.capture(exc, component="backend")
        assert reporter.shutdown(timeout=10)
        assert receiver.got_one.wait(10)
    (request,) = receiver.requests
    assert request.path == "/api/7/envelope/"
    assert request.headers["content-type"] == "application/x-sentry-envelope"
    assert "sentry_key=publickey" in request.headers["x-sentry-auth"]
    header, item, payload = (json.loads(line) for line in request.body.decode().strip().split("\n"))
    assert item["type"] == "event" and item["length"] == len(request.body.decode().strip().split("\n")[2])
    assert header["event_id"] == payload["event_id"]
    assert payload["fingerprint"] == [key] and payload["environment"] == "staging" and payload["release"] == "1.2.3"
    value = payload["exception"]["values"][0]
    assert value["type"] == "TimeoutError" and value["stacktrace"]["frames"][-1]["function"] == "inner"
    assert "sk-secret-1" not in request.body.decode()


def test_unhandled_request_exception_is_counted_logged_and_reraised():
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app_instrumentation.error_tracking import ErrorTrackingMiddleware

    async def boom(request):
        raise KeyError("missing")

    registry = CollectorRegistry()
    collector = MetricsCollector(registry=registry, process_metrics=False)
    logger, sink = capture_logger()
    app = ErrorTrackingMiddleware(Starlette(routes=[Route("/boom", boom)]), ErrorTracker(logger, count=collector.error))
    assert TestClient(app, raise_server_exceptions=False).get("/boom").status_code == 500
    logger.shutdown()
    labels = {"type": "internal_error", "component": "http", "severity": "error"}
    assert registry.get_sample_value(catalog.ERRORS.name, labels) == 1.0
    (line,) = sink.events(Stream.ERROR)
    assert leaf(line, "error.type") == "KeyError" and "boom" in leaf(line, "error.stack_trace")


def test_request_exception_is_reraised_to_the_server():
    """The tracker observes; the server still sees the exception (its own 500 handling and logs)."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app_instrumentation.error_tracking import ErrorTrackingMiddleware

    async def boom(request):
        raise KeyError("missing")

    counted = []
    tracker = ErrorTracker(count=lambda *labels: counted.append(labels))
    app = ErrorTrackingMiddleware(Starlette(routes=[Route("/boom", boom)]), tracker)
    with pytest.raises(KeyError, match="missing"):
        TestClient(app).get("/boom")
    assert counted == [("internal_error", "http", "error")]
