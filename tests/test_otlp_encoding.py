"""The direct OTLP encoder against the OpenTelemetry exporter's own: the protobuf runtime parses
our bytes into a message equal to the exporter's, for every kind of span content."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from app_instrumentation.otlp_encoding import EncodedRequest, encode_request, install

#: Values of every type an attribute may hold (OpenTelemetry's AnyValue), at varint and length edges.
VALUES = {
    "str": "hello", "empty": "", "unicode": "Grüße, 世界 🚀", "long": "x" * 300, "edge": "y" * 125, "edge126": "z" * 126, "edge127": "w" * 127,
    "true": True, "false": False, "zero": 0, "small": 127, "two_bytes": 128, "negative": -1,
    "int64_max": 2**63 - 1, "int64_min": -(2**63), "float": 0.25, "nan_free_neg": -1.5e300,
    "strings": ["stop", "length"], "bools": [True, False], "ints": [1, -2, 300], "floats": [0.5, 2.0],
    "empty_list": [],
}
REMOTE_PARENT = SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, is_remote=True,
                            trace_flags=TraceFlags(1), trace_state=TraceState([("vendor", "v1"), ("other", "x")]))


def _same_as_sdk(spans: list[ReadableSpan]) -> ExportTraceServiceRequest:
    ours = ExportTraceServiceRequest.FromString(encode_request(spans))
    assert ours == encode_spans(spans)
    return ours


def _finished(configure) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    providers = []
    for attributes in ({"service.name": "llm-router", "service.version": "1.2.3"}, {"service.name": "other"}):
        provider = TracerProvider(resource=Resource.create(attributes))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
    configure(providers)
    for provider in providers:
        provider.shutdown()
    return list(exporter.get_finished_spans())


def test_every_kind_of_span_content_encodes_as_the_sdk_does():
    def spans(providers):
        router = providers[0].get_tracer("app_instrumentation")
        scoped = providers[0].get_tracer("scoped", "2.0", schema_url="https://opentelemetry.io/schemas/1.26.0",
                                         attributes={"scope.attr": "s"})
        other = providers[1].get_tracer("app_instrumentation")
        for kind in SpanKind:
            with router.start_as_current_span(f"{kind.name} span", kind=kind, attributes=VALUES) as span:
                span.add_event("an event", {"n": 1, "names": ["a"]}, timestamp=1_700_000_000_000_000_001)
                span.set_status(Status(StatusCode.ERROR, "went wrong") if kind is SpanKind.CLIENT else StatusCode.OK)
                child = scoped.start_span("child", links=[Link(REMOTE_PARENT, {"link.attr": 3})])
                child.record_exception(ValueError("bad value"))
                child.end()
        remote = other.start_span("continues a remote trace", context=_remote_context())
        remote.end()
        router.start_span("interleaved with the other resource").end()

    encoded = _same_as_sdk(_finished(spans))
    assert len(encoded.resource_spans) == 2 and len(encoded.resource_spans[0].scope_spans) == 2
    remote = encoded.resource_spans[1].scope_spans[0].spans[0]
    assert remote.trace_state == "vendor=v1,other=x" and remote.flags == 0x300  # has + is remote


def _remote_context():
    from opentelemetry.trace import NonRecordingSpan, set_span_in_context

    return set_span_in_context(NonRecordingSpan(REMOTE_PARENT))


def test_equal_resources_that_are_different_objects_share_one_group():
    def make(name: str, resource: Resource) -> ReadableSpan:
        return ReadableSpan(name=name, context=SpanContext(1, 2, False), resource=resource, attributes={"a": 1},
                            start_time=10, end_time=20, status=Status(StatusCode.UNSET))

    first, second = Resource({"service.name": "r"}), Resource({"service.name": "r"})
    assert first is not second and first == second
    encoded = _same_as_sdk([make("one", first), make("two", second), make("three", Resource({"x": "y"}))])
    assert [len(rs.scope_spans[0].spans) for rs in encoded.resource_spans] == [2, 1]


def test_values_the_sdk_cannot_encode_drop_only_their_attribute(caplog):
    """Attributes that bypass the SDK's validation (a ReadableSpan built by hand): mappings become
    key-value lists, None an empty value, an unsupported type is dropped and logged, as the SDK does."""
    span = ReadableSpan(
        name="raw", context=SpanContext(5, 6, False), resource=Resource({}),
        attributes={"mapping": {"k": "v", "n": [1, 2]}, "none": None, "bytes": b"\x00\x01", "bad": object(),
                    "bad_in_list": [1, object()], "kept": "yes"},
        events=[Event("e", {"x": None}, timestamp=5)], start_time=1, end_time=2,
        instrumentation_scope=InstrumentationScope("raw-scope"),
    )
    with caplog.at_level(logging.ERROR):
        encoded = _same_as_sdk([span])
    keys = [kv.key for kv in encoded.resource_spans[0].scope_spans[0].spans[0].attributes]
    assert keys == ["mapping", "none", "bytes", "kept"]
    assert sum("Failed to encode key bad" in r.getMessage() for r in caplog.records) >= 2


def test_a_span_without_scope_or_status_or_times():
    span = ReadableSpan(name="", context=SpanContext(7, 8, False), resource=Resource({}), status=None)
    _same_as_sdk([span])


@pytest.mark.parametrize("method", ["SerializeToString", "SerializePartialToString"])
def test_installed_encoder_serves_the_exporter_call(method):
    class Module:
        encode_spans = staticmethod(encode_spans)

    assert install(Module) and Module.encode_spans is EncodedRequest
    spans = _finished(lambda providers: providers[0].get_tracer("t").start_span("s").end())
    data = getattr(Module.encode_spans(spans), method)()
    assert ExportTraceServiceRequest.FromString(data) == encode_spans(spans)
    assert not install(object()), "a module without encode_spans is left alone"
