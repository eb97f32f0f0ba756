"""Logs, traces and error tracking for one router process, assembled from the environment.

``Observability.from_env()`` gives the InferenceObservers and the ASGI wrappers to pass to
the router (``create_app(config, observers=..., wrappers=...)``), then ``bind()`` connects
them to the router's MetricsCollector (log drops and errors_total) and route templates.

Wrapper order (outermost first): lifespan hooks -> request id -> tracing -> error tracking ->
access log -> app, so the access and error lines carry the request's id and trace id.

The lifespan hooks log "Application started" and "Shutting down", and flush logs and spans
when the app has finished its own shutdown (models unloaded), *before* the server reports the
shutdown complete: uvicorn re-raises SIGTERM after its graceful shutdown, which kills the
process before any ``finally`` or ``atexit`` code could flush.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app_instrumentation.error_tracking import ErrorTracker, ErrorTrackingMiddleware, reporter_from_env
from app_instrumentation.logs import LogConfig, StructuredLogger
from app_instrumentation.logs_middleware import AccessLogMiddleware
from app_instrumentation.logs_writer import Sink
from app_instrumentation.request_id import RequestIdMiddleware
from app_instrumentation.routes import RouteTemplates
from app_instrumentation.trace_context import current_trace_exemplar
from app_instrumentation.tracing import (
    AVAILABLE,
    TracingMiddleware,
    TracingObserver,
    setup_tracing,
    shut_down_in_background,
    span_accounting,
)

if TYPE_CHECKING:
    from app_instrumentation.span_accounting import SpanAccounting

ASGIApp = Callable[..., Any]


class Observability:
    def __init__(
        self,
        config: LogConfig,
        tracer_provider: Any | None = None,
        sink: Sink | None = None,
        environ: Mapping[str, str] = os.environ,
        span_accounting: SpanAccounting | None = None,
    ) -> None:
        self._collector: Any | None = None
        self.span_accounting = span_accounting
        self.logger = StructuredLogger(config, sink=sink, on_drop=self._dropped)
        self.tracer_provider = tracer_provider
        # Without the tracing extra (or with OTEL_SDK_DISABLED) there are no spans to make.
        self.tracer = TracingObserver(tracer_provider) if AVAILABLE and tracer_provider is not None else None
        reporter = reporter_from_env(config.environment, config.service_version, environ)
        self.errors = ErrorTracker(self.logger, count=self._count_error, reporter=reporter)
        self._tracing_middleware: list[TracingMiddleware] = []
        self._shut_down = False

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] = os.environ, set_global: bool = True, **config: Any
    ) -> Observability:
        """LogConfig.from_env + a tracer provider (OTLP when OTEL_EXPORTER_OTLP_* is set) + SENTRY_DSN.

        ``set_global``: also make the provider OpenTelemetry's global one (a process does this once).
        """
        log_config = LogConfig.from_env(environ, **config)
        accounting = span_accounting()
        provider = setup_tracing(log_config.service_name, log_config.service_version, log_config.environment,
                                 set_global=set_global, environ=environ, accounting=accounting)
        return cls(log_config, provider, environ=environ, span_accounting=accounting)

    @property
    def observers(self) -> tuple[Any, ...]:
        return tuple(o for o in (self.tracer, self.logger, self.errors) if o is not None)

    def wrappers(self) -> list[Callable[[ASGIApp], ASGIApp]]:
        """Innermost first, as ``create_app(wrappers=...)`` applies them."""

        def tracing(app: ASGIApp) -> ASGIApp:
            middleware = TracingMiddleware(app, self.tracer_provider)
            self._tracing_middleware.append(middleware)
            return middleware

        wrappers: list[Callable[[ASGIApp], ASGIApp]] = [
            lambda app: AccessLogMiddleware(app, self.logger),
            lambda app: ErrorTrackingMiddleware(app, self.errors),
        ]
        if self.tracer is not None:
            wrappers.append(tracing)
        return [*wrappers, RequestIdMiddleware, lambda app: LifespanHooks(app, self)]

    def bind(self, collector: Any, routes: RouteTemplates | None = None) -> None:
        """Count log drops and tracked errors in the router's collector; name spans by route;
        with tracing on, latency histograms carry the span's trace id as an exemplar."""
        self._collector = collector
        if self.span_accounting is not None:
            self.span_accounting.attach(collector)
        if self.tracer is not None:
            collector.exemplar = current_trace_exemplar
        for middleware in self._tracing_middleware:
            middleware.routes = routes

    def _dropped(self, stream: str, count: int) -> None:
        if self._collector is not None:
            self._collector.log_events_dropped(stream, count)

    def _count_error(self, error_type: str, component: str, severity: str) -> None:
        if self._collector is not None:
            self._collector.error(error_type, component, severity)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Flush pending spans, error reports and every accepted log line; idempotent.

        Spans and error reports (both sent over the network) are flushed side by side within
        ``timeout`` seconds (default ``LOG_FLUSH_TIMEOUT``), then the log lines get as long again:
        shutdown takes at most twice the timeout. Spans not exported by then are reported in a log
        line; log lines still queued (a stdout nobody reads) are counted as dropped. True when
        nothing was lost.
        """
        if self._shut_down:
            return True
        self._shut_down = True
        budget = self.logger.config.flush_timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        spans = shut_down_in_background(self.tracer_provider, budget) if self.tracer_provider is not None else None
        if self.errors.reporter is not None:
            self.errors.reporter.shutdown(budget)
        spans_ok = True
        if spans is not None:
            spans.join(max(0.0, deadline - time.monotonic()))
            spans_ok = not spans.is_alive()
            lost = self.span_accounting.lost if self.span_accounting is not None else 0
            if lost:  # written with the log lines flushed below
                self.logger.spans_not_exported(lost)
                spans_ok = False
        return self.logger.shutdown(budget) and spans_ok


class LifespanHooks:
    """Pure ASGI, lifespan scope only: startup and shutdown are logged, and logs and spans are
    flushed once the app has shut down, before the server is told the shutdown is complete."""

    def __init__(self, app: ASGIApp, obs: Observability) -> None:
        self.app = app
        self.obs = obs

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        logger = self.obs.logger

        async def receive_wrapper() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                logger.shutting_down()
            return message

        async def send_wrapper(message: dict[str, Any]) -> None:
            kind = message["type"]
            if kind == "lifespan.startup.complete":
                logger.application_started()
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                try:  # off the event loop: the writer may need seconds to drain into a slow stdout
                    await asyncio.to_thread(self.obs.shutdown)
                except Exception as exc:  # noqa: BLE001 - the server must still hear that shutdown is done
                    print(f"llm-router observability: flush at shutdown failed: {exc!r}", file=sys.stderr)
            await send(message)

        await self.app(scope, receive_wrapper, send_wrapper)
