"""The seed's health checks, done for real.

router_initialized, models_available and memory_usage are critical (as in the seed);
disk_space, cache_round_trip and inference_probe only degrade. The inference probe is
opt-in and rate-limited: it costs a real inference, so between runs the last outcome is reused.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import psutil

from app_instrumentation.health import Check, Outcome


class AsyncCache(Protocol):
    async def get(self, key: str) -> Any: ...

    async def set(self, key: str, value: Any) -> None: ...

    async def delete(self, key: str) -> None: ...


def router_initialized(is_initialized: Callable[[], bool]) -> Check:
    def check() -> Outcome:
        ok = bool(is_initialized())
        return Outcome(ok, "router is initialized" if ok else "router is not initialized")

    return Check("router_initialized", check, critical=True)


def models_available(loaded_models: Callable[[], Sequence[str]]) -> Check:
    def check() -> Outcome:
        models = list(loaded_models())
        return Outcome(bool(models), f"{len(models)} models loaded", {"models": models})

    return Check("models_available", check, critical=True)


def memory_usage(limit_bytes: float | None = None, max_ratio: float = 0.9) -> Check:
    """Resident memory of this process against ``limit_bytes`` (default: the machine's RAM)."""
    process = psutil.Process()

    def check() -> Outcome:
        rss = process.memory_info().rss
        limit = limit_bytes or psutil.virtual_memory().total
        ratio = rss / limit
        details = {"rss_bytes": rss, "limit_bytes": limit, "usage_ratio": round(ratio, 4)}
        return Outcome(ratio < max_ratio, f"memory usage {ratio:.1%} of {limit:.0f} bytes", details)

    return Check("memory_usage", check, critical=True)


def disk_space(path: str = ".", max_ratio: float = 0.9) -> Check:
    """Used share of the filesystem holding ``path``, as ``df`` computes it (reserved blocks excluded)."""

    def check() -> Outcome:
        st = os.statvfs(path)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        available = st.f_bavail * st.f_frsize
        ratio = used / (used + available) if used + available else 1.0
        details = {"path": path, "used_bytes": used, "available_bytes": available, "usage_ratio": round(ratio, 4)}
        return Outcome(ratio < max_ratio, f"disk usage {ratio:.1%} at {path}", details)

    return Check("disk_space", check)


def cache_round_trip(cache: AsyncCache) -> Check:
    """Write a unique value through the router's cache, read it back, delete it."""

    async def check() -> Outcome:
        key = f"health-check:{uuid.uuid4().hex}"
        value = uuid.uuid4().hex
        await cache.set(key, value)
        try:
            read = await cache.get(key)
        finally:
            await cache.delete(key)
        ok = read == value
        return Outcome(ok, "cache round-trip ok" if ok else "cache returned a different value")

    return Check("cache_round_trip", check)


def inference_probe(
    probe: Callable[[], Awaitable[Any]], min_interval: float = 60.0, timeout: float = 10.0
) -> Check:
    """Run a tiny real inference at most once per ``min_interval`` seconds."""
    last: dict[str, Any] = {}

    async def check() -> Outcome:
        now = time.monotonic()
        if "outcome" in last and now - last["at"] < min_interval:
            return last["outcome"]
        last["at"] = now  # set before running: a slow probe is not restarted by concurrent callers
        try:
            answer = await probe()
            outcome = Outcome(True, "inference probe ok", {"answer_chars": len(str(answer))})
        except Exception as exc:
            outcome = Outcome(False, f"inference probe failed: {type(exc).__name__}: {exc}")
        last["outcome"] = outcome
        return outcome

    return Check("inference_probe", check, timeout=timeout)
