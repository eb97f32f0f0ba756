"""Benchmark: requests per second of the router with full observability vs metrics only.

A real ``llmmon router`` process (uvicorn, one worker) with a zero-latency backend serves
``POST /api/generate`` (distinct prompts, so no cache hits) to an asyncio HTTP/1.1 load
generator in this process. Variants, run alternately in the same run so that load from other
jobs on the machine spreads over both:

- ``metrics only``: every log stream off (``LOG_LEVEL*=off``), tracing off (``OTEL_SDK_DISABLED``).
- ``default logs, no tracing``: the default log levels on stdout, ``OTEL_SDK_DISABLED``.
- ``full``: the default log levels on stdout and tracing exported over OTLP/HTTP to a
  receiver in this process, with OpenTelemetry's default sampler (every request traced) and
  with 10 % head sampling (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``, arg 0.1).
- two variants that split the cost of tracing every request, both without log lines:
  ``every request traced, no log lines`` (spans exported as in ``full``) and ``tracing floor``
  (spans made by OpenTelemetry's SDK as in ``full``, then discarded: ``OTEL_TRACES_EXPORTER=none``).
  When the floor is already below the target, no cheaper log line or exporter can meet it with
  every request traced: only making fewer spans (sampling) or a cheaper SDK can.

The router's stdout is a pipe read here, so the lines it writes per successful inference are
counted from the real output, and the spans the receiver got per request served (2 when every
request is traced and none is dropped). Prints a table; asserts nothing (timings depend on the machine).
Target: full >= 0.7x metrics only, at most 2 log lines per successful inference.

Run: ``python -m benchmarks.bench_observability [--seconds S] [--rounds R] [--connections C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from benchmarks.timing import machine, table

ZERO_LATENCY_CONFIG = """
default_strategy = "direct"
max_concurrency = 1024
queue_max_waiting = 4096
cache_max_entries = 16
[strategies]
direct = ["instant"]
[[models]]
name = "bench-model"
load_seconds = 0.0
[[backends]]
name = "instant"
latency_ms = 0
tokens_per_second = 0
[health]
interval_seconds = 3600
"""
LISTENING = re.compile(rb"llmmon router: listening on http://([\d.]+):(\d+)")
#: OpenTelemetry's standard head-sampling variables: keep 1 trace in 10 (and follow the caller's choice).
SAMPLED_ENV = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}
NO_LOGS_ENV = {
    "LOG_LEVEL": "off", "LOG_LEVEL_ACCESS": "off", "LOG_LEVEL_AUDIT": "off", "LOG_LEVEL_ERROR": "off",
    "LOG_LEVEL_METRICS": "off",
}
METRICS_ONLY_ENV = {**NO_LOGS_ENV, "OTEL_SDK_DISABLED": "true"}
#: Spans are made and sampled as usual, and no exporter (nor batch processor) takes them.
NO_EXPORTER_ENV = {"OTEL_TRACES_EXPORTER": "none"}
#: Full observability must serve at least this share of metrics only's requests per second.
TARGET_RATIO = 0.7


@dataclass
class Variant:
    name: str
    env: dict[str, str]
    #: A full-observability variant: the target applies to it.
    full: bool = False
    rps: list[float] = field(default_factory=list)
    lines_per_inference: list[float] = field(default_factory=list)
    #: Router process CPU (user + system, all threads) per successful request, microseconds.
    cpu_us: list[float] = field(default_factory=list)
    #: Spans the OTLP receiver got per request served (warm-up included), flushed at shutdown.
    spans_per_request: list[float] = field(default_factory=list)


class OutputCounter:
    """Drains the router's stdout (a slow reader would back it up) and counts lines."""

    def __init__(self, stream: object) -> None:
        self.stream = stream
        self.lines = 0
        self.head = b""
        self.listening = threading.Event()
        self.address: tuple[str, int] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        fd = self.stream.fileno()  # type: ignore[attr-defined]
        while chunk := os.read(fd, 1 << 20):
            self.lines += chunk.count(b"\n")
            if not self.listening.is_set():
                self.head += chunk
                if match := LISTENING.search(self.head):
                    self.address = (match.group(1).decode(), int(match.group(2)))
                    self.listening.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class OtlpSink(ThreadingHTTPServer):
    """Accepts OTLP/HTTP exports, counts their spans and discards them (the collector's cost is
    not the router's). The count shows spans the router dropped under load (its queue is bounded)."""

    spans = 0
    _lock = threading.Lock()

    def received(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        count = sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
        with self._lock:
            self.spans += count


def otlp_sink() -> OtlpSink:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server: OtlpSink

        def do_POST(self) -> None:  # noqa: N802 - http.server naming
            self.server.received(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = OtlpSink(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def request_bytes(host: str, port: int, i: int) -> bytes:
    body = json.dumps({"prompt": f"benchmark prompt number {i}", "max_tokens": 16}).encode()
    head = (f"POST /api/generate HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _connection(host: str, port: int, stop_at: float, start: int, step: int, counts: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while time.monotonic() < stop_at:
            writer.write(request_bytes(host, port, i))
            i += step
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            counts["ok" if status_line[9:12] == b"200" else "failed"] += 1
    finally:
        writer.close()


async def load(host: str, port: int, seconds: float, connections: int, offset: int) -> dict[str, int]:
    counts = {"ok": 0, "failed": 0}
    stop_at = time.monotonic() + seconds
    await asyncio.gather(*(_connection(host, port, stop_at, offset + c, connections, counts)
                           for c in range(connections)))
    return counts


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_variant(variant: Variant, config: Path, seconds: float, warmup: float, connections: int,
                offset: int, sink: OtlpSink) -> None:
    env = {**os.environ, **variant.env}
    spans_before, served = sink.spans, 0
    argv = [sys.executable, "-m", "llmmon.cli", "router", "--port", "0", "--config", str(config)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    output = OutputCounter(proc.stdout)
    try:
        if not output.listening.wait(60) or output.address is None:
            raise RuntimeError(f"router did not start: {output.head[-2000:]!r}")
        host, port = output.address
        served = asyncio.run(load(host, port, warmup, connections, offset))["ok"]
        time.sleep(0.5)  # the warm-up's lines are written (the writer wakes every 0.1 s) before counting
        lines_before = output.lines
        cpu_before = _cpu_seconds(proc.pid)
        started = time.monotonic()
        counts = asyncio.run(load(host, port, seconds, connections, offset + 10_000_000))
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # let the writer thread catch up before counting
        ok = max(counts["ok"], 1)
        variant.cpu_us.append((_cpu_seconds(proc.pid) - cpu_before) / ok * 1e6)
        variant.rps.append(counts["ok"] / elapsed)
        variant.lines_per_inference.append((output.lines - lines_before) / ok)
        served += counts["ok"]
    finally:
        proc.terminate()  # SIGTERM: the router flushes its spans before it exits
        proc.wait(30)
        output.join(5)
    variant.spans_per_request.append((sink.spans - spans_before) / max(served, 1))


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per round and variant")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; variants alternate within a round")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    args = parser.parse_args(argv)
    sink = otlp_sink()
    full_env = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{sink.server_address[1]}/v1/traces"}
    metrics_only = Variant("metrics only", METRICS_ONLY_ENV)
    every_request = Variant("full: default logs + every request traced", full_env, full=True)
    floor = Variant("tracing floor: every request traced, spans discarded, no log lines",
                    {**NO_LOGS_ENV, **NO_EXPORTER_ENV})
    variants = [
        metrics_only,
        Variant("default logs, no tracing", {"OTEL_SDK_DISABLED": "true"}),
        every_request,
        Variant("full: default logs + 10% of requests traced", {**full_env, **SAMPLED_ENV}, full=True),
        Variant("every request traced, no log lines", {**NO_LOGS_ENV, **full_env}),
        floor,
    ]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "zero-latency.toml"
            config.write_text(ZERO_LATENCY_CONFIG)
            for round_ in range(args.rounds):
                order = variants if round_ % 2 == 0 else variants[::-1]
                for v in order:
                    run_variant(v, config, args.seconds, args.warmup, args.connections, round_ * 100_000_000, sink)
    finally:
        sink.shutdown()
    base = statistics.median(metrics_only.rps)

    def vs_metrics_only(v: Variant) -> float:
        return statistics.median(v.rps) / base

    rows = [
        (v.name, f"{statistics.median(v.rps):.0f}", f"{min(v.rps):.0f} - {max(v.rps):.0f}",
         f"{vs_metrics_only(v):.2f}x", f"{statistics.median(v.cpu_us):.0f}",
         f"{statistics.median(v.lines_per_inference):.2f}", f"{statistics.median(v.spans_per_request):.2f}")
        for v in variants
    ]
    print(machine())
    print(f"zero-latency backend, {args.connections} connections, {args.rounds} rounds x {args.seconds:g} s per variant")
    print(table(("variant", "req/s (median)", "req/s (range)", "vs metrics only", "router CPU us/req",
                 "log lines / inference", "spans exported / request"), rows))
    for v in variants:
        if v.full:
            ratio = vs_metrics_only(v)
            print(f"{v.name}: target >= {TARGET_RATIO}x metrics only {'met' if ratio >= TARGET_RATIO else 'missed'}"
                  f" ({ratio:.2f}x)")
    floor_ratio = vs_metrics_only(floor)
    print(f"tracing floor: {floor_ratio:.2f}x metrics only; " + (
        f"below {TARGET_RATIO}x, so with every request traced no cheaper log line or exporter meets the target"
        if floor_ratio < TARGET_RATIO else f"at or above {TARGET_RATIO}x"))
    lines = round(statistics.median(every_request.lines_per_inference), 2)  # window edges: +-1 request
    print(f"target <= 2 log lines per successful inference: {'met' if lines <= 2 else 'missed'} ({lines:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
