"""Benchmark: Prometheus memory per active series, measured on the real Prometheus here.

A static exposition of N series (counters with a ``model``/``backend``/``instance_id`` label set,
values changing every scrape) is served to Prometheus, scraped every second for ``--seconds``;
then Prometheus' own ``process_resident_memory_bytes`` and ``go_memstats_heap_inuse_bytes`` are
read with ``prometheus_tsdb_head_series``. Two sizes give the cost of one more series as the
difference (the fixed cost of the process cancels out). Prints a table; asserts nothing.

Run: ``python -m benchmarks.bench_series_memory [--small 5000] [--large 100000] [--seconds 60]``.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks.timing import load, machine, table
from llmmon.checkers import require
from llmmon.localstack.api import Prometheus
from llmmon.localstack.httpjson import wait_ready, wait_until
from llmmon.localstack.ports import HOST, free_port
from llmmon.localstack.processes import Supervisor


def exposition(series: int, tick: int) -> bytes:
    lines = ["# TYPE bench_requests_total counter"]
    lines += [f'bench_requests_total{{model="m{i % 50}",backend="b{i % 7}",instance_id="{i}"}} {tick * (i % 13 + 1)}'
              for i in range(series)]
    return ("\n".join(lines) + "\n").encode()


class Target:
    """An exporter whose counters move on every scrape (so each scrape appends real samples)."""

    def __init__(self, series: int) -> None:
        ticks = itertools.count()
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                body = exposition(target.series, next(ticks))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.series = series
        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.server.server_address[1]}"


def measure(series: int, seconds: float, workdir: Path) -> dict[str, float]:
    target = Target(series)
    port = free_port()
    config = workdir / f"prometheus-{series}.yml"
    config.write_text(
        "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
        f"  - job_name: bench\n    static_configs: [{{targets: ['{target.address}']}}]\n"
        f"  - job_name: self\n    static_configs: [{{targets: ['{HOST}:{port}']}}]\n")
    supervisor = Supervisor(workdir / "logs")
    try:
        child = supervisor.start(f"prometheus-{series}", [
            require("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={workdir / f'data-{series}'}",
            f"--web.listen-address={HOST}:{port}"])
        wait_ready(f"http://{HOST}:{port}/-/ready", 60, child)
        prom = Prometheus(f"http://{HOST}:{port}")
        wait_until(lambda: prom.value("prometheus_tsdb_head_series") >= series, 120, f"{series} head series")
        time.sleep(seconds)
        return {name: prom.value(f'{name}{{job="self"}}') for name in
                ("prometheus_tsdb_head_series", "process_resident_memory_bytes", "go_memstats_heap_inuse_bytes")}
    finally:
        supervisor.stop_all()
        target.server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args(argv)
    print(machine())
    print(f"before: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-series-") as tmp:
        small, large = (measure(n, args.seconds, Path(tmp)) for n in (args.small, args.large))
    print(f"after: {load()}")
    delta = large["prometheus_tsdb_head_series"] - small["prometheus_tsdb_head_series"]
    rows = [[f"{int(m['prometheus_tsdb_head_series']):,}", f"{m['process_resident_memory_bytes'] / 2**20:.0f} MiB",
             f"{m['go_memstats_heap_inuse_bytes'] / 2**20:.0f} MiB"] for m in (small, large)]
    print(table(["head series", "resident memory", "Go heap in use"], rows))
    for name, label in (("process_resident_memory_bytes", "resident"), ("go_memstats_heap_inuse_bytes", "heap")):
        per = (large[name] - small[name]) / delta
        print(f"{label}: {per:,.0f} bytes per additional series = {per * 1e6 / 2**30:.1f} GiB per million series")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
