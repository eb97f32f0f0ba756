"""The metrics/health ASGI app: ``/metrics``, ``/metrics/json``, ``/health``, ``/health/live``, ``/health/ready``.

Plain ASGI (no web framework needed). Requests for other paths go to the wrapped ``app``
(or get a 404), so a router can put this in front of its own app or serve it on its own port.

- ``/metrics``: Prometheus text format; OpenMetrics when the ``Accept`` header asks for it.
- ``/metrics/json``: the same families as JSON (the seed's ``getMetricsAsJSON`` shape).
- ``/health``: every check's result; 200 when healthy or degraded, 503 when critical.
- ``/health/live``: 200 while the process serves requests (it must not depend on backends,
  or an outage would make the orchestrator restart healthy pods).
- ``/health/ready``: 200 unless the status is critical.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from app_instrumentation.health import HealthChecker, Status
from app_instrumentation.middleware import ASGIApp, Receive, Scope, Send
from app_instrumentation.multiprocess import scrape_registry

METRICS_PATH = "/metrics"
METRICS_JSON_PATH = "/metrics/json"
HEALTH_PATH = "/health"
LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
#: The route templates this app serves (for ``RouteTemplates``).
PATHS = (METRICS_PATH, METRICS_JSON_PATH, HEALTH_PATH, LIVE_PATH, READY_PATH)


def _number(value: float) -> float | str:
    """JSON has no NaN/Infinity; write them as Prometheus spells them."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def registry_json(registry: CollectorRegistry) -> list[dict[str, Any]]:
    return [
        {
            "name": family.name,
            "help": family.documentation,
            "type": family.type,
            "values": [
                {"metricName": s.name, "labels": dict(s.labels), "value": _number(s.value)} for s in family.samples
            ],
        }
        for family in registry.collect()
    ]


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_json(send: Send, status: int, payload: Mapping[str, Any] | list[Any]) -> None:
    body = json.dumps(payload, sort_keys=True, allow_nan=False).encode()
    await respond(send, status, body, "application/json")


class MonitoringApp:
    def __init__(
        self,
        registry: CollectorRegistry,
        health: HealthChecker | None = None,
        app: ASGIApp | None = None,
        *,
        health_max_age: float = 2.0,
    ) -> None:
        self.registry = registry
        self.health = health
        self.app = app
        #: Probes hit /health often; reuse a report this young instead of rerunning every check.
        self.health_max_age = health_max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else None
        if path in PATHS and scope.get("method") in ("GET", "HEAD"):
            await self._serve(path, scope, send)
        elif self.app is not None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await respond_json(send, 404, {"error": "not found"})

    async def _serve(self, path: str, scope: Scope, send: Send) -> None:
        if path == METRICS_PATH:
            encoder, content_type = choose_encoder(_header(scope, b"accept"))
            await respond(send, 200, encoder(scrape_registry(self.registry)), content_type)
        elif path == METRICS_JSON_PATH:
            await respond_json(send, 200, registry_json(scrape_registry(self.registry)))
        elif path == LIVE_PATH:
            await respond_json(send, 200, {"status": "alive"})
        elif self.health is None:
            await respond_json(send, 200, {"status": Status.HEALTHY.value, "checks": {}})
        else:
            report = await self.health.report(self.health_max_age)
            critical = report.status is Status.CRITICAL
            if path == READY_PATH:
                await respond_json(send, 503 if critical else 200, {"status": report.status.value, "ready": not critical})
            else:
                await respond_json(send, 503 if critical else 200, report.to_json())
