"""Pure ASGI access-log middleware: one ``llm_router.access`` line per HTTP request.

Wrap it *inside* ``TracingMiddleware`` and ``RequestIdMiddleware`` so the line carries the
request's ``trace.id`` and ``http.request.id``. Logging is a queue put; a slow log sink never
delays the response.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app_instrumentation.logs import StructuredLogger
from app_instrumentation.logs_fields import Stream


class AccessLogMiddleware:
    def __init__(self, app: Callable[..., Any], logger: StructuredLogger) -> None:
        self.app = app
        self.logger = logger

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http" or not self.logger.enabled(Stream.ACCESS, "info"):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = {"status": 500, "request_bytes": 0, "response_bytes": 0}

        async def receive_wrapper() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                state["request_bytes"] += len(message.get("body", b""))
            return message

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body":
                state["response_bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            try:
                self._log(scope, state, time.perf_counter() - start)
            except Exception:  # noqa: BLE001 - an access-log bug must never fail the request
                pass

    def _log(self, scope: dict[str, Any], state: dict[str, int], duration: float) -> None:
        user_agent = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == b"user-agent"), None)
        query = scope.get("query_string", b"")
        client = scope.get("client")
        self.logger.access(
            method=scope.get("method", ""),
            path=scope.get("path", ""),
            status_code=state["status"],
            duration_seconds=duration,
            query=query.decode("latin-1"),  # redacted with the rest of the line, off the request path
            http_version=scope.get("http_version", ""),
            user_agent=user_agent,
            client_address=client[0] if client else None,
            request_bytes=state["request_bytes"],
            response_bytes=state["response_bytes"],
        )
