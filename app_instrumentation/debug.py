"""What the seed's ``/debug`` endpoint showed: the process, recent errors and redacted config.

A router serves it only when explicitly enabled (it reveals internals); everything it returns
goes through the redactor, so credentials in config or error messages never leave the process.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import platform
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import psutil

from app_instrumentation.errors import INFERENCE_ERROR, classify, fingerprint, qualified_name
from app_instrumentation.events import InferenceContext, InferenceResult
from app_instrumentation.redaction import redact
from app_instrumentation.request_id import current_request_id


class RecentErrors:
    """The last ``size`` inference errors (an InferenceObserver), newest last."""

    def __init__(self, size: int = 50) -> None:
        self._errors: deque[dict[str, Any]] = deque(maxlen=size)

    def on_start(self, ctx: InferenceContext) -> None:
        pass

    def on_complete(self, ctx: InferenceContext, result: InferenceResult) -> None:
        pass

    def on_error(self, ctx: InferenceContext, exc: BaseException) -> None:
        self.record(exc, {"model": ctx.model, "backend": ctx.backend, "strategy": ctx.strategy,
                          "inference_id": ctx.request_id})

    def record(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> None:
        self._errors.append({
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "type": qualified_name(exc),
            "code": classify(exc, INFERENCE_ERROR),
            "message": str(exc)[:500],
            "grouping_key": fingerprint(exc),
            "request_id": current_request_id(),
            **(context or {}),
        })

    def snapshot(self) -> list[dict[str, Any]]:
        return list(self._errors)


def process_info() -> dict[str, Any]:
    process = psutil.Process()
    with process.oneshot():
        memory = process.memory_info()
        return {
            "pid": os.getpid(),
            "python": platform.python_version(),
            "executable": os.path.basename(sys.executable),
            "uptime_seconds": round(time.time() - process.create_time(), 3),
            "rss_bytes": memory.rss,
            "cpu_seconds": round(sum(process.cpu_times()[:2]), 3),
            "threads": threading.active_count(),
            "open_files": len(process.open_files()),
            "gc_frozen_objects": gc.get_freeze_count(),
        }


def plain(value: Any) -> Any:
    """Dataclasses, mappings and tuples as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def debug_report(sections: Mapping[str, Any]) -> dict[str, Any]:
    """``{"process": ..., **sections}``, redacted (secret keys and secrets inside values)."""
    return redact({"process": process_info(), **{k: plain(v) for k, v in sections.items()}})
