"""Synthetic input series for ``promtool test rules``, derived from an alert's threshold.

A probe knows which series an alert reads and how to make its left-hand side land on a
chosen side of the threshold:

* ``FIRE``: clearly beyond the threshold (twice it, or half of it for ``<`` alerts);
* ``CALM``: just short of it (90 % of it, or 110 % for ``<`` alerts);
* ``IDLE``: zero traffic, every counter flat (only for probes that read counters).

``Probe.edge`` gives the steady state a "before ``for``" case starts from: on the quiet side,
yet so close that one sampling step of ``FIRE`` crosses the threshold. The condition then
turns true ``Probe.true_after`` steps after the switch (one, unless the alert needs a whole
window of evidence), so the case can check ``for`` to the minute.

``Probe.context`` adds constant gauges every scenario needs (the router pod an exporter series
is joined to). Alerts with a ``floor`` (a share of traffic that must also exceed an absolute
rate) get ``floor_scenario`` cases on both sides of the floor.

Series are sampled every minute (``INTERVAL``). ``Scenario.value`` is the value Prometheus
computes once the rate windows are full; the generated tests expect it in the description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from prometheus_client.utils import floatToGoString

from alerts.promql import selector
from app_instrumentation.catalog import MetricSpec

INTERVAL_S = 60
#: Per-instance target labels of the router's series in the tests.
TARGET: Mapping[str, str] = {"instance": "router-0:9090", "job": "llm-router"}
#: Total request rate used by ratio probes (requests/s).
TRAFFIC = 10.0


class Side(StrEnum):
    FIRE = "fire"
    CALM = "calm"
    IDLE = "idle"


class Series(NamedTuple):
    """One input series: a gauge at ``level`` or a counter rising by ``level`` per step."""

    selector: str
    level: float
    counter: bool
    steps: int

    def values(self) -> str:
        return f"0+{self.level:.10g}x{self.steps}" if self.counter else f"{self.level:.10g}x{self.steps}"

    def after(self, prefix: Series, at: int) -> str:
        """``prefix``'s values up to step ``at``, this series' from the next step on."""
        rest = self.steps - at - 1
        if not self.counter:
            return f"{prefix.level:.10g}x{at} {self.level:.10g}x{rest}"
        return f"0+{prefix.level:.10g}x{at} {prefix.level * at + self.level:.10g}+{self.level:.10g}x{rest}"


@dataclass(frozen=True)
class Scenario:
    series: tuple[Series, ...]
    #: Value of the alert expression's left-hand side (None when the alert has no value to show).
    value: float | None

    def input_series(self) -> list[dict[str, str]]:
        return [{"series": s.selector, "values": s.values()} for s in self.series]

    def after(self, prefix: Scenario, at: int) -> list[dict[str, str]]:
        """Input series that follow ``prefix`` until step ``at`` and this scenario afterwards."""
        if [s.selector for s in prefix.series] != [s.selector for s in self.series]:
            raise ValueError("a prefix must read the same series as the scenario it precedes")
        return [{"series": s.selector, "values": s.after(p, at)} for p, s in zip(prefix.series, self.series, strict=True)]


def target_value(threshold: float, op: str, side: Side) -> float:
    if side is Side.FIRE:
        return threshold * 2 if op == ">" else threshold / 2
    return threshold * 0.9 if op == ">" else min(1.0, threshold * 1.1) if threshold <= 1 else threshold * 1.1


def edge_value(threshold: float, op: str, window_steps: int) -> float:
    """Steady value on the quiet side that one step of ``target_value(FIRE)`` in a window of
    ``window_steps`` pushes across the threshold: off by half a step's share of the window."""
    margin = 1 / (2 * max(window_steps, 1))
    return threshold * (1 - margin) if op == ">" else threshold * (1 + margin)


def _counter(name: str, labels: Mapping[str, str], per_second: float, steps: int) -> Series:
    return Series(selector(name, {**TARGET, **labels}), per_second * INTERVAL_S, True, steps)


def _gauge(name: str, labels: Mapping[str, str], value: float, steps: int) -> Series:
    return Series(selector(name, {**TARGET, **labels}), value, False, steps)


@dataclass(frozen=True)
class Probe:
    """Base: ``op`` is the alert's comparison; ``out_labels`` the labels the alert keeps."""

    op: str = ">"
    out_labels: Mapping[str, str] = field(default_factory=dict)
    reads_counters: bool = True
    #: Constant gauges (name, labels, value) added to every scenario.
    context: tuple[tuple[str, Mapping[str, str], float], ...] = ()

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        raise NotImplementedError

    def edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        """Where a "before ``for``" case starts (see the module doc); gauges switch at once."""
        return self.scenario(threshold, Side.CALM, steps)

    def true_after(self, window_steps: int) -> int:
        """Steps after the switch from ``edge`` to ``FIRE`` until the condition holds."""
        return 1

    def build(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        return self._with_context(self.scenario(threshold, side, steps), steps)

    def build_edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        return self._with_context(self.edge(threshold, window_steps, steps), steps)

    def _with_context(self, scenario: Scenario, steps: int) -> Scenario:
        extra = tuple(_gauge(name, labels, value, steps) for name, labels, value in self.context)
        return Scenario((*scenario.series, *extra), scenario.value)


@dataclass(frozen=True)
class GaugeProbe(Probe):
    """A gauge whose value divided by ``scale`` is compared (memory in GiB: scale 2**30)."""

    name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    scale: float = 1.0
    reads_counters: bool = False

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        value = target_value(threshold or 0.0, self.op, side)
        return Scenario((_gauge(self.name, self.labels, value * self.scale, steps),), value)


@dataclass(frozen=True)
class StateProbe(GaugeProbe):
    """A 0/1 gauge: ``bad`` when the alert should fire, the other value when calm."""

    bad: float = 0.0

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        value = self.bad if side is Side.FIRE else 1.0 - self.bad
        return Scenario((_gauge(self.name, self.labels, value, steps),), value)


@dataclass(frozen=True)
class RateProbe(Probe):
    """Counter(s) whose summed per-second rate, times ``scale``, is compared."""

    names: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    scale: float = 1.0
    #: Extra counters (name, labels) that must show traffic for the alert to be armed (guards).
    traffic: tuple[tuple[str, Mapping[str, str]], ...] = ()

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        if side is Side.IDLE:
            series = [_counter(n, self.labels, 0, steps) for n in self.names]
            series += [_counter(n, labels, 0, steps) for n, labels in self.traffic]
            return Scenario(tuple(series), None)
        value = target_value(threshold or 0.0, self.op, side)
        if value == 0 and side is Side.FIRE:
            value = 1.0  # "> 0" alerts: one event per second
        return self._at(value, steps)

    def edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        return self._at(edge_value(threshold or 0.0, self.op, window_steps), steps)

    def _at(self, value: float, steps: int) -> Scenario:
        per_series = value / self.scale / len(self.names)
        series = [_counter(n, self.labels, per_series, steps) for n in self.names]
        series += [_counter(n, labels, TRAFFIC, steps) for n, labels in self.traffic]
        return Scenario(tuple(series), value)


@dataclass(frozen=True)
class RatioProbe(Probe):
    """``part / (part + rest)`` (``rest`` given) or ``part / whole`` (``whole`` given).

    With a ``floor`` (the alert also needs ``part`` above that rate), the traffic of the
    threshold cases is high enough that only the share decides, and ``floor_scenario`` holds the
    share above the threshold while ``part``'s rate sits on either side of the floor."""

    part: tuple[str, Mapping[str, str]] = ("", {})
    rest: tuple[str, Mapping[str, str]] | None = None
    whole: tuple[str, Mapping[str, str]] | None = None
    floor: float | None = None

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        if side is Side.IDLE:
            return self._at(0.0, 0.0, steps)
        return self._at(target_value(threshold or 0.0, self.op, side), self._traffic(threshold), steps)

    def edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        return self._at(edge_value(threshold or 0.0, self.op, window_steps), self._traffic(threshold), steps)

    def floor_scenario(self, threshold: float, side: Side, steps: int) -> Scenario:
        """Share twice the threshold (at most 1); ``part`` at twice the floor (FIRE) or 90 % of it."""
        if self.floor is None:
            raise ValueError("floor_scenario needs a probe with a floor")
        share = min(1.0, 2 * threshold) if threshold > 0 else 1.0
        rate = self.floor * (2 if side is Side.FIRE else 0.9)
        return self._with_context(self._at(share, rate / share, steps), steps)

    def _traffic(self, threshold: float | None) -> float:
        """Requests/s: TRAFFIC, or enough that ``part`` stays well above the floor at 90 % of the threshold."""
        if self.floor is None or not threshold:
            return TRAFFIC
        return max(TRAFFIC, 4 * self.floor / threshold)

    def _at(self, value: float, rate: float, steps: int) -> Scenario:
        """``value`` as the share of ``rate`` requests/s (no traffic: no value)."""
        series = [_counter(*self.part, value * rate, steps)]
        if self.rest is not None:
            series.append(_counter(*self.rest, (1 - value) * rate, steps))
        if self.whole is not None:
            series.append(_counter(*self.whole, rate, steps))
        return Scenario(tuple(series), value if rate else None)


@dataclass(frozen=True)
class QuantileProbe(Probe):
    """Every observation in one histogram bucket, chosen on the wanted side of the threshold."""

    spec: MetricSpec | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    q: float = 0.95

    def edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        # No observations: no quantile, so the condition is false; the first step of FIRE puts
        # every observation of the window in the firing bucket. (A mix of calm and firing
        # buckets would cross the threshold only after several steps.)
        return self.scenario(threshold, Side.IDLE, steps)

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        assert self.spec is not None and self.spec.buckets is not None and threshold is not None
        bounds = (0.0, *map(float, self.spec.buckets))
        pairs = list(zip(bounds, bounds[1:], strict=False))
        if side is Side.IDLE:
            lower, upper, rate = 0.0, bounds[1], 0.0
        else:
            # All observations in (lower, upper]: the q-quantile is lower + q * (upper - lower).
            values = [(lo + self.q * (up - lo), lo, up) for lo, up in pairs]
            fits = [v for v in values if (v[0] > threshold) == (side is Side.FIRE)]
            if not fits:
                raise ValueError(f"{self.spec.name}: with threshold {threshold:g} the q{self.q:g} of its buckets "
                                 f"({', '.join(f'{b:g}' for b in self.spec.buckets)}) can never "
                                 f"{'exceed' if side is Side.FIRE else 'stay below'} it")
            _, lower, upper = fits[0] if side is Side.FIRE else fits[-1]
            rate = 1.0
        series = [
            _counter(self.spec.bucket, {**self.labels, "le": floatToGoString(le)}, rate if le >= upper else 0, steps)
            for le in (*self.spec.buckets, float("inf"))
        ]
        series.append(_counter(self.spec.count, self.labels, rate, steps))
        series.append(_counter(self.spec.sum, self.labels, rate * upper, steps))
        value = None if side is Side.IDLE else lower + self.q * (upper - lower)
        return Scenario(tuple(series), value)


@dataclass(frozen=True)
class ShareDownProbe(GaugeProbe):
    """``targets`` scrape targets (``up``) of which a share is down; the alert compares that share."""

    name: str = "up"
    targets: int = 20

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        down = round(target_value(threshold or 0.0, self.op, side) * self.targets)
        series = tuple(_gauge(self.name, {**self.labels, "instance": f"router-{i}:9090"}, 0 if i < down else 1, steps)
                       for i in range(self.targets))
        return Scenario(series, down / self.targets)


@dataclass(frozen=True)
class StallProbe(Probe):
    """Inferences in progress (a gauge) while the completion counter stands still.

    FIRE: some in progress, none completes; CALM: as many in progress, completing at TRAFFIC/s;
    IDLE: nothing in progress, nothing completes. The alert needs a whole window of inferences in
    progress, so from IDLE it turns true one window (plus the sample at its start) after the switch."""

    in_progress: str = ""
    completions: tuple[str, Mapping[str, str]] = ("", {})
    busy: float = 3

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        busy = 0.0 if side is Side.IDLE else self.busy
        done = TRAFFIC if side is Side.CALM else 0.0
        series = (_gauge(self.in_progress, {}, busy, steps), _counter(*self.completions, done, steps))
        return Scenario(series, busy if side is Side.FIRE else None)

    def edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        return self.scenario(threshold, Side.IDLE, steps)

    def true_after(self, window_steps: int) -> int:
        return window_steps + 1


@dataclass(frozen=True)
class TerminationProbe(Probe):
    """A container's last termination reason (one-hot gauges) and its restart counter.

    FIRE: last terminated for ``reason`` and restarting; CALM: restarting for another reason;
    IDLE: terminated for ``reason`` long ago, no restart since."""

    reason_metric: str = ""
    restarts_metric: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    reason: str = "OOMKilled"
    other_reason: str = "Error"
    #: Restarts per second while restarting (one every five minutes).
    restart_rate: float = 1 / 300

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        bad = 0.0 if side is Side.CALM else 1.0
        series = (
            _gauge(self.reason_metric, {**self.labels, "reason": self.reason}, bad, steps),
            _gauge(self.reason_metric, {**self.labels, "reason": self.other_reason}, 1.0 - bad, steps),
            _counter(self.restarts_metric, self.labels, 0.0 if side is Side.IDLE else self.restart_rate, steps),
        )
        return Scenario(series, 1.0 if side is Side.FIRE else None)


@dataclass(frozen=True)
class UsageProbe(Probe):
    """A counter's rate as a share of a gauge limit (CPU seconds/s over the CPU limit in cores)."""

    counter: tuple[str, Mapping[str, str]] = ("", {})
    limit: tuple[str, Mapping[str, str]] = ("", {})
    limit_value: float = 2.0

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        if side is Side.IDLE:
            return self._at(0.0, steps, None)
        value = target_value(threshold or 0.0, self.op, side)
        return self._at(value, steps, value)

    def edge(self, threshold: float | None, window_steps: int, steps: int) -> Scenario:
        value = edge_value(threshold or 0.0, self.op, window_steps)
        return self._at(value, steps, value)

    def _at(self, share: float, steps: int, value: float | None) -> Scenario:
        series = (_counter(*self.counter, share * self.limit_value, steps),
                  _gauge(*self.limit, self.limit_value, steps))
        return Scenario(series, value)


@dataclass(frozen=True)
class GaugeShareProbe(Probe):
    """``used / (used + free)`` of two gauges with the same labels (GPU memory in MiB)."""

    used: str = ""
    free: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    total: float = 81920.0
    reads_counters: bool = False

    def scenario(self, threshold: float | None, side: Side, steps: int) -> Scenario:
        share = target_value(threshold or 0.0, self.op, side)
        share = min(share, 1.0)  # memory cannot be more than full: FIRE is all of it
        return Scenario((_gauge(self.used, self.labels, share * self.total, steps),
                         _gauge(self.free, self.labels, (1 - share) * self.total, steps)), share)
