"""An in-memory LRU response cache with a byte count, reporting hits, misses and size."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from app_instrumentation.collector import MetricsCollector
from llmmon.example_router.faults import Faults

CACHE_TYPE = "response"


class CacheError(RuntimeError):
    error_type = "cache_error"


def _size(key: str, value: Any) -> int:
    return len(key.encode()) + len(repr(value).encode())


class ResponseCache:
    """Async API (get/set/delete) like a networked cache, so the health check's round-trip is real."""

    def __init__(self, max_entries: int, collector: MetricsCollector, faults: Faults) -> None:
        self.max_entries = max_entries
        self.collector = collector
        self.faults = faults
        self._items: OrderedDict[str, Any] = OrderedDict()
        self.size_bytes = 0
        collector.cache_size(0, CACHE_TYPE)

    def __len__(self) -> int:
        return len(self._items)

    def _check(self) -> None:
        if self.faults.cache_broken:
            raise CacheError("response cache unavailable (injected fault)")

    async def lookup(self, key: str) -> Any:
        """``get`` that also counts a hit or a miss (the health check's reads must not)."""
        value = await self.get(key)
        if value is None:
            self.collector.cache_miss(CACHE_TYPE)
        else:
            self.collector.cache_hit(CACHE_TYPE)
        return value

    async def get(self, key: str) -> Any:
        self._check()
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    async def set(self, key: str, value: Any) -> None:
        self._check()
        await self.delete(key)
        self._items[key] = value
        self.size_bytes += _size(key, value)
        while len(self._items) > self.max_entries:
            old_key, old_value = self._items.popitem(last=False)
            self.size_bytes -= _size(old_key, old_value)
        self.collector.cache_size(self.size_bytes, CACHE_TYPE)

    async def delete(self, key: str) -> None:
        self._check()
        if key in self._items:
            self.size_bytes -= _size(key, self._items.pop(key))
            self.collector.cache_size(self.size_bytes, CACHE_TYPE)
