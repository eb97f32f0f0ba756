"""Logs, traces and error tracking for one router process, assembled from the environment.

``Observability.from_env()`` gives the InferenceObservers and the ASGI wrappers to pass to
the router (``create_app(config, observers=..., wrappers=...)``), then ``bind()`` connects
them to the router's MetricsCollector (log drops and errors_total) and route templates.

Wrapper order (outermost first): tracing -> error tracking -> access log -> app, so the
access and error lines carry the request's trace id.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from app_instrumentation.error_tracking import ErrorTracker, ErrorTrackingMiddleware, reporter_from_env
from app_instrumentation.logs import LogConfig, StructuredLogger
from app_instrumentation.logs_middleware import AccessLogMiddleware
from app_instrumentation.logs_writer import Sink
from app_instrumentation.routes import RouteTemplates
from app_instrumentation.trace_context import current_trace_exemplar
from app_instrumentation.tracing import AVAILABLE, TracingMiddleware, TracingObserver, setup_tracing

ASGIApp = Callable[..., Any]


class Observability:
    def __init__(
        self,
        config: LogConfig,
        tracer_provider: Any | None = None,
        sink: Sink | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self._collector: Any | None = None
        self.logger = StructuredLogger(config, sink=sink, on_drop=self._dropped)
        self.tracer_provider = tracer_provider
        # Without the tracing extra (or with OTEL_SDK_DISABLED) there are no spans to make.
        self.tracer = TracingObserver(tracer_provider) if AVAILABLE and tracer_provider is not None else None
        reporter = reporter_from_env(config.environment, config.service_version, environ)
        self.errors = ErrorTracker(self.logger, count=self._count_error, reporter=reporter)
        self._tracing_middleware: list[TracingMiddleware] = []

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] = os.environ, set_global: bool = True, **config: Any
    ) -> Observability:
        """LogConfig.from_env + a tracer provider (OTLP when OTEL_EXPORTER_OTLP_* is set) + SENTRY_DSN.

        ``set_global``: also make the provider OpenTelemetry's global one (a process does this once).
        """
        log_config = LogConfig.from_env(environ, **config)
        provider = setup_tracing(log_config.service_name, log_config.service_version, log_config.environment,
                                 set_global=set_global, environ=environ)
        return cls(log_config, provider, environ=environ)

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
        return [*wrappers, tracing] if self.tracer is not None else wrappers

    def bind(self, collector: Any, routes: RouteTemplates | None = None) -> None:
        """Count log drops and tracked errors in the router's collector; name spans by route;
        with tracing on, latency histograms carry the span's trace id as an exemplar."""
        self._collector = collector
        if self.tracer is not None:
            collector.exemplar = current_trace_exemplar
        for middleware in self._tracing_middleware:
            middleware.routes = routes

    def _dropped(self, stream: str) -> None:
        if self._collector is not None:
            self._collector.log_events_dropped(stream)

    def _count_error(self, error_type: str, component: str, severity: str) -> None:
        if self._collector is not None:
            self._collector.error(error_type, component, severity)

    def shutdown(self, timeout: float | None = 5.0) -> None:
        """Flush every accepted log line, pending error reports and spans."""
        self.logger.shutdown(timeout)
        if self.errors.reporter is not None:
            self.errors.reporter.shutdown(timeout)
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
