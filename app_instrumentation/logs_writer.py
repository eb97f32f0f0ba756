"""Where log events go, off the request path: a bounded queue drained by one writer thread.

``submit`` never blocks: when the queue is full the event is dropped and counted (a slow
disk or a stuck pipe must not add latency to inferences). Everything ``submit`` accepted is
written by ``flush``/``shutdown``.
"""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import os
import queue
import sys
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

from app_instrumentation.logs_fields import Stream

Event = dict[str, Any]
DropCallback = Callable[[str], None]


def json_line(event: Mapping[str, Any]) -> str:
    # default=str: a stray datetime or Decimal in caller metadata must not lose the line.
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)


_COLORS = {"debug": "\033[36m", "info": "\033[32m", "warn": "\033[33m", "error": "\033[31m"}
_PRETTY_SKIP = frozenset({"@timestamp", "log.level", "message", "ecs.version", "service.name",
                          "service.version", "service.environment", "host.hostname", "process.pid",
                          "log.logger", "event.kind", "error.stack_trace"})


def pretty_line(event: Mapping[str, Any], color: bool = False) -> str:
    """Development console format: time, level, dataset, message, then the other fields."""
    flat = dict(_flatten(event))
    level = str(flat.get("log.level", "info"))
    time = str(flat.get("@timestamp", ""))[11:23]
    label = f"{_COLORS.get(level, '')}{level.upper():5}\033[0m" if color else f"{level.upper():5}"
    rest = " ".join(f"{k}={v}" for k, v in flat.items() if k not in _PRETTY_SKIP and k != "event.dataset")
    line = f"{time} {label} [{flat.get('event.dataset', '')}] {flat.get('message', '')}  {rest}".rstrip()
    stack = flat.get("error.stack_trace")
    return f"{line}\n{stack}" if stack else line


def _flatten(node: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(_flatten(value, path + "."))
        else:
            out.append((path, value))
    return out


class Sink(Protocol):
    def write(self, stream: Stream, event: Event) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class StreamSink:
    """All streams as JSON lines (or pretty lines) on one text stream, stdout by default."""

    def __init__(self, out: TextIO | None = None, pretty: bool = False) -> None:
        self.out = out
        self.pretty = pretty

    @property
    def _out(self) -> TextIO:
        return self.out if self.out is not None else sys.stdout  # resolved late: pytest swaps stdout

    def write(self, stream: Stream, event: Event) -> None:
        color = self.pretty and self._out.isatty()
        self._out.write((pretty_line(event, color) if self.pretty else json_line(event)) + "\n")

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self.flush()


class FileSink:
    """One rotating file per stream (``application.log``, ``access.log``, ...)."""

    def __init__(self, log_dir: str | os.PathLike[str], max_bytes: int, backups: int) -> None:
        directory = Path(log_dir)
        directory.mkdir(parents=True, exist_ok=True)
        if not os.access(directory, os.W_OK):
            raise PermissionError(f"log directory {directory} is not writable")
        self.handlers = {
            s: logging.handlers.RotatingFileHandler(
                directory / f"{s.value}.log", maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
            )
            for s in Stream
        }

    def write(self, stream: Stream, event: Event) -> None:
        handler = self.handlers[stream]
        handler.emit(logging.makeLogRecord({"msg": json_line(event), "args": None}))

    def flush(self) -> None:
        for handler in self.handlers.values():
            handler.flush()

    def close(self) -> None:
        for handler in self.handlers.values():
            handler.close()


_STOP = object()
#: At interpreter exit, how long a stuck sink may delay the exit.
EXIT_FLUSH_SECONDS = 5.0


class AsyncWriter:
    """Bounded queue + background thread in front of a sink."""

    def __init__(self, sink: Sink, maxsize: int = 10_000, on_drop: DropCallback | None = None) -> None:
        self.sink = sink
        self.on_drop = on_drop
        self.dropped: Counter[str] = Counter()
        self.accepted = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)
        self._closed = False
        self._lock = threading.Lock()  # orders "closed" against submits, so STOP is queued last
        self._write_failed = False
        self._thread = threading.Thread(target=self._run, name="llm-router-log-writer", daemon=True)
        self._thread.start()
        # Interpreter exit: write what was accepted (weakly held, so writers can still be collected).
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.shutdown(EXIT_FLUSH_SECONDS))

    def submit(self, stream: Stream, event: Event) -> bool:
        """Queue one event; False (and counted) if the queue is full or the writer is shut down."""
        with self._lock:
            if not self._closed:
                try:
                    self._queue.put_nowait((stream, event))
                    self.accepted += 1
                    return True
                except queue.Full:
                    pass
            self.dropped[stream.value] += 1
        if self.on_drop is not None:
            try:
                self.on_drop(stream.value)
            except Exception:  # noqa: BLE001 - a broken metrics callback must not fail the request
                pass
        return False

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self.sink.write(*item)
                if self._queue.empty():
                    self.sink.flush()  # before task_done, so flush() returning means "on the sink"
            except Exception as exc:  # noqa: BLE001 - the writer thread must survive a bad sink
                self._report_write_failure(exc)
            finally:
                self._queue.task_done()

    def _report_write_failure(self, exc: Exception) -> None:
        if not self._write_failed:
            self._write_failed = True
            print(f"llm-router logging: writing a log event failed: {exc!r}", file=sys.stderr)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every accepted event is written; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                done.wait(remaining)
        return True

    def shutdown(self, timeout: float | None = None) -> bool:
        """Write everything accepted, stop the thread, close the sink. Idempotent."""
        if self._closed:
            return True
        flushed = self.flush(timeout)
        with self._lock:
            self._closed = True
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            return False  # the sink is stuck; the daemon thread is abandoned
        self._thread.join(timeout)
        self.sink.close()
        return flushed and not self._thread.is_alive()
