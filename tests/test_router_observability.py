"""The example router feeds its logger what a real router would: model lifecycle and prompt text."""

import json
import re

import pytest
from starlette.testclient import TestClient

from app_instrumentation import logs_fields as F
from app_instrumentation.logs import LogConfig
from app_instrumentation.logs_fields import Action
from app_instrumentation.logs_wiring import Observability
from llmmon.example_router.app import create_app
from llmmon.example_router.config import RouterConfig
from tests.test_logs_support import CaptureSink, leaf

PROMPT = "tell me a secret recipe " * 10


def _run(**log_config):
    sink = CaptureSink()
    obs = Observability(LogConfig(**log_config), None, sink=sink, environ={})
    app = create_app(RouterConfig(seed=3), observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    with TestClient(app) as client:
        response = client.post("/api/generate", json={"prompt": PROMPT, "model": "llama-3-8b", "max_tokens": 8})
        assert response.status_code == 200, response.text
    obs.shutdown()
    return sink.events()


def test_model_loads_at_startup_are_logged_and_counted():
    events = _run()
    loaded = {leaf(e, F.MODEL_NAME.path) for e in events if leaf(e, "event.action") == Action.MODEL_LOAD}
    assert {m.name for m in RouterConfig().models} <= loaded


@pytest.mark.parametrize("capture", [False, True])
def test_prompt_and_completion_only_logged_when_enabled(capture):
    events = _run(capture_prompts=capture, prompt_max_chars=20)
    complete = [e for e in events if leaf(e, "event.action") == Action.INFERENCE_COMPLETE]
    assert complete
    prompts = [leaf(e, F.INFERENCE_PROMPT.path) for e in events if leaf(e, F.INFERENCE_PROMPT.path)]
    completions = [leaf(e, F.INFERENCE_COMPLETION.path) for e in complete if leaf(e, F.INFERENCE_COMPLETION.path)]
    if capture:
        assert prompts and all(p.startswith(PROMPT[:20]) and PROMPT[:21] not in p for p in prompts), prompts
        assert completions
    else:
        assert not prompts and not completions
        assert all(PROMPT[:20] not in str(e) for e in events)


def _served(requests, **log_config):
    """Run ``requests(client)`` against the example router with the real logger; returns (result, lines)."""
    sink = CaptureSink()
    obs = Observability(LogConfig(**log_config), None, sink=sink, environ={})
    app = create_app(RouterConfig(seed=5), observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    with TestClient(app) as client:
        result = requests(client)
    obs.shutdown()
    return result, sink.events()


def test_at_most_two_lines_per_successful_inference_at_the_default_level():
    """The access line and one inference line, for a plain, a streaming and a cached inference."""
    body = {"prompt": "count my lines", "model": "llama-3-8b", "max_tokens": 8}
    ids = ["plain-1", "stream-1", "cached-1"]

    def requests(client):
        for request_id, extra in zip(ids, ({}, {"stream": True, "prompt": "stream my lines"}, {}), strict=True):
            response = client.post("/api/generate", json={**body, **extra}, headers={"x-request-id": request_id})
            assert response.status_code == 200
        return None

    _, lines = _served(requests)
    for request_id in ids:
        mine = [e for e in lines if leaf(e, "http.request.id") == request_id]
        assert sorted(leaf(e, "event.action") for e in mine) == ["http_request", "inference_complete"], request_id


def test_x_request_id_is_accepted_generated_echoed_and_on_every_line():
    def requests(client):
        given = client.post("/api/generate", json={"prompt": "hi"}, headers={"x-request-id": "abc-123"})
        generated = client.post("/api/generate", json={"prompt": "hello"})
        hostile = client.get("/health/live", headers={"x-request-id": 'x" injected\\n' + "y" * 300})
        return given, generated, hostile

    (given, generated, hostile), lines = _served(requests)
    assert given.headers["x-request-id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"]), "an invalid id is replaced, not echoed"
    for request_id in ("abc-123", generated.headers["x-request-id"]):
        actions = {leaf(e, "event.action") for e in lines if leaf(e, "http.request.id") == request_id}
        assert actions == {"http_request", "inference_complete"}
    assert not any(leaf(e, "http.request.id") for e in lines if leaf(e, "event.action") == "model_load"), (
        "lines outside a request carry no request id")


def test_debug_endpoint_is_off_unless_configured():
    app = create_app(RouterConfig(seed=1))
    with TestClient(app) as client:
        assert client.get("/debug").status_code == 404


def test_debug_endpoint_shows_the_seed_sections_and_no_secret():
    app = create_app(RouterConfig(seed=1, debug_endpoint=True))
    with TestClient(app) as client:
        client.post("/admin/faults", json={"outage": ["*"]})
        assert client.post("/api/generate", json={"prompt": "x"}).status_code >= 500
        app.recent_errors.record(RuntimeError("upstream said: Authorization: Bearer sk-live-abcdef"),
                                 {"api_key": "sk-live-abcdef"})
        report = client.get("/debug").json()
    assert {"process", "config", "models", "queue", "cache", "recent_errors", "backends"} <= set(report)
    assert report["process"]["pid"] > 0 and report["process"]["uptime_seconds"] >= 0
    assert set(report["models"]) == {m.name for m in RouterConfig().models}
    assert report["config"]["debug_endpoint"] is True and report["queue"]["max_concurrency"] > 0
    codes = [e["code"] for e in report["recent_errors"]]
    assert "backend_error" in codes, codes
    assert "sk-live-abcdef" not in json.dumps(report), "secrets are redacted in every section"


def test_health_reports_uptime_version_and_environment(monkeypatch):
    monkeypatch.setenv("SERVICE_VERSION", "9.8.7")
    monkeypatch.setenv("DEPLOYMENT_ENVIRONMENT", "staging")
    app = create_app(RouterConfig(seed=1))
    with TestClient(app) as client:
        report = client.get("/health").json()
    assert report["version"] == "9.8.7" and report["environment"] == "staging"
    assert report["uptime_seconds"] > 0
