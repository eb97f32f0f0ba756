"""OTLP trace export requests encoded straight to protobuf wire bytes.

The OTLP exporter's own encoder (``opentelemetry-exporter-otlp-proto-common``) first builds a
protobuf message object for every span, attribute and value, then serializes them: measured
here at about 40 µs per router span, the largest single cost of a traced request. This module
writes the same ``ExportTraceServiceRequest`` directly (``opentelemetry/proto/trace/v1/
trace.proto``): the bytes parse to a message equal to the SDK encoder's for every kind of
span, attribute value, event, link and status (``tests/test_otlp_encoding.py`` checks that with
the protobuf runtime itself).

Same rules as the SDK encoder: a value of an unsupported type drops that attribute (logged),
``None`` becomes an empty ``AnyValue``, spans are grouped by resource, then by scope, in order.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

_logger = logging.getLogger(__name__)

_pack_double = struct.Struct("<d").pack
_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_VARINT_1 = [bytes((n,)) for n in range(0x80)]
_INT64_MASK = (1 << 64) - 1

# Span.kind: SDK SpanKind value -> proto SpanKind (SPAN_KIND_INTERNAL = 1, ...).
_KIND = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
# Span.flags (SpanFlags): the "is remote" bit is known; set when the parent is remote.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200
#: Most distinct attribute keys whose encoded prefix is kept (keys are names in code, few).
_KEY_CACHE_SIZE = 4096


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _VARINT_1[n]
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return tag + _varint(len(payload)) + payload


def _string(tag: bytes, text: str) -> bytes:
    return _field(tag, text.encode("utf-8"))


def _any_value(value: Any) -> bytes:
    """An ``AnyValue`` message (without its own tag and length)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _string(b"\x0a", value)
    if isinstance(value, int):
        return b"\x18" + _varint(value & _INT64_MASK)  # int64: two's complement on 64 bits
    if isinstance(value, float):
        return b"\x21" + _pack_double(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in value]))
    if isinstance(value, Mapping):
        return _field(b"\x32", b"".join([_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()]))
    raise TypeError(f"Invalid type {type(value)} of value {value}")


_keys: dict[str, bytes] = {}


def _key(key: str) -> bytes:
    """``KeyValue.key`` field, encoded once per distinct key."""
    prefix = _keys.get(key)
    if prefix is None:
        prefix = _string(b"\x0a", key)
        if len(_keys) < _KEY_CACHE_SIZE:
            _keys[key] = prefix
    return prefix


def _key_value(key: str, value: Any) -> bytes:
    kind = type(value)
    if kind is str:  # the common cases inline: short strings and small non-negative ints
        raw = value.encode("utf-8")
        n = len(raw)
        if n < 0x7E:
            return _key(key) + b"\x12" + _VARINT_1[n + 2] + b"\x0a" + _VARINT_1[n] + raw
    elif kind is int and 0 <= value < 0x80:
        return _key(key) + b"\x12\x02\x18" + _VARINT_1[value]
    return _key(key) + _field(b"\x12", _any_value(value))


def _attributes(tag: bytes, attributes: Mapping[str, Any] | None) -> list[bytes]:
    out: list[bytes] = []
    if attributes:
        for key, value in attributes.items():
            try:
                encoded = _key_value(key, value)
            except Exception as error:  # noqa: BLE001 - the SDK encoder drops (and logs) such an attribute too
                _logger.exception("Failed to encode key %s: %s", key, error)
                continue
            n = len(encoded)
            out.append(tag + (_VARINT_1[n] if n < 0x80 else _varint(n)) + encoded)
    return out


def _count(tag: bytes, n: int) -> bytes:
    return tag + _varint(n) if n else b""


def _span_flags(parent: Any) -> int:
    return _HAS_IS_REMOTE | _IS_REMOTE if parent is not None and parent.is_remote else _HAS_IS_REMOTE


def _event(event: Any) -> bytes:
    return b"".join([
        b"\x09" + _pack_fixed64(event.timestamp) if event.timestamp else b"",
        _string(b"\x12", event.name) if event.name else b"",
        *_attributes(b"\x1a", event.attributes),
        _count(b"\x20", event.dropped_attributes),
    ])


def _link(link: Any) -> bytes:
    context = link.context
    return b"".join([
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        *_attributes(b"\x22", link.attributes),
        _count(b"\x28", link.dropped_attributes),
        b"\x35" + _pack_fixed32(_span_flags(context)),
    ])


def _status(status: Any) -> bytes:
    if status is None:
        return b""
    code = status.status_code.value
    return _field(b"\x7a", (_string(b"\x12", status.description) if status.description else b"")
                  + (b"\x18" + _varint(code) if code else b""))


def _span_attributes(span: Any) -> Mapping[str, Any] | None:
    """The span's attributes as the plain dict the SDK keeps them in when it can be reached
    (``ReadableSpan.attributes`` wraps it in two mapping layers whose iteration runs in Python),
    else the public mapping."""
    inner = getattr(getattr(span, "_attributes", None), "_dict", None)
    return inner if type(inner) is dict else span.attributes


def encode_span(span: Any) -> bytes:
    """One ``Span`` message."""
    context = span.get_span_context()
    parent = span.parent
    trace_state = context.trace_state
    state = ",".join([f"{key}={value}" for key, value in trace_state.items()]) if trace_state is not None else ""
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        _string(b"\x1a", state) if state else b"",
        b"\x22\x08" + parent.span_id.to_bytes(8, "big") if parent else b"",
        _string(b"\x2a", span.name) if span.name else b"",
        b"\x30" + _VARINT_1[_KIND[span.kind.value]],
        b"\x39" + _pack_fixed64(span.start_time) if span.start_time else b"",
        b"\x41" + _pack_fixed64(span.end_time) if span.end_time else b"",
        *_attributes(b"\x4a", _span_attributes(span)),
        _count(b"\x50", span.dropped_attributes),
    ]
    parts.extend(_field(b"\x5a", _event(event)) for event in span.events)
    parts.append(_count(b"\x60", span.dropped_events))
    parts.extend(_field(b"\x6a", _link(link)) for link in span.links)
    parts.append(_count(b"\x70", span.dropped_links))
    parts.append(_status(span.status))
    parts.append(b"\x85\x01" + _pack_fixed32(_span_flags(parent)))  # field 16, fixed32
    return b"".join(parts)


def _scope(scope: Any) -> bytes:
    if scope is None:
        return b""
    return b"".join([
        _string(b"\x0a", scope.name) if scope.name else b"",
        _string(b"\x12", scope.version) if scope.version else b"",
        *_attributes(b"\x1a", scope.attributes),
    ])


def encode_request(spans: Sequence[Any]) -> bytes:
    """A serialized ``ExportTraceServiceRequest`` holding ``spans`` (SDK ``ReadableSpan`` objects)."""
    # Grouped by resource, then scope, in order of appearance, as the SDK encoder does. Resources
    # are compared by identity first: their hash serializes every attribute to JSON.
    grouped: list[tuple[Any, dict[Any, list[bytes]]]] = []
    last: tuple[Any, dict[Any, list[bytes]]] | None = None
    for span in spans:
        resource = span.resource
        if last is None or last[0] is not resource:
            last = next((g for g in grouped if g[0] is resource), None) or next(
                (g for g in grouped if g[0] == resource), None)
            if last is None:
                last = (resource, {})
                grouped.append(last)
        last[1].setdefault(span.instrumentation_scope or None, []).append(encode_span(span))
    out: list[bytes] = []
    for resource, scopes in grouped:
        scope_spans = [
            _field(b"\x12", b"".join([
                _field(b"\x0a", _scope(scope)),
                *[_field(b"\x12", encoded) for encoded in encoded_spans],
                _string(b"\x1a", scope.schema_url) if scope is not None and scope.schema_url else b"",
            ]))
            for scope, encoded_spans in scopes.items()
        ]
        resource_spans = b"".join([
            _field(b"\x0a", b"".join(_attributes(b"\x0a", resource.attributes))),
            *scope_spans,
            _string(b"\x1a", resource.schema_url) if resource.schema_url else b"",
        ])
        out.append(_field(b"\x0a", resource_spans))
    return b"".join(out)


class EncodedRequest:
    """Stands in for the protobuf message the OTLP exporter expects from its ``encode_spans``:
    the exporter only asks it for its serialization."""

    __slots__ = ("data",)

    def __init__(self, spans: Sequence[Any]) -> None:
        self.data = encode_request(spans)

    def SerializeToString(self) -> bytes:  # noqa: N802 - the protobuf method name the exporter calls
        return self.data

    SerializePartialToString = SerializeToString


def install(exporter_module: Any) -> bool:
    """Make an OTLP span exporter module (``opentelemetry.exporter.otlp.proto.http.trace_exporter``)
    serialize with this encoder: its ``export`` calls the module's ``encode_spans(spans)`` and
    serializes the result. False (nothing changed) if the module has no such function."""
    if not callable(getattr(exporter_module, "encode_spans", None)):
        return False
    exporter_module.encode_spans = EncodedRequest
    return True
