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


def _cgroup(tmp_path, files, own=""):
    root = tmp_path / "cgroup"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(f"0::/{own}\n" if own else "12:memory:/docker/abc\n")
    return root, proc


@pytest.mark.parametrize(
    ("files", "own", "expected"),
    [
        ({"memory.max": "536870912\n"}, "", 512 * 2**20),                                     # cgroup v2
        ({"kubepods/pod1/memory.max": "268435456\n", "memory.max": "max\n"}, "kubepods/pod1", 256 * 2**20),
        ({"memory.max": "max\n"}, "", None),                                                 # v2, no limit
        ({"memory/memory.limit_in_bytes": "1073741824\n"}, "", 2**30),                         # cgroup v1
        ({"memory/memory.limit_in_bytes": "9223372036854771712\n"}, "", None),                # v1 "unlimited"
        ({}, "", None),                                                                       # no cgroup fs
    ],
)
def test_cgroup_memory_limit(tmp_path, files, own, expected):
    root, proc = _cgroup(tmp_path, files, own)
    assert health_checks.cgroup_memory_limit(root, proc) == expected


def test_memory_check_uses_the_container_limit_not_the_node_ram(tmp_path):
    import psutil

    rss = psutil.Process().memory_info().rss
    root, proc = _cgroup(tmp_path, {"memory.max": f"{rss}\n"})  # the container is at its limit
    check = health_checks.memory_usage(cgroup_root=root, proc_cgroup=proc)
    outcome = check.fn()
    assert not outcome.healthy and outcome.details["limit_source"] == "cgroup", outcome
    assert outcome.details["limit_bytes"] == rss
    roomy, proc = _cgroup(tmp_path / "roomy", {"memory.max": "max\n"})
    outcome = health_checks.memory_usage(cgroup_root=roomy, proc_cgroup=proc).fn()
    assert outcome.details["limit_source"] == "host" and outcome.details["limit_bytes"] == psutil.virtual_memory().total
