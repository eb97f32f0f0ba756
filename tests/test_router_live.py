"""Live: `llmmon router --traffic` as a real process; its /metrics passes promtool and shows every family."""

import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from app_instrumentation import catalog
from app_instrumentation.exposition import PATHS
from llmmon.checkers import promtool_check_metrics
from llmmon.commands.router import LISTENING
from llmmon.localstack.processes import Supervisor

pytestmark = pytest.mark.live

CONFIG = """
default_strategy = "quick"
seed = 3
[strategies]
quick = ["flaky", "limited", "steady"]
quality = ["limited", "steady"]
[[models]]
name = "small"
format = "gguf"
size_bytes = 5e8
load_seconds = 0.0
[[models]]
name = "large"
format = "safetensors"
size_bytes = 2e10
load_seconds = 0.0
[[backends]]
name = "flaky"
latency_ms = 2
tokens_per_second = 20000
error_rate = 0.3
timeout_rate = 0.05
timeout_ms = 20
[[backends]]
name = "limited"
latency_ms = 2
tokens_per_second = 20000
rate_limit_rpm = 5
usd_per_million_output_tokens = 1.0
[[backends]]
name = "steady"
latency_ms = 2
tokens_per_second = 20000
usd_per_million_input_tokens = 0.5
[health]
interval_seconds = 0.5
"""
STARTUP_SECONDS = 60
TRAFFIC_SECONDS = 90


def exposed_names(text):
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def missing_families(text):
    names = exposed_names(text)
    return [m.name for m in catalog.METRICS if not any(s in names for s in m.series_names if not s.endswith("_created"))]


@contextmanager
def serving(tmp_path, *options: str, config: str = CONFIG) -> Iterator[str]:
    """``llmmon router`` under a Supervisor (logs to a file, dies with the test process, always
    stopped); its URL once it listens."""
    path = tmp_path / "router.toml"
    path.write_text(config)
    supervisor = Supervisor(tmp_path / "logs", stop_timeout=15)
    argv = [sys.executable, "-m", "llmmon.cli", "router", "--port", "0", "--config", str(path), *options]
    try:
        child = supervisor.start("router", argv)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not (match := re.search(re.escape(LISTENING) + r" (http://127\.0\.0\.1:\d+)", child.log_tail(200))):
            assert child.alive(), f"router exited:\n{child.log_tail()}"
            assert time.monotonic() < deadline, f"router did not start within {STARTUP_SECONDS}s"
            time.sleep(0.1)
        yield match.group(1)
    finally:
        supervisor.stop_all()


@pytest.fixture
def router(tmp_path):
    with serving(tmp_path, "--traffic", "40") as url:
        yield url


@pytest.mark.parametrize(("option", "frozen"), [((), True), (("--no-gc-freeze",), False)])
def test_the_started_router_keeps_its_startup_heap_out_of_full_collections(tmp_path, option, frozen):
    """By default the router freezes what startup made (tens of thousands of objects: modules,
    config, models) once it listens; ``--no-gc-freeze`` leaves the collector as Python has it."""
    with serving(tmp_path, *option, config="debug_endpoint = true\n" + CONFIG) as url:
        count = httpx.get(f"{url}/debug", timeout=10).json()["process"]["gc_frozen_objects"]
    assert (count > 10_000) if frozen else count == 0, count


def test_router_under_generated_traffic_exposes_every_family_and_passes_promtool(router):
    deadline = time.monotonic() + TRAFFIC_SECONDS
    with httpx.Client(base_url=router, timeout=10) as client:
        assert client.get("/health/live").status_code == 200
        assert client.get("/scan/12345").status_code == 404  # a raw path that must not become a label
        while True:
            text = client.get("/metrics").text
            missing = missing_families(text)
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert missing == []
        result = promtool_check_metrics(text)
        assert result.ok, result.output
        openmetrics = client.get("/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"})
        assert openmetrics.text.rstrip().endswith("# EOF")
        assert client.get("/health/ready").status_code in (200, 503)
        routes = {line.split('route="')[1].split('"')[0] for line in text.splitlines()
                  if line.startswith(catalog.HTTP_REQUESTS.name + "{")}
        known = {*PATHS, "/api/generate", "/api/models", "/api/models/{model}", "/admin/faults", catalog.UNKNOWN_ROUTE}
        assert routes <= known  # templates only: never a raw path like /api/models/small or /scan/123
        assert catalog.UNKNOWN_ROUTE in routes and "/api/models/{model}" in routes
