"""Health checker: named checks with timeouts, critical vs degraded, periodic background runs.

Overall status: ``healthy`` when every check passes, ``critical`` when a critical check
fails, ``degraded`` when only non-critical checks fail. Reports also carry the process uptime
and the service's version and environment (the seed's ``/health`` fields). A check that raises or exceeds its
timeout counts as failed. Every run updates ``llm_router_health_check_up{check}``.
The checks themselves (memory, disk, cache, ...) live in ``health_checks``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

import psutil

from app_instrumentation.background import BackgroundTask
from app_instrumentation.service import ServiceInfo

_log = logging.getLogger(__name__)


class Status(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Outcome:
    """What a check function returns."""

    healthy: bool
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)


CheckFn = Callable[[], Outcome | Awaitable[Outcome]]


@dataclass(frozen=True)
class Check:
    name: str
    fn: CheckFn
    #: A failing critical check makes the service critical (not ready); others only degrade it.
    critical: bool = False
    #: Seconds; None uses the checker's default.
    timeout: float | None = None


@dataclass(frozen=True)
class CheckResult:
    name: str
    healthy: bool
    critical: bool
    message: str
    details: Mapping[str, Any]
    duration_seconds: float
    timestamp: str
    consecutive_failures: int


@dataclass(frozen=True)
class HealthReport:
    status: Status
    checks: Mapping[str, CheckResult]
    timestamp: str
    #: ``time.monotonic()`` when the report was made, to judge its age.
    made_at: float
    #: Seconds since the process started, when the report was made.
    uptime_seconds: float = 0.0
    service: ServiceInfo = field(default_factory=ServiceInfo)

    def to_json(self) -> dict[str, Any]:
        unhealthy = [name for name, result in self.checks.items() if not result.healthy]
        return {
            "status": self.status.value,
            "timestamp": self.timestamp,
            "uptime_seconds": round(self.uptime_seconds, 3),
            "service": self.service.name,
            "version": self.service.version,
            "environment": self.service.environment,
            "checks": {name: {**asdict(result), "details": dict(result.details)} for name, result in self.checks.items()},
            "summary": {"total": len(self.checks), "healthy": len(self.checks) - len(unhealthy), "unhealthy": len(unhealthy)},
        }


class HealthSink(Protocol):
    def health_check(self, check: str, healthy: bool) -> None: ...


def overall_status(results: Iterable[CheckResult]) -> Status:
    failed = [r for r in results if not r.healthy]
    if not failed:
        return Status.HEALTHY
    return Status.CRITICAL if any(r.critical for r in failed) else Status.DEGRADED


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class HealthChecker:
    def __init__(
        self,
        checks: Iterable[Check] = (),
        *,
        sink: HealthSink | None = None,
        default_timeout: float = 5.0,
        interval: float = 30.0,
        service: ServiceInfo | None = None,
    ) -> None:
        self.service = service or ServiceInfo.from_env()
        self._started_at = psutil.Process().create_time()
        self._checks: dict[str, Check] = {}
        self._failures: dict[str, int] = {}
        self.sink = sink
        self.default_timeout = default_timeout
        self.interval = interval
        self.last_report: HealthReport | None = None
        self._background = BackgroundTask(self._loop, "health-checks")
        for check in checks:
            self.add(check)

    def add(self, check: Check) -> None:
        self._checks[check.name] = check
        self._failures.setdefault(check.name, 0)

    def remove(self, name: str) -> None:
        self._checks.pop(name, None)

    @property
    def names(self) -> list[str]:
        return list(self._checks)

    async def run_check(self, name: str) -> CheckResult:
        check = self._checks[name]
        timeout = check.timeout if check.timeout is not None else self.default_timeout
        start = time.perf_counter()
        try:
            outcome = await asyncio.wait_for(self._call(check.fn), timeout)
        except TimeoutError:
            outcome = Outcome(False, f"check timed out after {timeout:g}s", {"timeout_seconds": timeout})
        except Exception as exc:  # a broken check is a failed check, not a crashed endpoint
            outcome = Outcome(False, f"check failed: {type(exc).__name__}: {exc}", {"error": type(exc).__name__})
        self._failures[name] = 0 if outcome.healthy else self._failures.get(name, 0) + 1
        if self.sink is not None:
            self.sink.health_check(name, outcome.healthy)
        return CheckResult(
            name=name,
            healthy=outcome.healthy,
            critical=check.critical,
            message=outcome.message,
            details=dict(outcome.details),
            duration_seconds=round(time.perf_counter() - start, 6),
            timestamp=_now(),
            consecutive_failures=self._failures[name],
        )

    @staticmethod
    async def _call(fn: CheckFn) -> Outcome:
        result = fn()
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, Outcome):
            raise TypeError(f"health check returned {type(result).__name__}, expected Outcome")
        return result

    async def run_all(self) -> HealthReport:
        names = list(self._checks)
        results = await asyncio.gather(*(self.run_check(n) for n in names))
        report = HealthReport(
            status=overall_status(results),
            checks=dict(zip(names, results, strict=True)),
            timestamp=_now(),
            made_at=time.monotonic(),
            uptime_seconds=max(0.0, time.time() - self._started_at),
            service=self.service,
        )
        self.last_report = report
        return report

    async def report(self, max_age: float = 0.0) -> HealthReport:
        """The last report if younger than ``max_age`` seconds, else a fresh run."""
        last = self.last_report
        if last is not None and time.monotonic() - last.made_at <= max_age:
            return last
        return await self.run_all()

    # --- background runs -------------------------------------------------------------
    def start(self) -> None:
        """Run all checks every ``interval`` seconds on the running loop until ``stop()``."""
        self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    @property
    def running(self) -> bool:
        return self._background.running

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_all()
            except Exception:  # keep checking; one bad round must not end the loop
                _log.exception("periodic health checks failed")
            await asyncio.sleep(self.interval)
