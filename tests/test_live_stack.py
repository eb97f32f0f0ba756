"""End to end on real Prometheus + Alertmanager: queries answer, alerts fire, route, inhibit, resolve.

One stack (test profile: 1s scrape/evaluation, short ``for``) is shared by the whole module;
each wait is bounded and every process is checked dead at the end. Its router runs a
fault-free profile (backends that never fail, time out or hit a rate limit; no invalid
requests), so the dashboards must show data from pre-initialised series alone; the alert tests
inject their faults explicitly.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerts.scrape_jobs import DCGM_JOB
from app_instrumentation.catalog import ERRORS
from dashboards.queries import all_queries, legend_labels
from dashboards.uids import BACKENDS
from foundation import exporter_metrics
from foundation.promql_names import metric_names
from foundation.settings import load_settings
from llmmon.commands.fault import fault_body
from llmmon.example_router.config import RouterConfig
from llmmon.localstack.configs import PROFILES, LocalConfigs
from llmmon.localstack.httpjson import send_json, wait_until
from llmmon.localstack.processes import pid_alive
from llmmon.localstack.stack import LocalStack, StackOptions
from llmmon.localstack.webhook import delivered

pytestmark = pytest.mark.live

#: Bounded waits: alerts in the test profile fire within a few seconds, this is the ceiling.
WAIT = 75
#: Rate window for dashboard queries: several of the test profile's 1s scrapes.
RATE_WINDOW = "10s"


def fault_free_config(path: Path) -> Path:
    """The default router with backends that never fail and traffic without invalid requests."""
    default = RouterConfig()
    backends = [{**dataclasses.asdict(b), "models": list(b.models), "error_rate": 0, "timeout_rate": 0,
                 "rate_limit_rpm": 10**6 if b.rate_limit_rpm else 0} for b in default.backends]
    path.write_text(json.dumps({"backends": backends, "traffic_mix": {"generate": 90, "model": 5, "health": 5}}))
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    profile = PROFILES["test"]
    workdir = tmp_path_factory.mktemp("stack")
    options = StackOptions(
        workdir=workdir, env="dev", profile="test", traffic_rps=20,
        router_port=None, prometheus_port=None, alertmanager_port=None,
        prometheus_flags=list(profile.prometheus_flags),
    )
    options.router_argv = [*options.router_argv, "--config", str(fault_free_config(workdir / "router.json"))]
    local = LocalStack(options, LocalConfigs(load_settings("dev"), profile))
    local.start()
    try:
        yield local
    finally:
        started = local.supervisor.started_pids()
        local.stop()
        assert [pid for pid in started if pid_alive(pid)] == []


def faults(stack: LocalStack, body: dict | None) -> None:
    url = f"{stack.state.router_url}/admin/faults"
    send_json("DELETE", url) if body is None else send_json("POST", url, body)


def firing(stack: LocalStack, alertname: str) -> bool:
    return any(a["labels"]["alertname"] == alertname for a in stack.prometheus.alerts(state="firing"))


def test_stack_scrapes_router_and_itself_and_loads_the_rules(stack):
    def all_up() -> bool:
        targets = stack.prometheus.targets()
        return bool(targets) and all(t["health"] == "up" for t in targets)

    wait_until(all_up, WAIT, "all targets up")
    jobs = {t["labels"]["job"] for t in stack.prometheus.targets()}
    # The router, itself, and the example router's simulated engines and GPU nodes (the env's pod jobs).
    assert {"llm-router", "prometheus", "engine-local-gpu", "engine-vllm", DCGM_JOB} <= jobs
    rules = [r["name"] for g in stack.prometheus.rule_groups() for r in g["rules"]]
    assert {"ServiceDown", "HighErrorRate", "CriticalErrorRate"} <= set(rules)


def test_every_dashboard_query_returns_data_without_any_fault(stack):
    """No error, retry, fallback or rate limit ever happens here: the pre-initialised series and the
    ratios that read 0 without a numerator must still give every panel data. Panels of
    kube-state-metrics and node-exporter series need a cluster (the local stack runs neither):
    ``test_dashboard_prometheus`` checks them on synthetic series."""
    queries = [q for q in all_queries(load_settings("dev"), rate_interval=RATE_WINDOW)
               if not metric_names(q.expr) & exporter_metrics.NAMES]
    assert len(queries) > 20
    # Every panel of Backends and GPUs too: the simulated engines' and DCGM endpoints' series, through the rules.
    assert len([q for q in queries if q.dashboard_uid == BACKENDS]) == len(
        [q for q in all_queries(load_settings("dev")) if q.dashboard_uid == BACKENDS]) > 20
    failures: list[str] = []

    def all_answer() -> bool:
        failures.clear()
        for query in queries:
            name = f"{query.dashboard_uid} / {query.panel_title}"
            try:
                result = stack.prometheus.query(query.expr)
            except RuntimeError as exc:
                failures.append(f"{name}: {exc}")
                continue
            if not result:
                failures.append(f"{name}: empty result for {query.expr}")
            failures.extend(f"{name}: legend {query.legend!r} needs labels absent from {series['metric']}"
                            for series in result if not legend_labels(query.legend) <= set(series["metric"]))
        return not failures

    deadline = time.monotonic() + WAIT
    while not all_answer() and time.monotonic() < deadline:
        time.sleep(2)
    assert failures == []
    # Fault-free indeed: not one error of any kind, yet the error panels answered (with zeros).
    assert stack.prometheus.value(f"sum({ERRORS.name})", default=-1) == 0


@pytest.fixture(scope="module")
def error_burst(stack: LocalStack) -> Iterator[float]:
    """Every backend call fails until CriticalErrorRate reached the sink; yields that moment."""
    faults(stack, {"error_rate": 1.0})
    try:
        wait_until(lambda: delivered(stack.sink.records(), "CriticalErrorRate"), WAIT,
                   "CriticalErrorRate to reach the webhook sink")
        yield min(a["received_at"] for a in delivered(stack.sink.records(), "CriticalErrorRate"))
    finally:
        faults(stack, None)


def test_error_burst_fires_high_error_rate(stack, error_burst):
    wait_until(lambda: firing(stack, "HighErrorRate"), WAIT, "HighErrorRate firing in Prometheus")
    alert = next(a for a in stack.prometheus.alerts("firing") if a["labels"]["alertname"] == "HighErrorRate")
    assert alert["labels"]["severity"] == "warning"


def test_critical_alert_inhibits_its_warning_twin(stack, error_burst):
    critical = delivered(stack.sink.records(), "CriticalErrorRate")
    assert {a["receiver"] for a in critical} == {"critical-alerts"}
    signal = critical[0]["labels"]["signal"]

    def warning_suppressed() -> bool:
        twins = [a for a in stack.alertmanager.alerts() if a["labels"]["alertname"] == "HighErrorRate"]
        return bool(twins) and all(a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"] for a in twins)

    wait_until(warning_suppressed, WAIT, "HighErrorRate suppressed by inhibition in Alertmanager")
    twin = next(a for a in stack.alertmanager.alerts() if a["labels"]["alertname"] == "HighErrorRate")
    assert twin["labels"]["signal"] == signal
    # Give Alertmanager several group intervals to (wrongly) deliver the warning.
    time.sleep(5)
    late = [a for a in delivered(stack.sink.records(), "HighErrorRate") if a["received_at"] > error_burst]
    assert late == []


def test_router_down_fires_service_down_via_critical_route_and_resolves(stack):
    faults(stack, None)
    stack.router_down()
    wait_until(lambda: delivered(stack.sink.records(), "ServiceDown", receiver="critical-alerts"), WAIT,
               "ServiceDown firing notification to critical-alerts")
    stack.router_up()
    wait_until(lambda: delivered(stack.sink.records(), "ServiceDown", status="resolved", receiver="critical-alerts"),
               WAIT, "ServiceDown resolved notification to critical-alerts")
    assert not firing(stack, "ServiceDown")


def fault_command(stack: LocalStack, action: str, **options: object) -> None:
    """What ``llmmon fault <action> --backend ...`` sends (it replaces the injected faults)."""
    body = fault_body(action, float(options.get("rate", 0.5)), float(options.get("latency_ms", 5000)),
                      list(options.get("backends", [])) or None)
    send_json("PUT", f"{stack.state.router_url}/admin/faults", body)


KV = 'max(backend_model_name:engine_kv_cache_usage:max{backend="%s"})'
WAITING = 'sum(backend_model_name:engine_requests_waiting:sum{backend="%s"})'


def test_slow_backend_fills_its_engines_kv_cache_and_queue_then_drains(stack):
    """``llmmon fault slow --backend local-gpu``: calls wait in its engine, whose KV cache saturates, and
    EngineKVCacheNearFull fires for that backend; ``clear`` drains it."""
    faults(stack, None)
    wait_until(lambda: stack.prometheus.value(KV % "local-gpu", default=1) < 0.9, WAIT, "local-gpu's KV cache below 90 %")
    fault_command(stack, "slow", latency_ms=5000, backends=["local-gpu"])
    try:
        wait_until(lambda: stack.prometheus.value(KV % "local-gpu", default=0) > 0.9
                   and stack.prometheus.value(WAITING % "local-gpu", default=0) > 0, WAIT,
                   "local-gpu's engine saturated with requests waiting")
        wait_until(lambda: any(a["labels"]["alertname"] == "EngineKVCacheNearFull"
                               and a["labels"]["backend"] == "local-gpu"
                               for a in stack.prometheus.alerts(state="firing")), WAIT,
                   "EngineKVCacheNearFull firing for local-gpu")
        assert stack.prometheus.value(KV % "vllm", default=1) < 0.9  # the other engine is not slowed down
    finally:
        faults(stack, None)
    wait_until(lambda: stack.prometheus.value(KV % "local-gpu", default=1) < 0.9
               and stack.prometheus.value(WAITING % "local-gpu", default=1) == 0, WAIT,
               "local-gpu's KV cache drained after the fault")


def test_backend_outage_takes_its_engine_down_and_engine_down_inhibits_backend_down(stack):
    """``llmmon fault outage --backend local-gpu``: its engine's endpoint stops answering, EngineDown fires and
    Alertmanager suppresses the backend's own BackendDown under it."""
    up = 'min(up{job="engine-local-gpu"})'
    fault_command(stack, "outage", backends=["local-gpu"])
    try:
        wait_until(lambda: stack.prometheus.value(up, default=-1) == 0, WAIT, "engine-local-gpu down")
        assert stack.prometheus.value('min(up{job="engine-vllm"})', default=-1) == 1

        def backend_down_suppressed() -> bool:
            alerts = {a["labels"]["alertname"]: a for a in stack.alertmanager.alerts()
                      if a["labels"].get("backend") == "local-gpu"}
            symptom = alerts.get("BackendDown")
            return "EngineDown" in alerts and symptom is not None and symptom["status"]["state"] == "suppressed"

        wait_until(backend_down_suppressed, WAIT, "BackendDown{backend=local-gpu} suppressed by EngineDown")
    finally:
        faults(stack, None)
    wait_until(lambda: stack.prometheus.value(up, default=-1) == 1, WAIT, "engine-local-gpu back up")
