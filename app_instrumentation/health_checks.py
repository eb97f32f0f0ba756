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
from pathlib import Path
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


CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_cgroup_v2(proc_cgroup: Path) -> str:
    """This process's cgroup v2 path (``0::/kubepods/...``), or "" when unknown."""
    try:
        for line in proc_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                return line[3:].strip("/")
    except OSError:
        pass
    return ""


def cgroup_memory_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> int | None:
    """The container's memory limit in bytes (cgroup v2 ``memory.max``, else v1
    ``memory.limit_in_bytes``); None when there is none (``max``, or v1's near-2**63 "unlimited")."""
    own = _own_cgroup_v2(proc_cgroup)
    candidates = [root / own / "memory.max"] if own else []
    candidates += [root / "memory.max", root / "memory" / "memory.limit_in_bytes"]
    for path in candidates:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return value if 0 < value < 2**62 else None
    return None


def memory_usage(
    limit_bytes: float | None = None, max_ratio: float = 0.9, cgroup_root: Path = CGROUP_ROOT,
    proc_cgroup: Path = Path("/proc/self/cgroup"),
) -> Check:
    """Resident memory of this process against ``limit_bytes``, else the container's cgroup memory
    limit (what the OOM killer enforces), else the machine's RAM."""
    process = psutil.Process()

    def check() -> Outcome:
        rss = process.memory_info().rss
        limit, source = limit_bytes, "configured"
        if not limit:
            limit, source = cgroup_memory_limit(cgroup_root, proc_cgroup), "cgroup"
        if not limit:
            limit, source = psutil.virtual_memory().total, "host"
        ratio = rss / limit
        details = {"rss_bytes": rss, "limit_bytes": int(limit), "limit_source": source, "usage_ratio": round(ratio, 4)}
        return Outcome(ratio < max_ratio, f"memory usage {ratio:.1%} of {limit:.0f} bytes ({source} limit)", details)

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
