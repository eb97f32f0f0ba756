"""What the log writer keeps alive: queued records hold no span objects, and events are built one
at a time as the sink takes them. Objects that live through garbage collections are promoted to
older generations, and enough promotions set off full collections of the whole heap (measured: a
third of the logging cost under load before these two changes)."""

from __future__ import annotations

import gc
import io
import weakref
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import use_span

from app_instrumentation.logs import LogConfig, StructuredLogger
from app_instrumentation.logs_fields import Stream
from app_instrumentation.logs_writer import AsyncWriter, StreamSink
from tests.test_logging_slow_sink import BlockingSink
from tests.test_logs_support import CaptureSink, leaf

RECORDS = 500


class LiveEvents:
    """Counts the events that exist at the same time."""

    def __init__(self) -> None:
        self.alive = 0
        self.most = 0

    def event_type(self) -> type[dict[str, Any]]:
        live = self

        class Event(dict):  # type: ignore[type-arg]
            def __init__(self, *args: Any) -> None:
                super().__init__(*args)
                live.alive += 1
                live.most = max(live.most, live.alive)

            def __del__(self) -> None:
                live.alive -= 1

        return Event


def _text_stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def test_events_are_built_one_at_a_time_as_the_sink_writes_them():
    live = LiveEvents()
    event = live.event_type()
    out = _text_stream()
    writer = AsyncWriter(StreamSink(out), prepare=lambda stream, n: event({"n": n}))
    for n in range(RECORDS):
        assert writer.submit(Stream.APPLICATION, n)
    assert writer.shutdown(10)
    lines = out.buffer.getvalue().splitlines()  # type: ignore[attr-defined]
    assert [int(line.decode().split(":")[1].rstrip("}")) for line in lines] == list(range(RECORDS))
    # The generator holds the event it last yielded while the sink serializes the next one.
    assert live.most <= 2, f"{live.most} events were alive at once"


def test_a_sink_without_batches_also_gets_one_event_at_a_time():
    live = LiveEvents()
    event = live.event_type()
    sink = CaptureSink()
    writer = AsyncWriter(sink, prepare=lambda stream, n: event({"n": n}))
    for n in range(RECORDS):
        writer.submit(Stream.ACCESS, n)
    assert writer.shutdown(10)
    assert [e["n"] for e in sink.events()] == list(range(RECORDS))
    assert live.most <= 2


def test_a_record_that_cannot_be_built_is_counted_as_dropped_and_the_rest_are_written():
    drops: list[tuple[str, int]] = []

    def prepare(stream: Stream, n: int) -> dict[str, int]:
        if n % 10 == 0:
            raise ValueError(f"record {n} is broken")
        return {"n": n}

    sink = CaptureSink()
    writer = AsyncWriter(sink, prepare=prepare, on_drop=lambda stream, count: drops.append((stream, count)))
    for n in range(100):
        writer.submit(Stream.AUDIT, n)
    assert not writer.shutdown(10), "not everything accepted was written"
    assert [e["n"] for e in sink.events()] == [n for n in range(100) if n % 10]
    assert writer.written[Stream.AUDIT] == 90 and writer.dropped[Stream.AUDIT] == 10
    assert sum(count for _, count in drops) == 10


def test_a_queued_line_does_not_keep_its_span_alive():
    sink = BlockingSink()
    logger = StructuredLogger(LogConfig(), sink=sink)
    logger.info("first: the writer blocks in the sink with it")
    assert sink.entered.wait(10)
    provider = TracerProvider()
    span = provider.get_tracer("test").start_span("request")
    trace_id = format(span.get_span_context().trace_id, "032x")
    with use_span(span, end_on_exit=True):
        logger.info("second: queued behind the first")
    ended = weakref.ref(span)
    del span
    gc.collect()
    assert ended() is None, "the queued record keeps the span object alive"
    sink.release.set()
    assert logger.shutdown(10)
    first, second = sink.events()
    assert leaf(second, "trace.id") == trace_id and leaf(first, "trace.id") is None
    provider.shutdown()
