"""Shared helpers for the benchmark commands: interleaved runs, median (min–max), the machine and its load.

Every benchmark runs its variants in rounds, each round running every variant once in a
rotated order (``interleaved``), so a burst of load from another job hits all variants
alike instead of one. It reports the median with the min–max of the rounds and prints the
load average before and after: the numbers keep their context.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def machine() -> str:
    """``nproc`` and the CPU model, printed above every table so numbers keep their context."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, Python {platform.python_version()}"


def load() -> str:
    """The load average: above the CPU count, other jobs competed with the benchmark."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1 / 5 / 15 min) on {os.cpu_count()} CPUs"


def seconds(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Spread:
    """The values of one variant over the rounds."""

    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def scaled(self, factor: float) -> Spread:
        return Spread(tuple(v * factor for v in self.values))

    def text(self, digits: int = 2, unit: str = "") -> str:
        """``5.61 (5.35–6.02)``: median, then the fastest and slowest round."""
        if len(self.values) == 1:
            return f"{self.values[0]:.{digits}f}{unit}"
        return f"{self.median:.{digits}f}{unit} ({min(self.values):.{digits}f}–{max(self.values):.{digits}f})"


def ratio(numerator: Spread, denominator: Spread) -> Spread:
    """Round-by-round ratio of two variants measured in the same rounds."""
    return Spread(tuple(n / d for n, d in zip(numerator.values, denominator.values, strict=True)))


def geomean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values)) if values else float("nan")


def interleaved(variants: Mapping[str, Callable[[], float]], rounds: int, warmup: bool = True) -> dict[str, Spread]:
    """Run each variant once per round, in an order rotated every round; each call returns its measurement."""
    names = list(variants)
    if warmup:
        for name in names:
            variants[name]()
    values: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            values[name].append(variants[name]())
    return {name: Spread(tuple(v)) for name, v in values.items()}


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header], *[[f"{c:.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
