"""Synthetic history of every catalog metric as OpenMetrics text, for ``promtool tsdb create-blocks-from``.

The label values are the env's configured models/backends/strategies and the catalog's
enums, so dashboard and recording-rule queries find the series they select. Values are
deterministic (seeded) and shaped like traffic: a daily cycle, a small error share,
exponential latency over each histogram's real buckets.
"""

from __future__ import annotations

import itertools
import math
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from app_instrumentation.catalog import ERROR_TYPES, METRICS, Kind, MetricSpec

JOB = "llm-router"
INSTANCE = "127.0.0.1:8080"


@dataclass(frozen=True)
class Shape:
    models: tuple[str, ...]
    backends: tuple[str, ...]
    strategies: tuple[str, ...]
    #: At most this many label sets per metric family (keeps the file size bounded).
    max_label_sets: int = 24


def label_values(spec: MetricSpec, label: str, shape: Shape) -> tuple[str, ...]:
    if label in spec.enums:
        return tuple(spec.enums[label])
    return {
        "model": shape.models, "backend": shape.backends, "from_backend": shape.backends,
        "to_backend": shape.backends, "strategy": shape.strategies, "type": ERROR_TYPES[:2],
        "method": ("POST",), "route": ("/api/generate",), "status_code": ("200", "500"),
        "format": ("gguf",), "cache_type": ("response",), "protocol": ("http",),
        "queue_type": ("inference",), "check": ("router_initialized", "models_available"),
        "component": ("llm_router",), "operation": ("inference_complete",), "metric": (spec.name,),
        "stream": ("app",),
    }.get(label, ("default",))


def label_sets(spec: MetricSpec, shape: Shape) -> list[dict[str, str]]:
    product = itertools.product(*(label_values(spec, label, shape) for label in spec.labels))
    return [dict(zip(spec.labels, values, strict=True)) for values in itertools.islice(product, shape.max_label_sets)]


def _labels(labels: dict[str, str]) -> str:
    merged = {"instance": INSTANCE, "job": JOB, **labels}
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(merged.items())) + "}"


def _load(t: float, phase: float) -> float:
    """Traffic multiplier with a daily cycle (never zero: the router is always in use)."""
    return 1.0 + 0.6 * math.sin(2 * math.pi * (t / 86_400 + phase))


def _error_share(labels: dict[str, str]) -> float:
    bad = labels.get("status") == "error" or labels.get("status_code", "").startswith("5")
    return 0.03 if bad else 1.0


def family_lines(spec: MetricSpec, shape: Shape, start: int, end: int, step: int, rng: random.Random) -> Iterator[str]:
    base = spec.name.removesuffix("_total") if spec.kind is Kind.COUNTER else spec.name
    yield f"# TYPE {base} {spec.kind.value}"
    for labels in label_sets(spec, shape):
        rate = rng.uniform(0.2, 3.0) * _error_share(labels)
        phase = rng.random()
        if spec.kind is Kind.HISTOGRAM:
            yield from _histogram(spec, labels, rate, phase, start, end, step, rng)
        elif spec.kind is Kind.COUNTER:
            total, lbl = 0.0, _labels(labels)
            for t in range(start, end, step):
                total += rate * _load(t, phase) * step
                yield f"{spec.name}{lbl} {total:.3f} {t}"
        else:
            level, lbl = rng.uniform(1, 100), _labels(labels)
            for t in range(start, end, step):
                yield f"{spec.name}{lbl} {level * _load(t, phase):.3f} {t}"


def _histogram(spec: MetricSpec, labels: dict[str, str], rate: float, phase: float,
               start: int, end: int, step: int, rng: random.Random) -> Iterator[str]:
    buckets = tuple(spec.buckets or ())
    mean = buckets[len(buckets) // 2] * rng.uniform(0.5, 1.5)
    cdf = [1 - math.exp(-le / mean) for le in buckets]
    counts = [0.0] * len(buckets)
    total = total_sum = 0.0
    bucket_labels = [_labels({**labels, "le": f"{le:g}" if "." in f"{le:g}" else f"{le:g}.0"}) for le in buckets]
    inf_labels, lbl = _labels({**labels, "le": "+Inf"}), _labels(labels)
    lines: list[list[str]] = [[] for _ in range(len(buckets) + 3)]
    for t in range(start, end, step):
        n = round(rate * _load(t, phase) * step)
        total += n
        total_sum += n * mean
        for i, share in enumerate(cdf):
            counts[i] += round(n * share)
            lines[i].append(f"{spec.bucket}{bucket_labels[i]} {counts[i]:.0f} {t}")
        lines[-3].append(f"{spec.bucket}{inf_labels} {total:.0f} {t}")
        lines[-2].append(f"{spec.count}{lbl} {total:.0f} {t}")
        lines[-1].append(f"{spec.sum}{lbl} {total_sum:.3f} {t}")
    for series in lines:  # one series after the other, each in time order
        yield from series


def write_openmetrics(out: TextIO, shape: Shape, start: int, end: int, step: int, seed: int = 7) -> int:
    """Writes the whole history; returns the number of samples."""
    rng = random.Random(seed)
    samples = 0
    for spec in METRICS:
        for line in family_lines(spec, shape, start, end, step, rng):
            samples += not line.startswith("#")
            out.write(line + "\n")
    out.write("# TYPE up gauge\n")
    for t in range(start, end, step):
        out.write(f"up{_labels({})} 1 {t}\n")
        samples += 1
    out.write("# EOF\n")
    return samples


class ChunkedOpenMetrics:
    """A text sink that sends each sample line to the file of its time chunk (metadata to every file).

    ``promtool tsdb create-blocks-from openmetrics`` (2.42) reads its whole input once per 2-hour
    block, so one 7-day file costs 84 passes; files of ``chunk`` seconds each cost one pass per
    block they hold. Chunks start at ``start`` (a multiple of 2 h), so no block spans two files.
    The files have no ``# EOF``: ``openmetrics_file`` joins parts of one chunk and ends them.
    """

    def __init__(self, folder: Path, prefix: str, start: int, end: int, chunk: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.start, self.chunk = start, chunk
        self.paths = [folder / f"{prefix}-{i:03d}.om" for i in range((end - start + chunk - 1) // chunk)]
        self.files = [p.open("w", buffering=1 << 20) for p in self.paths]

    def write(self, text: str) -> None:
        if text.startswith("# EOF"):
            return
        if text.startswith("#"):
            for f in self.files:
                f.write(text)
        else:
            self.files[(int(float(text.rsplit(" ", 1)[1])) - self.start) // self.chunk].write(text)

    def close(self) -> None:
        for f in self.files:
            f.close()


def openmetrics_file(parts: list[Path], path: Path) -> Path:
    """One OpenMetrics file from chunk parts (their families are distinct), ended with ``# EOF``."""
    with path.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
        out.write(b"# EOF\n")
    return path


def write_files(folder: Path, shape: Shape, start: int, end: int, step: int, chunk: int) -> tuple[int, list[Path]]:
    """The history as OpenMetrics parts of ``chunk`` seconds each; (samples, paths)."""
    chunks = ChunkedOpenMetrics(folder, "raw", start, end, chunk)
    try:
        samples = write_openmetrics(chunks, shape, start, end, step)  # type: ignore[arg-type]
    finally:
        chunks.close()
    return samples, chunks.paths
