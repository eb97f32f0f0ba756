"""The example router in-process: API validation, streaming, cache, faults, fallback, queue, config."""

import asyncio
import json
import subprocess
import sys

import httpx
import pytest

from app_instrumentation import catalog
from llmmon.example_router.app import create_app
from llmmon.example_router.config import BackendConfig, ConfigError, ModelConfig, RouterConfig, load_config

FAST = dict(latency_ms=1, tokens_per_second=100000)


def fast_config(**overrides):
    base = dict(
        models=(ModelConfig("m1", "gguf", 2e9, load_seconds=0), ModelConfig("m2", "api", 0, load_seconds=0)),
        backends=(BackendConfig("a", **FAST), BackendConfig("b", **FAST)),
        strategies={"quick": ("a", "b"), "balanced": ("b", "a")},
        default_strategy="quick",
        seed=7,
    )
    return RouterConfig(**{**base, **overrides})


def scenario(config, steps):
    """Run ``steps(client, app)`` against the app with its lifespan started."""
    app = create_app(config)

    async def run():
        async with app.starlette.router.lifespan_context(app.starlette):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                return await steps(client, app)

    return asyncio.run(run()), app


def value(app, name, **labels):
    return app.collector.registry.get_sample_value(name, labels)


@pytest.mark.parametrize("body, field, status", [
    ({}, "prompt", 422),
    ({"prompt": "   "}, "prompt", 422),
    ({"prompt": "hi", "model": "gpt-9"}, "model", 422),
    ({"prompt": "hi", "strategy": "cheapest"}, "strategy", 422),
    ({"prompt": "hi", "max_tokens": 0}, "max_tokens", 422),
    ({"prompt": "hi", "max_tokens": "many"}, "max_tokens", 422),
    ({"prompt": "hi", "stream": "yes"}, "stream", 422),
    ({"prompt": "hi", "temperature": 2}, "temperature", 422),
    ([1, 2], "body", 400),
])
def test_invalid_bodies_get_a_4xx_json_error_naming_the_field(body, field, status):
    async def steps(client, app):
        return await client.post("/api/generate", json=body)

    response, app = scenario(fast_config(), steps)
    assert response.status_code == status
    assert response.json()["error"]["field"] == field
    assert value(app, catalog.ERRORS.name, type="validation_error", component="api", severity="warning") == 1


def test_malformed_json_is_a_400():
    async def steps(client, app):
        return await client.post("/api/generate", content=b"{oops", headers={"content-type": "application/json"})

    response, _ = scenario(fast_config(), steps)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "validation_error"


def test_generate_then_cache_hit():
    async def steps(client, app):
        body = {"prompt": "hello", "model": "m1", "max_tokens": 8}
        return [(await client.post("/api/generate", json=body)).json() for _ in range(2)]

    (first, second), app = scenario(fast_config(), steps)
    assert (first["cached"], second["cached"]) == (False, True)
    assert first["text"] == second["text"] and first["backend"] == "a"
    assert value(app, catalog.CACHE_HITS.name, cache_type="response") == 1
    assert value(app, catalog.CACHE_MISSES.name, cache_type="response") == 1
    assert value(app, catalog.INFERENCE.name, model="m1", strategy="quick", status="success", cached="true") == 1
    assert value(app, catalog.TOKENS.name, model="m1", backend="a", token_type="output") == first["usage"]["output_tokens"]


def test_streaming_is_server_sent_events():
    async def steps(client, app):
        return await client.post("/api/generate", json={"prompt": "tell", "model": "m2", "max_tokens": 16, "stream": True})

    response, app = scenario(fast_config(), steps)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[len("data: "):]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["done"] is True
    assert "".join(e["text"] for e in events[:-1]).strip()
    assert value(app, catalog.CONNECTION_DURATION.count, type="stream", protocol="http/1.1") == 1
    assert value(app, catalog.TIME_TO_FIRST_TOKEN.count, model="m2", backend="a") == 1


def test_outage_falls_back_then_everything_down_is_an_error():
    async def steps(client, app):
        await client.post("/admin/faults", json={"outage": ["a"]})
        fallback = await client.post("/api/generate", json={"prompt": "x", "model": "m1"})
        await client.post("/admin/faults", json={"outage": ["*"]})
        failed = await client.post("/api/generate", json={"prompt": "y", "model": "m1"})
        await client.delete("/admin/faults")
        recovered = await client.post("/api/generate", json={"prompt": "z", "model": "m1"})
        return fallback, failed, recovered

    (fallback, failed, recovered), app = scenario(fast_config(), steps)
    assert fallback.status_code == 200 and fallback.json()["backend"] == "b"
    assert failed.status_code == 502
    assert recovered.json()["backend"] == "a"
    assert value(app, catalog.FALLBACKS.name, from_backend="a", to_backend="b", reason="unavailable") == 2
    assert value(app, catalog.INFERENCE.name, model="m1", strategy="quick", status="error", cached="false") == 1
    assert value(app, catalog.BACKEND_UP.name, backend="a") == 1


def test_errors_are_retried_and_rate_limits_fall_back():
    config = fast_config(backends=(BackendConfig("a", error_rate=1.0, **FAST), BackendConfig("b", rate_limit_rpm=1, **FAST)),
                         max_retries=2, breaker_failures=100)

    async def steps(client, app):
        return [await client.post("/api/generate", json={"prompt": f"p{i}", "model": "m1"}) for i in range(2)]

    (first, second), app = scenario(config, steps)
    assert first.status_code == 200 and first.json()["backend"] == "b"
    assert second.status_code == 429  # a failed, b's one request per minute is used up
    assert value(app, catalog.RETRIES.name, backend="a", reason="error") == 4
    assert value(app, catalog.RATE_LIMITED.name, backend="b") == 1
    assert value(app, catalog.RATE_LIMIT_REMAINING.name, backend="b", limit_type="requests") == pytest.approx(0, abs=0.1)
    assert value(app, catalog.BACKEND_REQUEST_DURATION.count, model="m1", backend="a", status="error") == 6


def test_faults_endpoint_validates_and_round_trips():
    async def steps(client, app):
        bad = [await client.post("/admin/faults", json=b) for b in
               ({"error_rate": 2}, {"outage": ["nope"]}, {"colour": "red"}, {"not_ready": "yes"})]
        ok = await client.post("/admin/faults", json={"error_rate": 0.5, "latency_ms": 10, "backends": ["b"]})
        shown = await client.get("/admin/faults")
        return bad, ok, shown

    (bad, ok, shown), _ = scenario(fast_config(), steps)
    assert [r.status_code for r in bad] == [400] * 4
    assert "error_rate" in bad[0].json()["error"]["message"]
    assert ok.status_code == 200
    assert shown.json()["backends"]["b"] == {"error_rate": 0.5, "latency_ms": 10.0, "outage": False,
                                             "rate_limit_exhausted": False}
    assert shown.json()["backends"]["a"]["error_rate"] == 0


def test_health_follows_faults_degraded_then_critical():
    async def steps(client, app):
        app.monitoring.health_max_age = 0  # no report reuse: every request runs the checks
        statuses = [(await client.get("/health")).json()["status"]]
        await client.post("/admin/faults", json={"cache_broken": True})
        statuses.append((await client.get("/health")).json()["status"])
        await client.post("/admin/faults", json={"not_ready": True})
        ready = await client.get("/health/ready")
        statuses.append(ready.json()["status"])
        return statuses, ready.status_code

    (statuses, ready_code), _ = scenario(fast_config(), steps)
    assert statuses == ["healthy", "degraded", "critical"]
    assert ready_code == 503


def test_queue_full_is_a_503():
    config = fast_config(max_concurrency=1, queue_max_waiting=0,
                         backends=(BackendConfig("a", latency_ms=200, tokens_per_second=100000), BackendConfig("b", **FAST)))

    async def steps(client, app):
        return await asyncio.gather(*(client.post("/api/generate", json={"prompt": f"q{i}", "model": "m1"}) for i in range(3)))

    responses, app = scenario(config, steps)
    assert sorted(r.status_code for r in responses) == [200, 503, 503]
    assert value(app, catalog.ERRORS.name, type="queue_full", component="llm_router", severity="error") == 2


def test_config_file_errors_name_the_key(tmp_path):
    path = tmp_path / "router.toml"
    path.write_text('[[backends]]\nname = "x"\nerror_rate = "high"\n')
    with pytest.raises(ConfigError, match=r"backends\[0\]\.error_rate"):
        load_config(path)
    path.write_text('colour = "red"\n')
    with pytest.raises(ConfigError, match="unknown keys"):
        load_config(path)
    path.write_text('default_strategy = "quick"\nmax_tokens_limit = 100\n[strategies]\nquick = ["vllm"]\n')
    assert load_config(path).max_tokens_limit == 100


def test_router_command_help_is_useful():
    proc = subprocess.run([sys.executable, "-m", "llmmon.cli", "router", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    for word in ("--port", "--traffic", "--config", "/admin/faults", "traffic source"):
        assert word.lower() in proc.stdout.lower()
