"""Fault injection for the example router (``/admin/faults``), to make alerts fire on demand.

POST body (every key optional; a POST changes only what it names):

- ``error_rate`` (0..1): extra share of backend calls that fail,
- ``latency_ms`` (>= 0): extra latency of every backend call,
- ``backends``: list of backend names ``error_rate``/``latency_ms`` apply to (default: all),
- ``outage``: list of backends that refuse every call (``"*"`` = all backends),
- ``rate_limit_exhausted``: list of backends whose rate limit is used up (``"*"`` = all),
- ``cache_broken`` (bool): the response cache fails (degrades health, errors_total{cache_error}),
- ``not_ready`` (bool): the router reports itself not initialized (health critical, not ready),
- ``stall`` (bool): every inference hangs (cached ones too) until the fault is cleared, as behind a
  deadlock; health, metrics and the rest of the API keep answering.

PUT takes the same body but *replaces* every fault with it (what ``llmmon fault`` sends, so one
drill step never silently adds to the last). DELETE clears every fault; GET shows them, and
``restore_bodies`` turns that answer back into requests (a restarted router gets its faults back).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ALL = "*"
FLAGS = ("cache_broken", "not_ready", "stall")
KEYS = frozenset({"error_rate", "latency_ms", "backends", "outage", "rate_limit_exhausted", *FLAGS})


class FaultError(ValueError):
    """A bad /admin/faults body; the message names the key."""


@dataclass
class BackendFaults:
    error_rate: float = 0.0
    latency_ms: float = 0.0
    outage: bool = False
    rate_limit_exhausted: bool = False


@dataclass
class Faults:
    backend_names: tuple[str, ...]
    backends: dict[str, BackendFaults] = field(default_factory=dict)
    cache_broken: bool = False
    not_ready: bool = False
    stall: bool = False

    def __post_init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.backends = {name: BackendFaults() for name in self.backend_names}
        self.cache_broken = False
        self.not_ready = False
        self.stall = False

    def for_backend(self, name: str) -> BackendFaults:
        return self.backends.get(name) or BackendFaults()

    def to_json(self) -> dict[str, Any]:
        return {
            "backends": {name: vars(f).copy() for name, f in sorted(self.backends.items())},
            **{flag: getattr(self, flag) for flag in FLAGS},
        }

    def replace(self, body: Any) -> None:
        """Every fault as ``body`` says, the others cleared (validated first: a bad body changes nothing)."""
        self._parse(body)
        self.clear()
        self.apply(body)

    def apply(self, body: Any) -> None:
        """Validate the whole body first, then apply it (a bad body changes nothing)."""
        updates = self._parse(body)
        for name, changes in updates.items():
            for key, value in changes.items():
                setattr(self.backends[name], key, value)
        for flag in FLAGS:
            if flag in body:
                setattr(self, flag, body[flag])

    def _parse(self, body: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(body, Mapping):
            raise FaultError("body: expected a JSON object")
        unknown = sorted(set(body) - KEYS)
        if unknown:
            raise FaultError(f"unknown keys {unknown}; known: {sorted(KEYS)}")
        for key in FLAGS:
            if key in body and not isinstance(body[key], bool):
                raise FaultError(f"{key}: expected true or false")
        scoped = self._names(body.get("backends", [ALL]), "backends")
        updates: dict[str, dict[str, Any]] = {name: {} for name in self.backend_names}
        if "error_rate" in body:
            rate = _number(body["error_rate"], "error_rate", upper=1.0)
            for name in scoped:
                updates[name]["error_rate"] = rate
        if "latency_ms" in body:
            latency = _number(body["latency_ms"], "latency_ms")
            for name in scoped:
                updates[name]["latency_ms"] = latency
        for key in ("outage", "rate_limit_exhausted"):
            if key in body:
                named = set(self._names(body[key], key))
                for name in self.backend_names:
                    updates[name][key] = name in named
        return updates

    def _names(self, value: Any, key: str) -> Iterable[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise FaultError(f"{key}: expected a list of backend names")
        if ALL in value:
            return self.backend_names
        unknown = sorted(set(value) - set(self.backend_names))
        if unknown:
            raise FaultError(f"{key}: unknown backends {unknown}; known: {list(self.backend_names)}")
        return value


def _number(value: Any, key: str, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or (upper is not None and value > upper):
        bound = f"between 0 and {upper:g}" if upper is not None else ">= 0"
        raise FaultError(f"{key}: expected a number {bound}, got {value!r}")
    return float(value)


def restore_bodies(snapshot: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(method, body) requests that bring a fresh router's faults to ``snapshot`` (a GET answer):
    a PUT with the router-wide faults, then a POST per backend with an error rate or extra latency."""
    backends: Mapping[str, Mapping[str, Any]] = snapshot.get("backends", {})
    first = {key: sorted(name for name, f in backends.items() if f.get(key)) for key in ("outage", "rate_limit_exhausted")}
    first |= {key: bool(snapshot.get(key)) for key in FLAGS}
    requests = [("PUT", first)]
    for name, f in sorted(backends.items()):
        changed = {key: f[key] for key in ("error_rate", "latency_ms") if f.get(key)}
        if changed:
            requests.append(("POST", {"backends": [name], **changed}))
    return requests
