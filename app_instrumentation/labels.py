"""Bounded label values: allow-lists, closed enums and a per-metric series bound.

A router sees open-ended strings (model names from clients, backend ids, strategies).
Exposing them raw lets one client create unbounded time series. Here every label value is
mapped to a known value or to ``catalog.OTHER``, and each metric holds at most
``max_series`` label sets; beyond that, new label sets fold into an all-``other`` series.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from app_instrumentation.catalog import OTHER, MetricSpec

#: Which allow-list governs each allow-listed label.
_ALLOW_LIST_OF = {
    "model": "models",
    "backend": "backends",
    "from_backend": "backends",
    "to_backend": "backends",
    "strategy": "strategies",
}

DEFAULT_MAX_SERIES = 500
#: Raw label tuples remembered per metric for the fast path; beyond this, lookups take the slow path.
RAW_CACHE_SIZE = 4096


def label_str(value: object) -> str:
    """Label text: booleans as the seed wrote them ("true"/"false"), everything else ``str``."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _allow_list(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


@dataclass(frozen=True)
class LabelPolicy:
    """The configured allow-lists and the series bound. An empty allow-list maps every value to other.

    An allow-list of None (``LabelPolicy.open``) keeps every value, bounded only by ``max_series``:
    for routers whose names come from their own configuration (never from a client), like LiteLLM's
    model groups and deployments.
    """

    models: frozenset[str] | None = frozenset()
    backends: frozenset[str] | None = frozenset()
    strategies: frozenset[str] | None = frozenset()
    max_series: int = DEFAULT_MAX_SERIES

    @classmethod
    def of(
        cls,
        models: Iterable[str] | None = (),
        backends: Iterable[str] | None = (),
        strategies: Iterable[str] | None = (),
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> LabelPolicy:
        """Allow-lists from any iterables; None leaves that label open (bounded by ``max_series`` only)."""
        if max_series < 1:
            raise ValueError(f"max_series must be at least 1, got {max_series}")
        return cls(_allow_list(models), _allow_list(backends), _allow_list(strategies), max_series)

    @classmethod
    def open(cls, max_series: int = DEFAULT_MAX_SERIES) -> LabelPolicy:
        """No allow-lists: every model, backend and strategy value is kept until ``max_series``."""
        return cls.of(None, None, None, max_series)

    def allowed_values(self, spec: MetricSpec) -> Mapping[str, frozenset[str]]:
        """label -> closed set of values for every label of ``spec`` that has one."""
        allowed: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in spec.enums.items()}
        for label in spec.labels:
            allow_list = getattr(self, _ALLOW_LIST_OF[label]) if label in _ALLOW_LIST_OF else None
            if allow_list is not None:
                allowed[label] = allow_list
        return MappingProxyType(allowed)


class Family:
    """One metric with safe labels: ``child(*raw_values)`` returns the prometheus_client child.

    Hot path: one dict lookup keyed by the raw values. Slow path (first sight of a raw tuple):
    map values through allow-lists/enums, apply the series bound, create the child.
    """

    __slots__ = ("spec", "metric", "_closed", "_max_series", "_series", "_children", "_overflow", "_on_overflow")

    def __init__(
        self,
        spec: MetricSpec,
        metric: Any,
        policy: LabelPolicy,
        on_overflow: Callable[[MetricSpec], None],
    ) -> None:
        self.spec = spec
        self.metric = metric
        allowed = policy.allowed_values(spec)
        self._closed: tuple[frozenset[str] | None, ...] = tuple(allowed.get(label) for label in spec.labels)
        self._max_series = policy.max_series
        self._series: set[tuple[str, ...]] = set()
        self._children: dict[tuple[object, ...], Any] = {}
        self._overflow = tuple(OTHER for _ in spec.labels)
        self._on_overflow = on_overflow

    def child(self, *raw: object) -> Any:
        try:
            return self._children[raw]
        except KeyError:
            return self._resolve(raw)

    def safe_values(self, raw: tuple[object, ...]) -> tuple[str, ...]:
        if len(raw) != len(self._closed):
            raise ValueError(f"{self.spec.name} takes labels {self.spec.labels}, got {len(raw)} values")
        values = []
        for value, closed in zip(raw, self._closed, strict=True):
            text = label_str(value)
            values.append(text if closed is None or text in closed else OTHER)
        return tuple(values)

    def _resolve(self, raw: tuple[object, ...]) -> Any:
        values = self.safe_values(raw)
        if values not in self._series:
            if len(self._series) >= self._max_series:
                # Not cached: every folded observation is counted.
                self._on_overflow(self.spec)
                return self.metric.labels(*self._overflow)
            self._series.add(values)
        child = self.metric.labels(*values) if values else self.metric
        if len(self._children) < RAW_CACHE_SIZE:
            self._children[raw] = child
        return child

    def preinitialize(self, *raw: object) -> None:
        """Create a child (value 0) so the series exists before the first event."""
        self.child(*raw)
