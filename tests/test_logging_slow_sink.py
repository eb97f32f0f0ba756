"""A blocked log sink never blocks a request; overflow is dropped and counted; shutdown loses nothing accepted."""

import threading

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.logs import LogConfig, StructuredLogger
from app_instrumentation.logs_middleware import AccessLogMiddleware
from tests.test_logs_support import CaptureSink


class BlockingSink(CaptureSink):
    """Blocks inside ``write`` until released, like a stuck disk or pipe."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, stream, event):
        self.entered.set()
        assert self.release.wait(30), "test never released the sink"
        super().write(stream, event)


def _app(logger):
    async def hello(request):
        logger.info("handling", {"labels": {"path": request.url.path}})
        return PlainTextResponse("ok")

    return AccessLogMiddleware(Starlette(routes=[Route("/hello", hello)]), logger)


def _in_thread(fn, timeout=20):
    """Run ``fn`` and return its result; fail (not hang) if it does not return."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("value", fn()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the request blocked on logging"
    return box["value"]


def test_blocked_sink_does_not_block_requests_and_drops_are_counted():
    registry = CollectorRegistry()
    collector = MetricsCollector(registry=registry, process_metrics=False)
    sink = BlockingSink()
    logger = StructuredLogger(LogConfig(queue_size=3), sink=sink, on_drop=collector.log_events_dropped)
    client = TestClient(_app(logger))
    try:
        logger.info("first")  # the writer thread takes it and blocks inside the sink
        assert sink.entered.wait(10)
        statuses = _in_thread(lambda: [client.get("/hello").status_code for _ in range(10)])
        assert statuses == [200] * 10
        assert not sink.release.is_set() and sink.lines == [], "every response returned while the sink was stuck"
        dropped = logger.dropped
        # 21 events; queue_size bounds everything not yet written: 1 in the sink + 2 queued.
        assert sum(dropped.values()) == 21 - 3, dropped
        assert set(dropped) == {"application", "access"}
        exported = sum(
            registry.get_sample_value(catalog.LOG_EVENTS_DROPPED.name, {"stream": s}) or 0 for s in dropped
        )
        assert exported == sum(dropped.values())
    finally:
        sink.release.set()
        assert logger.shutdown(timeout=10)
    assert len(sink.lines) == sum(logger.writer.accepted.values()) == 3, "everything accepted was written"


def test_shutdown_flushes_every_accepted_line():
    sink = CaptureSink()
    logger = StructuredLogger(LogConfig(queue_size=100_000), sink=sink)
    threads = [threading.Thread(target=lambda n=n: [logger.info(f"{n}-{i}") for i in range(500)]) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert logger.shutdown(timeout=30)
    assert len(sink.lines) == 2000 == sum(logger.writer.accepted.values())
    assert not logger.info("after shutdown"), "a closed logger refuses (and counts) instead of losing silently"
    assert logger.dropped == {"application": 1}


def test_flush_waits_for_the_writer():
    sink = BlockingSink()
    logger = StructuredLogger(LogConfig(), sink=sink)
    logger.info("slow")
    assert sink.entered.wait(10)
    assert logger.flush(timeout=0.05) is False, "flush reports that the line is not written yet"
    sink.release.set()
    assert logger.flush(timeout=10) is True and len(sink.lines) == 1
    logger.shutdown()


def test_interpreter_exit_writes_every_accepted_line():
    import subprocess
    import sys

    code = "from app_instrumentation.logs import StructuredLogger\nlg = StructuredLogger()\n" \
           "for i in range(3000): lg.info(f'line {i}')\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert len(out.stdout.splitlines()) == 3000


def test_a_failing_sink_is_reported_once_and_the_writer_keeps_going(capsys):
    class FlakySink(CaptureSink):
        def write(self, stream, event):
            if event["message"].startswith("bad"):
                raise OSError(28, "No space left on device")
            super().write(stream, event)

    sink = FlakySink()
    logger = StructuredLogger(LogConfig(), sink=sink)
    for message in ("bad 1", "good 1", "bad 2", "good 2"):
        logger.info(message)
    assert logger.shutdown(timeout=10) is False, "two lines were lost"
    assert [e["message"] for e in sink.events()] == ["good 1", "good 2"]
    assert logger.dropped == {"application": 2}, "each lost line is counted for LogEventsDropped"
    assert capsys.readouterr().err.count("No space left on device") == 1


def test_a_raising_drop_callback_does_not_reach_the_caller():
    def broken(stream: str) -> None:
        raise RuntimeError("metrics gone")

    logger = StructuredLogger(LogConfig(), sink=CaptureSink(), on_drop=broken)
    assert logger.shutdown(timeout=10)
    assert logger.info("after shutdown") is False
    assert logger.dropped == {"application": 1}


def test_a_failing_access_log_never_fails_the_request():
    class BrokenLogger(StructuredLogger):
        def access(self, *args, **kwargs):
            raise RuntimeError("log formatting bug")

    logger = BrokenLogger(LogConfig(), sink=CaptureSink())
    try:
        response = TestClient(_app(logger)).get("/hello")
        assert response.status_code == 200 and response.text == "ok"
    finally:
        logger.shutdown(timeout=10)


def test_a_closed_stdout_counts_every_lost_line_as_dropped():
    """BrokenPipeError (the log shipper went away): each lost line is counted, so LogEventsDropped fires."""
    import os

    from app_instrumentation.logs_writer import StreamSink

    read_end, write_end = os.pipe()
    os.close(read_end)
    out = os.fdopen(write_end, "w")
    registry = CollectorRegistry()
    collector = MetricsCollector(registry=registry, process_metrics=False)
    logger = StructuredLogger(LogConfig(), sink=StreamSink(out), on_drop=collector.log_events_dropped)
    try:
        for i in range(150):
            logger.info(f"line {i}")
            logger.access("GET", "/x", 200, 0.001)
        assert logger.shutdown(timeout=10) is False, "nothing could be written"
    finally:
        try:
            out.close()
        except BrokenPipeError:
            pass
    assert logger.dropped == {"application": 150, "access": 150}
    for stream in ("application", "access"):
        assert registry.get_sample_value(catalog.LOG_EVENTS_DROPPED.name, {"stream": stream}) == 150
    assert sum(logger.writer.written.values()) == 0
