"""Benchmark: time to serve one ``/metrics`` scrape at about 1k and 10k series.

The router's real collector and its real ``/metrics`` ASGI endpoint (``MonitoringApp``) are
driven in-process (no network), after completed inferences over enough distinct
model × backend × strategy combinations to reach the target series count.
Each round scrapes every (series count, format) once, in a rotated order; the table shows the
median over the rounds with its min–max, and the machine's load before and after.
Run: ``python -m benchmarks.bench_scrape [--rounds 15]`` from the repository root.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from typing import Any

from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.exposition import METRICS_PATH, MonitoringApp
from app_instrumentation.labels import LabelPolicy
from benchmarks.timing import interleaved, load, machine, seconds, table

TARGETS = (1_000, 10_000)


def populated_collector(target_series: int) -> tuple[MetricsCollector, int]:
    """A collector holding at least ``target_series`` samples (returns the exact count)."""
    models = [f"model-{i}" for i in range(40)]
    backends = [f"backend-{i}" for i in range(8)]
    strategies = ["quick", "balanced", "quality", "cost"]
    collector = MetricsCollector(LabelPolicy.of(models, backends, strategies, max_series=100_000),
                                 process_metrics=False)
    combos = itertools.product(models, backends, strategies)
    count = 0
    for i, (model, backend, strategy) in enumerate(combos):
        ctx = InferenceContext(model=model, strategy=strategy, backend=backend, prompt_tokens=20)
        collector.on_complete(ctx, InferenceResult(
            model=model, backend=backend, output_tokens=50, duration_seconds=0.5, prompt_tokens=20,
            ttft_seconds=0.1, backend_seconds=0.4, cost_usd=0.001))
        if i % 10 == 0:
            count = series_count(collector)
            if count >= target_series:
                break
    return collector, series_count(collector)


def series_count(collector: MetricsCollector) -> int:
    return sum(len(metric.samples) for metric in collector.registry.collect())


async def _scrape(app: MonitoringApp, accept: bytes) -> bytes:
    body = bytearray()
    scope = {"type": "http", "method": "GET", "path": METRICS_PATH, "headers": [(b"accept", accept)]}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return bytes(body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved scrapes of every variant")
    args = parser.parse_args(argv)
    before = load()
    variants, sizes = {}, {}
    for target in TARGETS:
        collector, series = populated_collector(target)
        app = MonitoringApp(collector.registry)
        for fmt, accept in (("text 0.0.4", b"text/plain"), ("OpenMetrics", b"application/openmetrics-text")):
            key = (series, fmt)
            sizes[key] = len(asyncio.run(_scrape(app, accept)))
            variants[key] = lambda app=app, accept=accept: seconds(lambda: asyncio.run(_scrape(app, accept)))
    spreads = interleaved(variants, args.rounds)  # type: ignore[arg-type]
    print(machine())
    print(f"before: {before}\nafter:  {load()}")
    print(f"{args.rounds} interleaved rounds, median (min–max)")
    print(table(("series", "format", "body", "scrape ms"),
                [(series, fmt, f"{sizes[(series, fmt)] / 1024:.0f} KiB", spreads[(series, fmt)].scaled(1000).text(1))
                 for series, fmt in variants]))


if __name__ == "__main__":
    main()
