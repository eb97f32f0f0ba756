"""ASGI middleware: HTTP request metrics by route template, plus connection metrics.

Records ``http_requests_total`` / ``http_request_duration_seconds`` with
``(method, route template, status_code)`` and tracks every in-flight request in
``active_connections{type="http"}`` and ``connection_duration_seconds``. A response that
streams (``text/event-stream`` or no ``Content-Length``) is additionally tracked as
``type="stream"`` from its first byte to its end. (ASGI does not show TCP connections,
so a "connection" here is one request/stream.)

Nothing in here may break a request: recording goes through the collector's guarded
methods and the template lookup is guarded too.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from app_instrumentation.catalog import UNKNOWN_ROUTE
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.guard import guarded
from app_instrumentation.routes import RouteTemplates

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Methods outside this set are exposed as "other" (clients can send any token as a method).
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def is_streaming(headers: list[tuple[bytes, bytes]]) -> bool:
    names = {name.lower(): value for name, value in headers}
    if names.get(b"content-type", b"").startswith(b"text/event-stream"):
        return True
    return b"content-length" not in names


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, collector: MetricsCollector, routes: RouteTemplates) -> None:
        self.app = app
        self.collector = collector
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        collector = self.collector
        protocol = f"http/{scope.get('http_version', '1.1')}"
        start = time.perf_counter()
        status = 500  # if the app raises before responding, the server answers 500
        stream_started: float | None = None
        collector.connection_opened("http", protocol)

        async def send_and_observe(message: Message) -> None:
            nonlocal status, stream_started
            if message["type"] == "http.response.start":
                status = message["status"]
                if is_streaming(list(message.get("headers", ()))):
                    stream_started = time.perf_counter()
                    collector.connection_opened("stream", protocol)
            await send(message)

        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            end = time.perf_counter()
            if stream_started is not None:
                collector.connection_closed("stream", protocol, end - stream_started)
            collector.connection_closed("http", protocol, end - start)
            method = scope.get("method", "")
            exemplar = collector.exemplar(None, scope) if collector.exemplar is not None else None
            collector.http_request(
                method if method in HTTP_METHODS else "other", self.template(scope), status, end - start, exemplar
            )

    @guarded("route_template")
    def _template(self, scope: Scope) -> str:
        return self.routes.match(scope.get("path", ""))

    def template(self, scope: Scope) -> str:
        return self._template(scope) or UNKNOWN_ROUTE

    def instrumentation_failed(self, operation: str, exc: BaseException) -> None:
        self.collector.instrumentation_failed(operation, exc)
