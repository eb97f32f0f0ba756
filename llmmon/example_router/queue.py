"""A bounded request queue: ``max_concurrency`` inferences run, up to ``max_waiting`` wait, the rest are refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from app_instrumentation.collector import MetricsCollector

QUEUE_TYPE = "inference"


class QueueFull(RuntimeError):
    error_type = "queue_full"


class InferenceQueue:
    def __init__(self, max_concurrency: int, max_waiting: int, collector: MetricsCollector) -> None:
        self._slots = asyncio.Semaphore(max_concurrency)
        self.max_waiting = max_waiting
        self.waiting = 0
        self.collector = collector
        collector.queue_size(0, QUEUE_TYPE)

    def _set_waiting(self, delta: int) -> None:
        self.waiting += delta
        self.collector.queue_size(self.waiting, QUEUE_TYPE)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a processing slot; ``queue_processing_seconds`` covers the time it is held."""
        if self._slots.locked() and self.waiting >= self.max_waiting:
            raise QueueFull(f"queue full ({self.max_waiting} waiting)")
        self._set_waiting(+1)
        try:
            await self._slots.acquire()
        finally:
            self._set_waiting(-1)
        started = time.perf_counter()
        try:
            yield
        finally:
            self._slots.release()
            self.collector.queue_processed(time.perf_counter() - started, QUEUE_TYPE)
