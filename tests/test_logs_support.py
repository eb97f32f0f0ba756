"""Shared helpers for the logging/tracing/error-tracking tests (no tests of its own)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app_instrumentation.logs import LogConfig, StructuredLogger
from app_instrumentation.logs_fields import Stream
from app_instrumentation.logs_writer import json_line


class CaptureSink:
    """Keeps every written line, parsed back from its real JSON serialization."""

    def __init__(self) -> None:
        self.lines: list[tuple[Stream, dict[str, Any]]] = []

    def write(self, stream: Stream, event: dict[str, Any]) -> None:
        self.lines.append((stream, json.loads(json_line(event))))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def events(self, stream: Stream | None = None) -> list[dict[str, Any]]:
        return [e for s, e in self.lines if stream is None or s is stream]


def capture_logger(**config: Any) -> tuple[StructuredLogger, CaptureSink]:
    sink = CaptureSink()
    return StructuredLogger(LogConfig(**config), sink=sink), sink


def leaf(event: dict[str, Any], path: str) -> Any:
    """A field's value, whether written nested or as one dotted top-level key (ecs-logging)."""
    if path in event:
        return event[path]
    node: Any = event
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_receiver(status: int = 200) -> Iterator[Receiver]:
    """A tiny HTTP server on a free 127.0.0.1 port recording every request; always stopped."""
    received: list[Received] = []
    got_one = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            got_one.set()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Receiver(f"http://{host}:{port}", received, got_one)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
