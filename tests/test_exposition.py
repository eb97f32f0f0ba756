"""/metrics content negotiation, /metrics/json, pass-through to the wrapped app."""

import asyncio

import httpx

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.exposition import MonitoringApp, respond_json
from llmmon.checkers import promtool_check_metrics


def fetch(app, path, headers=None):
    async def run():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get(path, headers=headers or {})

    return asyncio.run(run())


def busy_collector():
    c = MetricsCollector()
    c.http_request("GET", "/health", 200, 0.02)
    c.backend_state("vllm", "healthy")
    return c


def test_metrics_is_prometheus_text_by_default_and_passes_promtool():
    response = fetch(MonitoringApp(busy_collector().registry), "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert f"# TYPE {catalog.HTTP_REQUESTS.name} counter" in response.text
    result = promtool_check_metrics(response.text)
    assert result.ok, result.output


def test_metrics_is_openmetrics_when_asked():
    response = fetch(MonitoringApp(busy_collector().registry), "/metrics",
                     {"accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")
    assert f"# TYPE {catalog.HTTP_REQUESTS.base_name} counter" in response.text


def test_metrics_json_lists_families_with_their_samples():
    families = {f["name"]: f for f in fetch(MonitoringApp(busy_collector().registry), "/metrics/json").json()}
    http = families[catalog.HTTP_REQUESTS.base_name]
    assert http["type"] == "counter"
    values = {v["metricName"]: v for v in http["values"]}
    assert values[catalog.HTTP_REQUESTS.name]["labels"] == {"method": "GET", "route": "/health", "status_code": "200"}
    buckets = [v for v in families[catalog.HTTP_REQUEST_DURATION.name]["values"] if v["labels"].get("le") == "+Inf"]
    assert buckets and buckets[0]["value"] == 1


def test_metrics_json_stays_valid_json_with_nan_and_infinite_values():
    """JSON has no NaN/Inf: they are spelled as Prometheus spells them instead of failing the endpoint."""
    c = busy_collector()
    c.family(catalog.QUEUE_SIZE).child("inference").set(float("nan"))
    c.family(catalog.RATE_LIMIT_REMAINING).child("vllm", "tokens").set(float("inf"))
    response = fetch(MonitoringApp(c.registry), "/metrics/json")
    assert response.status_code == 200
    values = {v["metricName"]: v["value"] for f in response.json() for v in f["values"]}
    assert values[catalog.QUEUE_SIZE.name] == "NaN" and values[catalog.RATE_LIMIT_REMAINING.name] == "+Inf"


def test_other_paths_go_to_the_wrapped_app_or_404():
    async def inner(scope, receive, send):
        await respond_json(send, 201, {"inner": True})

    assert fetch(MonitoringApp(busy_collector().registry, app=inner), "/api/x").status_code == 201
    assert fetch(MonitoringApp(busy_collector().registry), "/api/x").status_code == 404
