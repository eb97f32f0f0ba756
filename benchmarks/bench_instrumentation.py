"""Per-inference cost of the instrumentation vs bare prometheus_client calls for the same series.

Run: ``python -m benchmarks.bench_instrumentation [--number N] [--repeat R]``. Prints a table;
it asserts nothing (timings depend on the machine). Target: collector <= 1.3x the bare
``.labels(...)`` calls and under 5 us per recorded inference on one core.

Rows:
- ``collector.on_complete``: what a router pays per inference (allow-lists, series bound,
  error guard, child cache).
- ``bare labels() calls``: the same 10 updates written by hand against prometheus_client,
  resolving children with ``.labels(...)`` each time (what the seed's JS did).
- ``bare pre-bound children``: the floor: children resolved once, only inc/observe remain.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram

from app_instrumentation import catalog
from app_instrumentation.catalog import MetricSpec
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.labels import LabelPolicy
from benchmarks.timing import machine

MODEL, STRATEGY, BACKEND = "llama-3-8b", "balanced", "vllm"
RESULT = InferenceResult(
    model=MODEL, backend=BACKEND, output_tokens=120, duration_seconds=1.8, prompt_tokens=40,
    ttft_seconds=0.2, backend_seconds=1.7, cost_usd=0.00012,
)
CTX = InferenceContext(model=MODEL, strategy=STRATEGY, backend=BACKEND)


def _bare(spec: MetricSpec, registry: CollectorRegistry) -> Counter | Histogram:
    if spec.buckets is not None:
        return Histogram(spec.base_name, spec.help, spec.labels, registry=registry, buckets=spec.buckets)
    return Counter(spec.base_name, spec.help, spec.labels, registry=registry)


def _bare_families() -> list[Counter | Histogram]:
    """The ten series' families as plain prometheus_client objects on a fresh registry."""
    r = CollectorRegistry()
    specs = (
        catalog.INFERENCE, catalog.INFERENCE_DURATION, catalog.TOKENS_GENERATED, catalog.TOKENS_PER_SECOND,
        catalog.TIME_TO_FIRST_TOKEN, catalog.TIME_PER_OUTPUT_TOKEN, catalog.TOKENS, catalog.COST,
        catalog.BACKEND_REQUEST_DURATION,
    )
    return [_bare(spec, r) for spec in specs]


def bare_labels_calls() -> Callable[[], None]:
    count, duration, generated, speed, ttft, tpot, tokens, cost, backend = _bare_families()

    def record() -> None:
        res = RESULT
        count.labels(MODEL, STRATEGY, "success", "false").inc()
        duration.labels(MODEL, STRATEGY).observe(res.duration_seconds)
        generated.labels(MODEL, STRATEGY).inc(res.output_tokens)
        speed.labels(MODEL).observe(res.output_tokens / res.duration_seconds)
        ttft.labels(MODEL, BACKEND).observe(res.ttft_seconds)
        tpot.labels(MODEL, BACKEND).observe((res.duration_seconds - res.ttft_seconds) / (res.output_tokens - 1))
        tokens.labels(MODEL, BACKEND, "input").inc(res.prompt_tokens)
        tokens.labels(MODEL, BACKEND, "output").inc(res.output_tokens)
        cost.labels(MODEL, BACKEND).inc(res.cost_usd)
        backend.labels(MODEL, BACKEND, "success").observe(res.backend_seconds)

    return record


def bare_prebound_children() -> Callable[[], None]:
    count, duration, generated, speed, ttft, tpot, tokens, cost, backend = _bare_families()
    c1, d1, g1 = count.labels(MODEL, STRATEGY, "success", "false"), duration.labels(MODEL, STRATEGY), generated.labels(MODEL, STRATEGY)
    s1, t1, p1 = speed.labels(MODEL), ttft.labels(MODEL, BACKEND), tpot.labels(MODEL, BACKEND)
    i1, o1, k1, b1 = tokens.labels(MODEL, BACKEND, "input"), tokens.labels(MODEL, BACKEND, "output"), cost.labels(MODEL, BACKEND), backend.labels(MODEL, BACKEND, "success")

    def record() -> None:
        res = RESULT
        c1.inc()
        d1.observe(res.duration_seconds)
        g1.inc(res.output_tokens)
        s1.observe(res.output_tokens / res.duration_seconds)
        t1.observe(res.ttft_seconds)
        p1.observe((res.duration_seconds - res.ttft_seconds) / (res.output_tokens - 1))
        i1.inc(res.prompt_tokens)
        o1.inc(res.output_tokens)
        k1.inc(res.cost_usd)
        b1.observe(res.backend_seconds)

    return record


def collector_on_complete() -> Callable[[], None]:
    collector = MetricsCollector(LabelPolicy.of([MODEL], [BACKEND], [STRATEGY]), process_metrics=False)

    def record() -> None:
        collector.on_complete(CTX, RESULT)

    return record


def measure(fn: Callable[[], None], number: int, repeat: int) -> float:
    """Best-of-``repeat`` microseconds per call (the least disturbed run)."""
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per timing run")
    parser.add_argument("--repeat", type=int, default=7, help="timing runs; the best is reported")
    args = parser.parse_args(argv)
    rows = [
        ("collector.on_complete", measure(collector_on_complete(), args.number, args.repeat)),
        ("bare labels() calls", measure(bare_labels_calls(), args.number, args.repeat)),
        ("bare pre-bound children", measure(bare_prebound_children(), args.number, args.repeat)),
    ]
    ours = rows[0][1]
    print(machine())
    print(f"per recorded inference (10 series updates), best of {args.repeat} x {args.number} calls")
    print(f"{'variant':<26}{'us/inference':>14}{'collector / this':>18}")
    for name, micros in rows:
        print(f"{name:<26}{micros:>14.2f}{ours / micros:>17.2f}x")
    print(f"target <= 1.3x bare labels() calls: {'met' if ours / rows[1][1] <= 1.3 else 'missed'}; "
          f"target < 5 us: {'met' if ours < 5 else 'missed'}; "
          f"overhead over the pre-bound floor: {ours - rows[2][1]:.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
