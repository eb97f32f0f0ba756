"""OpenTelemetry tracing: an HTTP server span per request, a GenAI client span per inference.

* ``setup_tracing`` builds a TracerProvider; the OTLP/HTTP exporter is configured by the
  standard ``OTEL_*`` variables (``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``, ``_HEADERS``,
  ``OTEL_TRACES_SAMPLER``, ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SDK_DISABLED``).
* ``TracingMiddleware`` (pure ASGI) continues a W3C ``traceparent`` and makes the request span
  current, so log lines written while handling the request carry its ``trace.id``.
* ``TracingObserver`` (InferenceObserver) opens the model-call span with GenAI semantic-
  convention attributes (an INTERNAL span for a cache hit); the logger puts that span's ids on
  the inference log lines. Attribute names are registered in the semantic conventions or live
  under ``llm_router.*``.
* ``otlp_exporter_from_env`` makes the OTLP/HTTP exporter serialize with ``otlp_encoding`` (the
  same bytes as the exporter's own encoder, at a third of the CPU).
* ``trace_context`` holds ``current_ids``/``current_trace_exemplar``, which work without the SDK (the logger and the metrics
  collector call them); they return None when OpenTelemetry is not installed or no span is active.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app_instrumentation import logs_fields as F
from app_instrumentation import otel_env, otlp_encoding
from app_instrumentation.catalog import UNKNOWN_ROUTE
from app_instrumentation.errors import INFERENCE_ERROR, classify, qualified_name
from app_instrumentation.events import CACHE_HIT_ATTRIBUTE, PROVIDER_ATTRIBUTE, SERVER_ATTRIBUTE
from app_instrumentation.request_id import current_request_id
from app_instrumentation.routes import RouteTemplates
from app_instrumentation.trace_context import SPAN_ATTRIBUTE

try:  # the tracing extra is optional: logs still work without it
    from opentelemetry import context as context_api
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, StatusCode
except ImportError:  # pragma: no cover - exercised only without the extra
    trace = None  # type: ignore[assignment]


class GA:
    """The GenAI attribute names (semantic conventions 1.41, ``model/gen-ai/registry.yaml``)."""

    GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
    GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
    GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
    GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
    GEN_AI_REQUEST_STREAM = "gen_ai.request.stream"
    GEN_AI_RESPONSE_ID = "gen_ai.response.id"
    GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
    GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
    GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk"
    GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
    GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"


class SC:
    """Other semantic-convention attribute names our spans use (all stable)."""

    SERVER_ADDRESS = "server.address"
    SERVER_PORT = "server.port"
    ERROR_TYPE = "error.type"

#: False without the tracing extra: no spans, no trace ids, logs still work.
AVAILABLE = trace is not None
_propagated: tuple[Any, frozenset[bytes]] = (None, frozenset())


def _propagated_headers() -> frozenset[bytes]:
    """Header names the global propagators read (W3C traceparent/tracestate, baggage), lowercase
    bytes as ASGI gives them, cached per propagator object (an application may install another
    one after import)."""
    global _propagated
    textmap = propagate.get_global_textmap()
    if _propagated[0] is not textmap:
        _propagated = (textmap, frozenset(f.lower().encode("latin-1") for f in textmap.fields))
    return _propagated[1]

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from app_instrumentation.events import InferenceContext, InferenceResult
    from app_instrumentation.span_accounting import SpanAccounting

ASGIApp = Callable[..., Any]
INSTRUMENTATION_NAME = "app_instrumentation"


def otlp_exporter_from_env(environ: Mapping[str, str] = os.environ) -> SpanExporter | None:
    """An OTLP/HTTP exporter when an OTLP endpoint is configured and not switched off; its
    endpoint, headers, timeout, compression and certificates come from ``environ``."""
    exporters = {e.strip() for e in environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")}
    if "otlp" not in exporters or not otel_env.otlp_endpoint(environ):
        return None  # no collector configured: do not retry against a default localhost:4318
    protocol = otel_env.otlp_setting(environ, "PROTOCOL")
    if protocol not in (None, "http/protobuf"):
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: only http/protobuf is supported")
    settings = otel_env.otlp_exporter_settings(environ)
    from opentelemetry.exporter.otlp.proto.http import trace_exporter

    # The exporter's protobuf encoding cost 3x what otlp_encoding's direct wire encoding costs
    # (the same bytes): the largest cost of a traced request.
    otlp_encoding.install(trace_exporter)
    return trace_exporter.OTLPSpanExporter(**settings)


def setup_tracing(
    service_name: str = "llm-router",
    service_version: str = "0.0.0",
    environment: str = "development",
    exporter: SpanExporter | None = None,
    set_global: bool = True,
    environ: Mapping[str, str] = os.environ,
    accounting: SpanAccounting | None = None,
) -> TracerProvider | None:
    """A TracerProvider with a batch OTLP exporter (or ``exporter``); None if OTEL_SDK_DISABLED
    or the tracing extra is not installed. Sampler, resource and exporter follow the ``OTEL_*``
    variables of ``environ`` (ValueError naming the variable when one is malformed).
    ``accounting`` counts the spans that end and what the exporter sends of them."""
    if not AVAILABLE or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    attributes = otel_env.resource_attributes(environ, service_name)
    attributes.update({"service.version": service_version, "deployment.environment.name": environment})
    sampler = otel_env.sampler_from_env(environ)
    exporter = exporter or otlp_exporter_from_env(environ)
    provider = TracerProvider(resource=Resource.create(attributes), sampler=sampler)
    if exporter is not None:
        if accounting is not None:
            provider.add_span_processor(accounting)
            exporter = accounting.wrap(exporter)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def shut_down_in_background(provider: Any, timeout: float) -> threading.Thread:
    """Flush and shut ``provider`` down in a daemon thread, started; join it with the time the
    caller can give (``not thread.is_alive()``: finished).

    The SDK's batch processor ignores its flush timeout and gives every queued batch the
    exporter's whole timeout: against a collector that accepts connections and never answers,
    2048 queued spans kept a router 40 s in shutdown, past Kubernetes' default grace period (the
    log flush after it never ran). What the thread has not exported when the caller stops
    waiting is lost with the process (and counted by ``SpanAccounting``)."""

    def flush_and_shut_down() -> None:
        try:
            provider.force_flush(int(timeout * 1000))
        finally:
            provider.shutdown()

    worker = threading.Thread(target=flush_and_shut_down, name="otel-shutdown", daemon=True)
    worker.start()
    return worker


def span_accounting() -> SpanAccounting | None:
    """A fresh ``SpanAccounting`` for ``setup_tracing``; None without the tracing extra."""
    if not AVAILABLE:
        return None
    from app_instrumentation.span_accounting import SpanAccounting

    return SpanAccounting()


def _tracer(provider: Any | None) -> Any:
    return (provider or trace.get_tracer_provider()).get_tracer(INSTRUMENTATION_NAME)


#: Semantic conventions' ``error.type``: the fully qualified exception class name.
error_type = qualified_name


#: Span attributes of ours (not in the semantic conventions), under the ``llm_router`` namespace.
REQUEST_ID_ATTRIBUTE = f"{F.NAMESPACE}.request.id"
ERROR_CODE_ATTRIBUTE = f"{F.NAMESPACE}.error.code"
CACHED_MODEL_ATTRIBUTE = f"{F.NAMESPACE}.inference.model"
#: ``gen_ai.provider.name`` is required on a model-call span; when the router names none.
UNKNOWN_PROVIDER = "_OTHER"
#: ``InferenceContext.attributes`` key: the backend the span was started for.
STARTED_BACKEND = "otel.started_backend"


def _provider(ctx: InferenceContext) -> str:
    return str(ctx.attributes.get(PROVIDER_ATTRIBUTE) or ctx.backend or UNKNOWN_PROVIDER)


def _server(ctx: InferenceContext) -> dict[str, Any]:
    server = ctx.attributes.get(SERVER_ATTRIBUTE)
    return {SC.SERVER_ADDRESS: server[0], SC.SERVER_PORT: server[1]} if server else {}


def _children_follow_unsampled_parent(tracer: Any) -> bool:
    """True when the tracer's sampler is certain to drop a child of a local unsampled span: the
    ``parentbased_*`` samplers (OpenTelemetry's default family) with their default delegate for
    that case. Any other sampler (or a future SDK without these attributes) decides per span."""
    if not AVAILABLE:
        return False
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased

    sampler = getattr(tracer, "sampler", None)
    return isinstance(sampler, ParentBased) and getattr(sampler, "_local_parent_not_sampled", None) is ALWAYS_OFF


class TracingObserver:
    """One CLIENT span per model call, named ``{gen_ai.operation.name} {gen_ai.request.model}``,
    with the GenAI semantic-convention attributes (``gen_ai.provider.name`` from the start, for
    samplers). An answer from the router's cache calls no model: it gets an INTERNAL
    ``cache_hit {model}`` span without provider or token usage.

    The span describes the backend that answered (or failed last): when the router falls back
    to another backend, provider and server are updated before the span ends.
    """

    operation = "chat"

    def __init__(self, tracer_provider: Any | None = None) -> None:
        self.tracer = _tracer(tracer_provider)
        self._children_follow_parent = _children_follow_unsampled_parent(self.tracer)

    def on_start(self, ctx: InferenceContext) -> None:
        if self._children_follow_parent:
            parent = trace.get_current_span().get_span_context()
            if parent.is_valid and not parent.is_remote and not parent.trace_flags.sampled:
                # The sampler would drop this span: skip making it (log lines and exemplars
                # then use the request span's ids, which is just as unexported).
                return
        attributes: dict[str, Any] = {
            F.INFERENCE_ID.path: ctx.request_id,
            F.INFERENCE_STRATEGY.path: ctx.strategy,
        }
        request_id = current_request_id()
        if request_id is not None:
            attributes[REQUEST_ID_ATTRIBUTE] = request_id
        if ctx.attributes.get(CACHE_HIT_ATTRIBUTE):
            attributes[CACHED_MODEL_ATTRIBUTE] = ctx.model
            name, kind = f"cache_hit {ctx.model}", SpanKind.INTERNAL
        else:
            attributes[GA.GEN_AI_OPERATION_NAME] = self.operation
            attributes[GA.GEN_AI_PROVIDER_NAME] = _provider(ctx)
            attributes[GA.GEN_AI_REQUEST_MODEL] = ctx.model
            attributes.update(_server(ctx))
            if ctx.max_tokens:
                attributes[GA.GEN_AI_REQUEST_MAX_TOKENS] = ctx.max_tokens
            if ctx.stream:  # conditionally required: if and only if the request is streaming
                attributes[GA.GEN_AI_REQUEST_STREAM] = True
            name, kind = f"{self.operation} {ctx.model}", SpanKind.CLIENT
            ctx.attributes[STARTED_BACKEND] = ctx.backend
        # Not made current: the router may complete the inference in another task (streaming),
        # where detaching a context token fails. The span travels on the context instead.
        ctx.attributes[SPAN_ATTRIBUTE] = self.tracer.start_span(name, kind=kind, attributes=attributes)

    @staticmethod
    def _open_span(ctx: InferenceContext) -> Any | None:
        span = ctx.attributes.get(SPAN_ATTRIBUTE)
        return span if span is not None and span.is_recording() else None

    def on_complete(self, ctx: InferenceContext, result: InferenceResult) -> None:
        span = self._open_span(ctx)
        if span is None:
            return
        if not ctx.attributes.get(CACHE_HIT_ATTRIBUTE):
            attributes: dict[str, Any] = {
                GA.GEN_AI_RESPONSE_MODEL: result.model,
                GA.GEN_AI_USAGE_INPUT_TOKENS: result.prompt_tokens or ctx.prompt_tokens,
                GA.GEN_AI_USAGE_OUTPUT_TOKENS: result.output_tokens,
                GA.GEN_AI_RESPONSE_FINISH_REASONS: [result.finish_reason],
                F.INFERENCE_BACKEND.path: result.backend,
            }
            if result.backend != ctx.attributes.get(STARTED_BACKEND):  # a fallback: describe who answered
                attributes.update({GA.GEN_AI_PROVIDER_NAME: _provider(ctx), **_server(ctx)})
            if result.response_id:
                attributes[GA.GEN_AI_RESPONSE_ID] = result.response_id
            if ctx.stream and result.ttft_seconds is not None:
                attributes[GA.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = result.ttft_seconds
            span.set_attributes(attributes)
        span.end()

    def on_error(self, ctx: InferenceContext, exc: BaseException) -> None:
        span = self._open_span(ctx)
        if span is None:
            return
        span.record_exception(exc)
        attributes = {SC.ERROR_TYPE: error_type(exc), ERROR_CODE_ATTRIBUTE: classify(exc, INFERENCE_ERROR)}
        if not ctx.attributes.get(CACHE_HIT_ATTRIBUTE):
            attributes.update({GA.GEN_AI_PROVIDER_NAME: _provider(ctx), **_server(ctx)})
            if ctx.backend:
                attributes[F.INFERENCE_BACKEND.path] = ctx.backend
        span.set_attributes(attributes)
        span.set_status(StatusCode.ERROR, str(exc)[:200])
        span.end()


class TracingMiddleware:
    """Pure ASGI: a SERVER span per HTTP request, current while the app runs.

    ``routes`` (the metrics middleware's ``RouteTemplates``) names the span ``{method} {route}``;
    without a matching template the span is named by method only, as the semantic
    conventions ask when no low-cardinality route is known.
    """

    def __init__(self, app: ASGIApp, tracer_provider: Any | None = None, routes: RouteTemplates | None = None) -> None:
        self.app = app
        self.tracer = _tracer(tracer_provider)
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers = scope.get("headers") or ()
        method = scope.get("method", "GET")
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        # One pass over the raw headers: most requests carry no trace context, and then neither
        # a decoded header dict nor the propagators' parsing is needed.
        propagated = _propagated_headers()
        carries_context = False
        for name, value in raw_headers:
            name = name.lower()
            if name == b"user-agent":
                attributes["user_agent.original"] = value.decode("latin-1")
            elif name in propagated:
                carries_context = True
        request_id = current_request_id()
        if request_id is not None:
            attributes[REQUEST_ID_ATTRIBUTE] = request_id
        if scope.get("client"):
            attributes["client.address"] = scope["client"][0]
        # http.route is known from the path: set it (and the span name) at start, for samplers.
        route = self.routes.match(scope.get("path", "")) if self.routes is not None else UNKNOWN_ROUTE
        if route != UNKNOWN_ROUTE:
            attributes["http.route"] = route
        context = None
        if carries_context:
            context = propagate.extract({k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers})
        span = self.tracer.start_span(
            method if route == UNKNOWN_ROUTE else f"{method} {route}", context=context,
            kind=SpanKind.SERVER, attributes=attributes,
        )
        # Outer middleware (HTTP metrics) observes after the span ended: leave it in the scope.
        scope.setdefault("state", {})[SPAN_ATTRIBUTE] = span
        # attach/detach, not trace.use_span: the same without a generator-based context manager
        # on every request (exceptions are recorded below).
        token = context_api.attach(trace.set_span_in_context(span))
        status: dict[str, int] = {}

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            # An unsampled span records nothing: its status code is not needed, so no wrapper.
            await self.app(scope, receive, send_wrapper if span.is_recording() else send)
        except BaseException as exc:
            span.record_exception(exc)
            span.set_attribute(SC.ERROR_TYPE, error_type(exc))
            span.set_status(StatusCode.ERROR)
            raise
        finally:
            context_api.detach(token)
            self._finish(span, status.get("code"))

    @staticmethod
    def _finish(span: Any, code: int | None) -> None:
        if code is not None:
            if code >= 500:
                span.set_attributes({"http.response.status_code": code, SC.ERROR_TYPE: str(code)})
                span.set_status(StatusCode.ERROR)
            else:
                span.set_attribute("http.response.status_code", code)
        span.end()
