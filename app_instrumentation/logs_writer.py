"""Where log events go, off the request path: a bounded queue drained by one writer thread.

``submit`` never blocks and does no formatting: the caller queues a small record, and the
writer thread turns records into events (``prepare``), redacts and serializes them and
writes them in batches (one write and flush per batch). When the queue is full the record
is dropped and counted; a sink that fails (``BrokenPipeError`` on a closed stdout, a full
disk) counts every event of the failed batch as dropped. ``shutdown(timeout)`` writes
everything accepted, or, at the deadline (a stdout nobody reads), counts what is left as
dropped, so every accepted event is either written or counted.
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol, TextIO

from app_instrumentation.logs_fields import Stream

Event = dict[str, Any]
#: Called with (stream, number of events) whenever events are lost.
DropCallback = Callable[[str, int], None]
#: Turns a queued (stream, record) into the event to write (runs on the writer thread).
Prepare = Callable[[Stream, Any], Event]

try:  # optional accelerator (the ``fast-json`` extra): ~10x faster than the json module
    import orjson
except ImportError:  # pragma: no cover - exercised only without the extra
    orjson = None  # type: ignore[assignment]

#: Like json with default=str: datetimes and dataclasses in caller metadata become str(value).
_ORJSON_OPTIONS = (orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   if orjson is not None else 0)
# default=str: a stray datetime or Decimal in caller metadata must not lose the line.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str, check_circular=False)


def json_bytes(event: Mapping[str, Any]) -> bytes:
    """One compact UTF-8 JSON document, keys in insertion order; orjson when installed, else json
    (the same text either way, except that json would spell a NaN as the invalid ``NaN``)."""
    if orjson is not None:
        try:
            return orjson.dumps(event, default=str, option=_ORJSON_OPTIONS)
        except TypeError:  # orjson.JSONEncodeError: e.g. an integer beyond 64 bits; json copes
            pass
    return _encoder.encode(event).encode()


def json_line(event: Mapping[str, Any]) -> str:
    return json_bytes(event).decode()


_COLORS = {"debug": "\033[36m", "info": "\033[32m", "warn": "\033[33m", "error": "\033[31m"}
_PRETTY_SKIP = frozenset({"@timestamp", "log.level", "message", "ecs.version", "service.name",
                          "service.version", "service.environment", "host.hostname", "process.pid",
                          "log.logger", "event.kind", "error.stack_trace"})


def pretty_line(event: Mapping[str, Any], color: bool = False) -> str:
    """Development console format: time, level, dataset, message, then the other fields."""
    flat = dict(flatten(event))
    level = str(flat.get("log.level", "info"))
    time = str(flat.get("@timestamp", ""))[11:23]
    label = f"{_COLORS.get(level, '')}{level.upper():5}\033[0m" if color else f"{level.upper():5}"
    rest = " ".join(f"{k}={v}" for k, v in flat.items() if k not in _PRETTY_SKIP and k != "event.dataset")
    line = f"{time} {label} [{flat.get('event.dataset', '')}] {flat.get('message', '')}  {rest}".rstrip()
    stack = flat.get("error.stack_trace")
    return f"{line}\n{stack}" if stack else line


def flatten(node: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"a": {"b": 1}, "c.d": 2}`` -> ``[("a.b", 1), ("c.d", 2)]`` (dotted keys kept as they are)."""
    out: list[tuple[str, Any]] = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.extend(flatten(value, path + "."))
        else:
            out.append((path, value))
    return out


class Sink(Protocol):
    def write(self, stream: Stream, event: Event) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class StreamSink:
    """All streams as JSON lines (or pretty lines) on one text stream, stdout by default.

    A batch is written with one ``write`` and one ``flush``: either the call succeeds and
    every line of the batch is on the stream, or it raises and the batch counts as dropped.
    """

    def __init__(self, out: TextIO | None = None, pretty: bool = False) -> None:
        self.out = out
        self.pretty = pretty

    @property
    def _out(self) -> TextIO:
        return self.out if self.out is not None else sys.stdout  # resolved late: pytest swaps stdout

    def _line(self, event: Event) -> str:
        return pretty_line(event, self._out.isatty()) if self.pretty else json_line(event)

    def write(self, stream: Stream, event: Event) -> None:
        self._out.write(self._line(event) + "\n")

    def write_batch(self, events: Iterable[tuple[Stream, Event]]) -> None:
        out = self._out
        binary = None if self.pretty else getattr(out, "buffer", None)
        if binary is None:
            out.write("".join([self._line(event) + "\n" for _, event in events]))
            out.flush()
            return
        lines = [json_bytes(event) for _, event in events]
        if not lines:
            return
        data = b"\n".join(lines) + b"\n"
        out.flush()  # whatever was printed through the text layer goes first
        binary.write(data)
        binary.flush()

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        try:
            self.flush()
        except (OSError, ValueError):  # a closed or broken stdout: nothing more can be written
            pass


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
        for handler in self.handlers.values():
            handler.handleError = _raise_current  # type: ignore[method-assign]  # failures are counted

    def write(self, stream: Stream, event: Event) -> None:
        handler = self.handlers[stream]
        handler.emit(logging.makeLogRecord({"msg": json_line(event), "args": None}))

    def flush(self) -> None:
        for handler in self.handlers.values():
            handler.flush()

    def close(self) -> None:
        for handler in self.handlers.values():
            handler.close()


def _raise_current(record: logging.LogRecord) -> None:
    raise  # re-raise the error logging.Handler.emit caught, so the writer counts the event


_STOP = object()
#: Records taken from the queue per batch (one write and flush each).
BATCH_SIZE = 512
#: The writer thread wakes at least this often (seconds); lines reach the sink this late at most.
WRITE_INTERVAL = 0.1
#: ...and as soon as this many records wait.
HIGH_WATER = 1024
#: Events per sink write (about 64 KiB of JSON lines: one pipe buffer).
WRITE_GROUP = 64
#: At interpreter exit, how long a stuck sink may delay the exit.
EXIT_FLUSH_SECONDS = 5.0


class AsyncWriter:
    """Bounded queue + background thread in front of a sink; counts accepted, written, dropped."""

    def __init__(
        self,
        sink: Sink,
        maxsize: int = 10_000,
        on_drop: DropCallback | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self.sink = sink
        self.maxsize = maxsize
        self.on_drop = on_drop
        self.prepare = prepare
        self.accepted: Counter[str] = Counter()
        self.written: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pending: Counter[str] = Counter()  # accepted and not yet written or dropped
        self._queued = 0  # sum of _pending, kept apart so submit() stays O(1)
        self._closed = False
        self._abandoned = False  # shutdown gave up on the sink: whatever is left is already counted
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._write_failed = False
        self._wakeup = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llm-router-log-writer", daemon=True)
        self._thread.start()
        # Interpreter exit: write what was accepted (weakly held, so writers can still be collected).
        ref = weakref.ref(self)
        atexit.register(lambda: (w := ref()) is not None and w.shutdown(EXIT_FLUSH_SECONDS))

    # --- request path --------------------------------------------------------------------
    def submit(self, stream: Stream, record: Any) -> bool:
        """Queue one record; False (and counted) if the queue is full or the writer is shut down."""
        with self._lock:
            if not self._closed and self._queued < self.maxsize:
                self._queued += 1
                self._pending[stream] += 1
                self.accepted[stream] += 1
                self._queue.put((stream, record))
                if self._queued >= HIGH_WATER:
                    self._wakeup.set()
                return True
            self.dropped[stream] += 1
        self._report_drop(stream, 1)
        return False

    def _report_drop(self, stream: str, count: int) -> None:
        if self.on_drop is not None:
            try:
                self.on_drop(stream, count)
            except Exception:  # noqa: BLE001 - a broken metrics callback must not fail the request
                pass

    # --- writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        # Wakes every WRITE_INTERVAL (or when the queue passes its high-water mark, or on flush),
        # not on every submit: a thread switch per log line costs more CPU than formatting it.
        while True:
            self._wakeup.wait(WRITE_INTERVAL)
            self._wakeup.clear()
            while True:
                batch: list[Any] = []
                while len(batch) < BATCH_SIZE:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = bool(batch) and batch[-1] is _STOP
                if stop:
                    batch.pop()
                if batch:
                    self._write(batch)
                if stop:
                    return
                if len(batch) < BATCH_SIZE:
                    break

    def _write(self, batch: list[tuple[Stream, Any]]) -> None:
        """Write one batch, WRITE_GROUP events per sink call; each event ends up settled as written
        or as dropped right after its group (a stuck sink leaves at most one group unsettled)."""
        for start in range(0, len(batch), WRITE_GROUP):
            group = batch[start:start + WRITE_GROUP]
            done = self._write_group(group)
            lost = Counter(stream for stream, _ in group)
            lost.subtract(done)
            self._settle(done, +lost)

    def _events(self, group: list[tuple[Stream, Any]], failed: Counter[str]) -> Iterator[tuple[Stream, Event]]:
        """Each record's event, built only when the sink takes it: one event's dicts are alive at a
        time, so they never live through a garbage collection. (Building a whole group first kept
        hundreds of dicts alive: each group set off a collection that promoted them to older
        generations, and those promotions set off full collections of the heap.)"""
        prepare = self.prepare
        for stream, record in group:
            if prepare is None:
                yield stream, record
                continue
            try:
                event = prepare(stream, record)
            except Exception as exc:  # noqa: BLE001 - one unformattable record must not stop the writer
                failed[stream] += 1
                self._report_write_failure(exc)
                continue
            yield stream, event

    def _write_group(self, group: list[tuple[Stream, Any]]) -> Counter[str]:
        """The streams of the events written (the rest of the group is lost)."""
        done: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        events = self._events(group, failed)
        write_batch = getattr(self.sink, "write_batch", None)
        try:
            if self._abandoned:
                raise TimeoutError("shutdown deadline passed")
            if write_batch is not None:  # one write: all of the group is out, or none of it counts
                write_batch(events)
                done.update(stream for stream, _ in group)
                done.subtract(failed)
                return +done
            for stream, event in events:
                try:
                    self.sink.write(stream, event)
                    done[stream] += 1
                except Exception as exc:  # noqa: BLE001 - this event is lost, the next may not be
                    self._report_write_failure(exc)
            self.sink.flush()
        except Exception as exc:  # noqa: BLE001 - BrokenPipeError, ENOSPC, a bad sink: counted, not raised
            self._report_write_failure(exc)
            return Counter()
        return done

    def _settle(self, written: Counter[str], lost: Counter[str]) -> None:
        with self._lock:
            self._queued -= sum(written.values()) + sum(lost.values())
            self._pending.subtract(written)
            self._pending.subtract(lost)
            if self._abandoned:  # shutdown already counted everything still pending as dropped
                written, lost = Counter(), Counter()
            self.written.update(written)
            self.dropped.update(lost)
            self._idle.notify_all()
        for stream, count in lost.items():
            self._report_drop(stream, count)

    def _report_write_failure(self, exc: Exception) -> None:
        if not self._write_failed:
            self._write_failed = True
            try:
                print(f"llm-router logging: writing log events failed, counting them as dropped: {exc!r}",
                      file=sys.stderr)
            except (OSError, ValueError):
                pass

    # --- flush / shutdown ------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return self._queued

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every accepted event is written (or counted dropped); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._wakeup.set()
        with self._idle:
            while self._queued > 0:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def shutdown(self, timeout: float | None = None) -> bool:
        """Write everything accepted within ``timeout``, then stop; what is still pending at the
        deadline is counted as dropped. True when everything accepted was written. Idempotent."""
        with self._lock:
            if self._closed:
                return self._queued == 0 and sum(self.written.values()) == sum(self.accepted.values())
            self._closed = True
        flushed = self.flush(timeout)
        if not flushed:
            with self._lock:
                self._abandoned = True
                left = +self._pending  # the positive counts: what no batch has settled yet
                self.dropped.update(left)
            for stream, count in left.items():
                self._report_drop(stream, count)
            return False  # the writer thread (a daemon) may stay blocked in the sink
        self._queue.put(_STOP)
        self._wakeup.set()
        self._thread.join(timeout)
        self.sink.close()
        return not self._thread.is_alive() and sum(self.written.values()) == sum(self.accepted.values())
