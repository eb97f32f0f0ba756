"""Health checker: status transitions, timeouts, periodic runs, the standard checks, HTTP endpoints."""

import asyncio
import os

import httpx
import pytest

from app_instrumentation import catalog, health_checks
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.exposition import MonitoringApp
from app_instrumentation.health import Check, HealthChecker, Outcome, Status


class Switch:
    """A check whose outcome the test flips."""

    def __init__(self):
        self.healthy = True

    def __call__(self):
        return Outcome(self.healthy, "ok" if self.healthy else "broken")


def run(coro):
    return asyncio.run(coro)


def up(c, check):
    return c.registry.get_sample_value(catalog.HEALTH_CHECK_UP.name, {"check": check})


def test_status_goes_healthy_degraded_critical_and_back():
    c = MetricsCollector(process_metrics=False)
    critical, optional = Switch(), Switch()
    checker = HealthChecker([Check("models", critical, critical=True), Check("cache", optional)], sink=c)

    assert run(checker.run_all()).status is Status.HEALTHY
    assert up(c, "cache") == 1
    optional.healthy = False
    assert run(checker.run_all()).status is Status.DEGRADED
    assert up(c, "cache") == 0
    critical.healthy = False
    report = run(checker.run_all())
    assert report.status is Status.CRITICAL
    assert report.checks["models"].consecutive_failures == 1
    assert report.checks["cache"].consecutive_failures == 2
    critical.healthy = optional.healthy = True
    assert run(checker.run_all()).status is Status.HEALTHY
    assert up(c, "models") == 1


def test_a_check_exceeding_its_timeout_fails_without_waiting_for_it():
    async def hangs():
        await asyncio.sleep(3600)
        return Outcome(True, "never")

    checker = HealthChecker([Check("slow", hangs, critical=True, timeout=0.05), Check("fast", Switch())])
    report = run(checker.run_all())
    assert report.status is Status.CRITICAL
    assert not report.checks["slow"].healthy
    assert "timed out after 0.05s" in report.checks["slow"].message
    assert report.checks["fast"].healthy


def test_default_timeout_applies_to_checks_without_their_own():
    async def hangs():
        await asyncio.sleep(3600)

    report = run(HealthChecker([Check("slow", hangs)], default_timeout=0.05).run_all())
    assert report.status is Status.DEGRADED
    assert "timed out" in report.checks["slow"].message


def test_a_raising_check_is_a_failed_check():
    def raises():
        raise OSError("disk gone")

    report = run(HealthChecker([Check("disk", raises)]).run_all())
    assert report.status is Status.DEGRADED
    assert "OSError: disk gone" in report.checks["disk"].message


def test_periodic_checks_run_in_background_and_stop_cleanly():
    calls = []

    def counting():
        calls.append(1)
        return Outcome(True, "ok")

    async def scenario():
        checker = HealthChecker([Check("count", counting)], interval=0.01)
        checker.start()
        while len(calls) < 3:
            await asyncio.sleep(0.01)
        assert checker.running
        await checker.stop()
        assert not checker.running
        seen = len(calls)
        await asyncio.sleep(0.05)
        return seen

    seen = run(scenario())
    assert len(calls) == seen  # nothing ran after stop()


def test_periodic_checks_survive_a_failing_round():
    """A round that raises (here: the metrics sink) is logged; the next rounds still run."""
    rounds = []

    class FlakySink:
        def health_check(self, check: str, healthy: bool) -> None:
            rounds.append(check)
            if len(rounds) == 1:
                raise RuntimeError("sink broken once")

    async def scenario():
        checker = HealthChecker([Check("count", Switch())], sink=FlakySink(), interval=0.01)
        checker.start()
        try:
            async with asyncio.timeout(10):
                while len(rounds) < 3:
                    await asyncio.sleep(0.01)
            assert checker.running
        finally:
            await checker.stop()

    run(scenario())


class MemoryCache:
    def __init__(self, broken=False):
        self.items, self.broken = {}, broken

    async def get(self, key):
        return None if self.broken else self.items.get(key)

    async def set(self, key, value):
        self.items[key] = value

    async def delete(self, key):
        self.items.pop(key, None)


def test_standard_checks():
    report = run(HealthChecker([
        health_checks.router_initialized(lambda: True),
        health_checks.models_available(lambda: ["llama-3-8b"]),
        health_checks.memory_usage(),
        health_checks.disk_space(os.getcwd()),
        health_checks.cache_round_trip(MemoryCache()),
    ]).run_all())
    assert report.status is Status.HEALTHY, report.to_json()
    assert report.checks["disk_space"].details["used_bytes"] > 0
    assert {n for n, r in report.checks.items() if r.critical} == {"router_initialized", "models_available", "memory_usage"}


def test_standard_checks_fail_for_the_right_reasons():
    report = run(HealthChecker([
        health_checks.models_available(lambda: []),
        health_checks.memory_usage(limit_bytes=1),  # any process uses more than one byte
        health_checks.disk_space(os.getcwd(), max_ratio=0.0),
        health_checks.cache_round_trip(MemoryCache(broken=True)),
    ]).run_all())
    assert report.status is Status.CRITICAL
    assert not any(r.healthy for r in report.checks.values())


def test_inference_probe_is_rate_limited():
    calls = []

    async def probe():
        calls.append(1)
        return "answer"

    checker = HealthChecker([health_checks.inference_probe(probe, min_interval=3600)])

    async def twice():
        await checker.run_all()
        return await checker.run_all()

    assert run(twice()).status is Status.HEALTHY
    assert len(calls) == 1


@pytest.mark.parametrize("healthy_critical, healthy_optional, health_code, ready_code", [
    (True, True, 200, 200),
    (True, False, 200, 200),   # degraded: still serving
    (False, True, 503, 503),   # critical: out of rotation
])
def test_health_endpoints(healthy_critical, healthy_optional, health_code, ready_code):
    critical, optional = Switch(), Switch()
    critical.healthy, optional.healthy = healthy_critical, healthy_optional
    checker = HealthChecker([Check("models", critical, critical=True), Check("cache", optional)])
    app = MonitoringApp(MetricsCollector(process_metrics=False).registry, checker, health_max_age=0)

    async def fetch():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return [await client.get(p) for p in ("/health", "/health/ready", "/health/live")]

    health, ready, live = run(fetch())
    assert (health.status_code, ready.status_code, live.status_code) == (health_code, ready_code, 200)
    assert health.json()["summary"]["total"] == 2
