"""Tracing: GenAI inference spans, HTTP server spans, log correlation, OTLP/HTTP export, exemplars."""

import re

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as GA
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app_instrumentation import logs_fields as F
from app_instrumentation import otlp_encoding, tracing
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.logs import LogConfig
from app_instrumentation.logs_fields import Stream
from app_instrumentation.logs_middleware import AccessLogMiddleware
from app_instrumentation.logs_wiring import Observability
from app_instrumentation.routes import RouteTemplates
from app_instrumentation.trace_context import current_ids, current_trace_exemplar
from app_instrumentation.tracing import (
    TracingMiddleware,
    TracingObserver,
    otlp_exporter_from_env,
    setup_tracing,
)
from foundation.standards import semconv_reference
from tests.test_logs_support import CaptureSink, capture_logger, http_receiver, leaf

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def traced():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def test_attribute_names_are_registered_semantic_convention_names():
    """Every GenAI/other attribute name the spans use exists in the vendored registry and in the
    opentelemetry-semantic-conventions package; log fields share the names ECS shares with OTel."""
    registry = semconv_reference().attributes
    for holder in (tracing.GA, tracing.SC):
        for name in (v for k, v in vars(holder).items() if k.isupper()):
            assert name in registry, f"{name} is not in semantic conventions {semconv_reference().version}"
    assert tracing.GA.GEN_AI_PROVIDER_NAME == GA.GEN_AI_PROVIDER_NAME
    assert tracing.GA.GEN_AI_REQUEST_STREAM == GA.GEN_AI_REQUEST_STREAM
    for field in (F.GEN_AI_OPERATION, F.GEN_AI_REQUEST_MODEL, F.GEN_AI_RESPONSE_MODEL, F.GEN_AI_INPUT_TOKENS,
                  F.GEN_AI_OUTPUT_TOKENS, F.GEN_AI_FINISH_REASONS, F.GEN_AI_REQUEST_MAX_TOKENS, F.GEN_AI_RESPONSE_ID):
        assert field.path in registry, field.path
    for name in (tracing.REQUEST_ID_ATTRIBUTE, tracing.ERROR_CODE_ATTRIBUTE, tracing.CACHED_MODEL_ATTRIBUTE):
        assert name.startswith("llm_router.") and name not in registry


def test_inference_span_has_genai_attributes(traced):
    provider, exporter = traced
    observer = TracingObserver(provider)
    ctx = InferenceContext("llama-3-8b", "quick", "vllm", prompt_tokens=9)
    observer.on_start(ctx)
    observer.on_complete(ctx, InferenceResult("llama-3-8b-q4", "vllm", 21, 0.8, prompt_tokens=9, finish_reason="length"))
    observer.on_complete(ctx, InferenceResult("x", "y", 1, 1.0))  # a second completion is ignored
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat llama-3-8b" and span.kind is SpanKind.CLIENT
    a = span.attributes
    assert a[GA.GEN_AI_OPERATION_NAME] == "chat" and a[GA.GEN_AI_PROVIDER_NAME] == "vllm"
    assert a[GA.GEN_AI_REQUEST_MODEL] == "llama-3-8b" and a[GA.GEN_AI_RESPONSE_MODEL] == "llama-3-8b-q4"
    assert a[GA.GEN_AI_USAGE_INPUT_TOKENS] == 9 and a[GA.GEN_AI_USAGE_OUTPUT_TOKENS] == 21
    assert tuple(a[GA.GEN_AI_RESPONSE_FINISH_REASONS]) == ("length",)
    assert span.status.status_code is StatusCode.UNSET


def test_inference_error_span(traced):
    provider, exporter = traced
    observer = TracingObserver(provider)
    ctx = InferenceContext("llama-3-8b", "quick", "openai", attributes={"provider": "openai"})
    observer.on_start(ctx)
    observer.on_error(ctx, TimeoutError("no answer"))
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "TimeoutError"
    assert span.attributes["llm_router.error.code"] == "backend_timeout" and "error.code" not in span.attributes
    assert span.attributes[GA.GEN_AI_PROVIDER_NAME] == "openai", "required on error spans too"
    assert [e.name for e in span.events] == ["exception"]


def _hello_app(logger):
    async def hello(request):
        logger.info("in handler")
        return PlainTextResponse("hi")

    return Starlette(routes=[Route("/hello/{name}", hello)])


def test_http_span_continues_traceparent_and_logs_carry_its_ids(traced):
    provider, exporter = traced
    logger, sink = capture_logger()
    app = TracingMiddleware(AccessLogMiddleware(_hello_app(logger), logger), provider, RouteTemplates(["/hello/{name}"]))
    response = TestClient(app).get("/hello/bob?x=1", headers={"traceparent": TRACEPARENT, "user-agent": "t/1"})
    assert response.status_code == 200
    logger.shutdown()
    (span,) = exporter.get_finished_spans()
    assert span.kind is SpanKind.SERVER and span.name == "GET /hello/{name}"
    assert format(span.context.trace_id, "032x") == TRACEPARENT.split("-")[1]
    assert format(span.parent.span_id, "016x") == TRACEPARENT.split("-")[2]
    assert span.attributes["http.route"] == "/hello/{name}" and span.attributes["http.response.status_code"] == 200
    assert span.attributes["user_agent.original"] == "t/1"
    handler_line, access_line = sink.events()
    for line in (handler_line, access_line):
        assert leaf(line, "trace.id") == format(span.context.trace_id, "032x")
        assert leaf(line, "span.id") == format(span.context.span_id, "016x")
    assert current_ids() is None, "the request span does not leak out of the request"


@pytest.mark.parametrize(("code", "error"), [(503, True), (500, True), (404, False), (200, False)])
def test_returned_status_decides_the_span_status(traced, code, error):
    """A handler that answers 5xx without raising is an error span; 4xx (the client's fault) is not."""
    provider, exporter = traced

    async def answer(request):
        return PlainTextResponse("x", status_code=code)

    app = TracingMiddleware(Starlette(routes=[Route("/answer", answer)]), provider, RouteTemplates(["/answer"]))
    assert TestClient(app).get("/answer").status_code == code
    (span,) = exporter.get_finished_spans()
    assert span.attributes["http.response.status_code"] == code
    assert (span.status.status_code is StatusCode.ERROR) is error
    assert span.attributes.get("error.type") == (str(code) if error else None)


def test_server_error_marks_span(traced):
    provider, exporter = traced

    async def boom(request):
        raise RuntimeError("kaput")

    app = TracingMiddleware(Starlette(routes=[Route("/boom", boom)]), provider)
    assert TestClient(app, raise_server_exceptions=False).get("/boom").status_code == 500
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR and span.name == "GET"
    assert span.attributes["error.type"] in ("RuntimeError", "500")


def _router(provider, **config):
    from llmmon.example_router.app import create_app
    from llmmon.example_router.config import RouterConfig

    sink = CaptureSink()
    obs = Observability(LogConfig(**config), provider, sink=sink, environ={})
    app = create_app(RouterConfig(seed=7), observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    return app, obs, sink


def test_example_router_request_logs_carry_the_exported_trace_id(traced):
    provider, exporter = traced
    app, obs, sink = _router(provider)
    with TestClient(app) as client:
        response = client.post("/api/generate", json={"prompt": "hello there", "model": "llama-3-8b"})
    assert response.status_code == 200, response.text
    obs.shutdown()
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name == "POST /api/generate"]
    (inference,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    trace_id = format(server.context.trace_id, "032x")
    assert inference.parent.span_id == server.context.span_id
    (access,) = [e for e in sink.events(Stream.ACCESS) if leaf(e, "url.path") == "/api/generate"]
    assert leaf(access, "trace.id") == trace_id and leaf(access, "span.id") == format(server.context.span_id, "016x")
    inference_lines = [e for e in sink.events() if leaf(e, "llm_router.inference.id")]
    assert {leaf(e, "event.action") for e in inference_lines} == {"inference_complete"}
    for line in inference_lines:
        assert leaf(line, "trace.id") == trace_id
        assert leaf(line, "span.id") == format(inference.context.span_id, "016x")


def test_example_router_failed_inference_is_logged_traced_and_counted(traced):
    provider, exporter = traced
    app, obs, sink = _router(provider)
    with TestClient(app) as client:
        assert client.post("/admin/faults", json={"outage": ["*"]}).status_code == 200
        response = client.post("/api/generate", json={"prompt": "hello", "model": "llama-3-8b"})
    assert response.status_code >= 500
    obs.shutdown()
    (error_line,) = [e for e in sink.events(Stream.ERROR) if leaf(e, "event.action") == "inference_error"]
    (inference,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert leaf(error_line, "trace.id") == format(inference.context.trace_id, "032x")
    assert inference.status.status_code is StatusCode.ERROR
    assert leaf(error_line, "llm_router.error.grouping_key") and leaf(error_line, "error.stack_trace")


def test_otlp_http_export_reaches_a_local_receiver(monkeypatch):
    with http_receiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
        monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
        provider = setup_tracing("llm-router-test", "9.9.9", "test", set_global=False)
        with provider.get_tracer("t").start_as_current_span("exported-span"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
        assert receiver.got_one.wait(10)
    (request,) = receiver.requests
    assert request.method == "POST" and request.path == "/v1/traces"
    assert request.headers["content-type"] == "application/x-protobuf"
    body = ExportTraceServiceRequest.FromString(request.body)
    (resource_spans,) = body.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "llm-router-test" and service["deployment.environment.name"] == "test"
    assert [s.name for ss in resource_spans.scope_spans for s in ss.spans] == ["exported-span"]
    from opentelemetry.exporter.otlp.proto.http import trace_exporter

    assert trace_exporter.encode_spans is otlp_encoding.EncodedRequest, "exported with the direct encoder"


def test_exporter_only_when_configured():
    assert otlp_exporter_from_env({}) is None
    assert otlp_exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"}) is None
    with pytest.raises(ValueError, match="only http/protobuf"):
        otlp_exporter_from_env({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert setup_tracing(environ={"OTEL_SDK_DISABLED": "true"}, set_global=False) is None


def test_no_exporter_turns_export_off_not_tracing():
    """``OTEL_TRACES_EXPORTER=none``: spans are still made and sampled (their ids still reach log
    lines and exemplars), only not exported. The observability benchmark's "tracing floor"
    variant relies on this to measure the cost of making spans alone."""
    provider = setup_tracing(environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_TRACES_EXPORTER": "none"},
                             set_global=False)
    assert provider is not None
    span = provider.get_tracer("test").start_span("made, not exported")
    assert span.is_recording() and span.get_span_context().trace_flags.sampled
    span.end()
    provider.shutdown()


def test_trace_exemplar_for_openmetrics(traced):
    provider, _ = traced
    registry = CollectorRegistry()
    histogram = Histogram("llm_router_test_seconds", "t", registry=registry)
    assert current_trace_exemplar() is None
    with provider.get_tracer("t").start_as_current_span("s") as span:
        exemplar = current_trace_exemplar()
        histogram.observe(0.3, exemplar=exemplar)
    assert exemplar["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert len("".join(f"{k}{v}" for k, v in exemplar.items())) <= 128, "OpenMetrics exemplar label limit"
    text = openmetrics_latest(registry).decode()
    assert re.search(r'_bucket\{le="0\.5"\} 1\.0 # \{span_id="[0-9a-f]{16}",trace_id="' + exemplar["trace_id"], text)


def test_exemplar_from_the_inference_span(traced):
    provider, _ = traced
    observer = TracingObserver(provider)
    ctx = InferenceContext("llama-3-8b", "quick", "vllm")
    assert current_trace_exemplar(ctx) is None, "no span opened yet"
    observer.on_start(ctx)
    exemplar = current_trace_exemplar(ctx)
    observer.on_complete(ctx, InferenceResult("llama-3-8b", "vllm", 3, 0.1))
    span = ctx.attributes["otel.span"]
    assert exemplar == {"trace_id": format(span.context.trace_id, "032x"), "span_id": format(span.context.span_id, "016x")}


def test_example_router_streaming_inference_is_traced_and_logged(traced, caplog):
    provider, exporter = traced
    app, obs, sink = _router(provider)
    with TestClient(app) as client:
        response = client.post("/api/generate", json={"prompt": "stream it", "model": "llama-3-8b", "stream": True})
        assert response.status_code == 200 and '"done": true' in response.text
    obs.shutdown()
    (inference,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert inference.attributes[GA.GEN_AI_USAGE_OUTPUT_TOKENS] > 0, "completed in the streaming task, still ended"
    (complete,) = [e for e in sink.events(Stream.APPLICATION) if leaf(e, "event.action") == "inference_complete"]
    assert leaf(complete, "span.id") == format(inference.context.span_id, "016x")
    assert "Failed to detach context" not in caplog.text


def test_exemplar_for_middleware_outside_the_tracing_middleware(traced):
    provider, exporter = traced
    seen = {}

    def outer(app):
        async def wrapper(scope, receive, send):
            await app(scope, receive, send)
            seen["exemplar"] = current_trace_exemplar(scope=scope)  # the span has ended here

        return wrapper

    logger, _ = capture_logger()
    app = outer(TracingMiddleware(_hello_app(logger), provider))
    assert TestClient(app).get("/hello/x").status_code == 200
    (span,) = exporter.get_finished_spans()
    assert seen["exemplar"]["trace_id"] == format(span.context.trace_id, "032x")


def test_example_router_latency_histograms_carry_trace_exemplars(traced):
    provider, exporter = traced
    app, obs, _ = _router(provider)
    with TestClient(app) as client:
        assert client.post("/api/generate", json={"prompt": "exemplar please", "model": "llama-3-8b"}).status_code == 200
        text = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}).text
    obs.shutdown()
    spans = exporter.get_finished_spans()
    (inference,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    (server,) = [s for s in spans if s.kind is SpanKind.SERVER and s.name == "POST /api/generate"]
    trace_id = format(inference.context.trace_id, "032x")

    def exemplar(span):
        return re.escape(f'# {{span_id="{format(span.context.span_id, "016x")}",trace_id="{trace_id}"}}')

    assert re.search(r"llm_router_inference_duration_seconds_bucket\{[^}]*\} 1\.0 " + exemplar(inference), text), (
        "inference latency sample must link to the inference span"
    )
    assert re.search(
        r'llm_router_http_request_duration_seconds_bucket\{[^}]*route="/api/generate"[^}]*\} 1\.0 ' + exemplar(server),
        text,
    ), "HTTP latency sample must link to the request span"


def test_no_tracing_means_no_exemplar_lookup():
    from app_instrumentation.collector import MetricsCollector

    assert MetricsCollector(process_metrics=False).exemplar is None


def _otlp_spans(requests):
    """Decoded spans from OTLP/HTTP protobuf bodies: name -> list of (kind, attributes, status, events)."""
    out = {}
    for request in requests:
        assert request.headers["content-type"] == "application/x-protobuf"
        for resource_spans in ExportTraceServiceRequest.FromString(request.body).resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    out.setdefault(span.name, []).append(span)
    return out


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in any_value.array_value.values)
    return getattr(any_value, kind)


PROTO_TYPES = {"string": "string_value", "int": "int_value", "double": "double_value", "boolean": "bool_value"}


def _check_registered(span):
    """Every attribute is a registered semantic-convention name with its registered type, or ours."""
    registry = semconv_reference().attributes
    for kv in span.attributes:
        if kv.key.startswith("llm_router."):
            continue
        assert kv.key in registry, f"{span.name}: {kv.key} is not registered (semconv {semconv_reference().version})"
        expected = registry[kv.key]
        kind = kv.value.WhichOneof("value")
        if isinstance(expected, dict):  # an open enum: a string
            assert kind == "string_value", kv.key
        elif expected.endswith("[]"):
            assert kind == "array_value" and all(
                v.WhichOneof("value") == PROTO_TYPES[expected[:-2]] for v in kv.value.array_value.values), kv.key
        else:
            assert kind == PROTO_TYPES[expected], f"{kv.key}: {kind}, registry says {expected}"


def test_example_router_spans_over_otlp_http(monkeypatch):
    """ok, streaming, cached and failing inferences, exported by the real OTLP/HTTP exporter to a
    receiver in this test and decoded from protobuf."""
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
    from opentelemetry.proto.trace.v1.trace_pb2 import Status as ProtoStatus

    with http_receiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"{receiver.url}/v1/traces")
        provider = setup_tracing("router-under-test", "1.2.3", "test", set_global=False)
        app, obs, _ = _router(provider)
        body = {"prompt": "otlp please", "model": "gpt-4o-mini", "strategy": "quality", "max_tokens": 12}
        with TestClient(app) as client:
            ok = client.post("/api/generate", json=body, headers={"x-request-id": "req-ok-1"})
            cached = client.post("/api/generate", json=body)
            streamed = client.post("/api/generate", json={**body, "prompt": "stream", "stream": True})
            client.post("/admin/faults", json={"outage": ["*"]})
            failed = client.post("/api/generate", json={**body, "prompt": "fails"})
        assert (ok.status_code, cached.json()["cached"], streamed.status_code) == (200, True, 200)
        assert failed.status_code >= 500
        obs.shutdown()
    spans = _otlp_spans(receiver.requests)
    calls = spans["chat gpt-4o-mini"]
    assert len(calls) == 3, "ok, streamed and failed are model calls; the cache hit is not"
    for span in [s for group in spans.values() for s in group]:
        _check_registered(span)
    ok_span, streamed_span, failed_span = sorted(calls, key=lambda s: s.start_time_unix_nano)
    for span in calls:
        a = {kv.key: _value(kv.value) for kv in span.attributes}
        assert span.kind == ProtoSpan.SPAN_KIND_CLIENT
        assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
        assert a["gen_ai.request.model"] == "gpt-4o-mini" and a["gen_ai.request.max_tokens"] == 12
        assert (a["server.address"], a["server.port"]) == ("api.openai.com", 443)
    ok_attrs = {kv.key: _value(kv.value) for kv in ok_span.attributes}
    assert ok_attrs["gen_ai.usage.input_tokens"] > 0 and ok_attrs["gen_ai.usage.output_tokens"] > 0
    assert ok_attrs["gen_ai.response.id"].startswith("chatcmpl-") and ok_attrs["gen_ai.response.finish_reasons"]
    assert ok_attrs["llm_router.request.id"] == "req-ok-1"
    assert "gen_ai.request.stream" not in ok_attrs and "gen_ai.response.time_to_first_chunk" not in ok_attrs
    streamed_attrs = {kv.key: _value(kv.value) for kv in streamed_span.attributes}
    assert streamed_attrs["gen_ai.request.stream"] is True
    assert streamed_attrs["gen_ai.response.time_to_first_chunk"] > 0
    failed_attrs = {kv.key: _value(kv.value) for kv in failed_span.attributes}
    assert failed_span.status.code == ProtoStatus.STATUS_CODE_ERROR
    assert failed_attrs["error.type"] == "llmmon.example_router.engine.AllBackendsFailed"
    assert failed_attrs["llm_router.error.code"] == "backend_error"
    assert "error.code" not in failed_attrs and "gen_ai.usage.output_tokens" not in failed_attrs
    assert [e.name for e in failed_span.events] == ["exception"]
    (cache_hit,) = spans["cache_hit gpt-4o-mini"]
    hit = {kv.key: _value(kv.value) for kv in cache_hit.attributes}
    assert cache_hit.kind == ProtoSpan.SPAN_KIND_INTERNAL
    assert not any(k.startswith("gen_ai.") for k in hit), "a cache hit reports no provider and no token usage"
    server = {kv.key: _value(kv.value) for kv in spans["POST /api/generate"][0].attributes}
    assert server["http.route"] == "/api/generate" and server["llm_router.request.id"] == "req-ok-1"


def _unsampled_router(sampler):
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app, obs, sink = _router(provider)
    with TestClient(app) as client:
        assert client.post("/api/generate", json={"prompt": "hello", "model": "llama-3-8b"}).status_code == 200
    obs.shutdown()
    provider.shutdown()
    (access,) = [e for e in sink.events(Stream.ACCESS) if leaf(e, "url.path") == "/api/generate"]
    (line,) = [e for e in sink.events() if leaf(e, "event.action") == "inference_complete"]
    return exporter.get_finished_spans(), access, line


def test_an_unsampled_request_still_correlates_its_log_lines():
    """Head sampling drops the request (OpenTelemetry's parent-based sampler, ratio 0): nothing is
    exported, and the inference line carries the access line's trace id. The model-call span is
    not even made (a parent-based sampler would drop it): the line names the request's span."""
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    spans, access, line = _unsampled_router(ParentBased(TraceIdRatioBased(0)))
    assert spans == ()
    assert re.fullmatch(r"[0-9a-f]{32}", leaf(access, "trace.id"))
    assert leaf(line, "trace.id") == leaf(access, "trace.id")
    assert leaf(line, "span.id") == leaf(access, "span.id")


def test_a_sampler_that_is_not_parent_based_still_decides_the_model_call_span():
    """The shortcut above holds only for parent-based samplers: any other sampler is asked about
    the model-call span itself, and may keep it although the request span was dropped."""
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class ModelCallsOnly(Sampler):
        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None):
            if kind is SpanKind.CLIENT:
                return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
            return SamplingResult(Decision.DROP)

        def get_description(self) -> str:
            return "ModelCallsOnly"

    spans, access, line = _unsampled_router(ModelCallsOnly())
    (inference,) = spans
    assert inference.kind is SpanKind.CLIENT and inference.attributes[GA.GEN_AI_REQUEST_MODEL] == "llama-3-8b"
    assert leaf(line, "span.id") == format(inference.context.span_id, "016x") != leaf(access, "span.id")
    assert leaf(line, "trace.id") == leaf(access, "trace.id")
