"""Per-inference cost of the instrumentation vs bare prometheus_client calls for the same series.

Run: ``python -m benchmarks.bench_instrumentation [--number N] [--rounds R]``. Each round times
N calls of every variant, in a rotated order; the table shows the median over the rounds with
its min–max, and the ratios round by round. It asserts nothing (timings depend on the machine
and its load, printed before and after). Target: collector <= 1.3x the bare ``.labels(...)``
calls and under 5 us per recorded inference on one core.

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
from benchmarks.timing import interleaved, load, machine, ratio, table

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


def per_call_us(fn: Callable[[], None], number: int) -> Callable[[], float]:
    """One timing run: microseconds per call over ``number`` calls."""
    return lambda: timeit.timeit(fn, number=number) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000, help="calls per timing run")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved timing runs of every variant")
    args = parser.parse_args(argv)
    before = load()
    variants = {
        "collector.on_complete": collector_on_complete(),
        "bare labels() calls": bare_labels_calls(),
        "bare pre-bound children": bare_prebound_children(),
    }
    spreads = interleaved({name: per_call_us(fn, args.number) for name, fn in variants.items()}, args.rounds)
    ours = spreads["collector.on_complete"]
    print(machine())
    print(f"before: {before}\nafter:  {load()}")
    print(f"per recorded inference (10 series updates): {args.rounds} interleaved rounds of {args.number} calls "
          "per variant, median (min–max)")
    print(table(("variant", "us/inference", "collector / this"),
                [(name, s.text(2), ratio(ours, s).text(2, "x")) for name, s in spreads.items()]))
    bare = ratio(ours, spreads["bare labels() calls"]).median
    print(f"target <= 1.3x bare labels() calls: {'met' if bare <= 1.3 else 'missed'} (median {bare:.2f}x); "
          f"target < 5 us: {'met' if ours.median < 5 else 'missed'} (median {ours.median:.2f} us); "
          f"overhead over the pre-bound floor: {ours.median - spreads['bare pre-bound children'].median:.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
