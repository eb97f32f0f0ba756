"""The README's "Instrumenting a router" example runs as written: extracted from README.md, served by uvicorn."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app_instrumentation import catalog
from foundation.settings import PROJECT_DIR
from llmmon.checkers import promtool_check_metrics
from llmmon.localstack.processes import Supervisor

pytestmark = pytest.mark.live

#: The public names a user needs, which the example must show in use.
NAMES = ("InferenceContext", "InferenceResult", "ObserverSet", "MonitoringApp", "RouteTemplates",
         "MetricsMiddleware", "HealthChecker", "obs.bind(", "obs.wrappers()", "observers.error(",
         "freeze_startup_heap(")
#: Imported next to the example: the same module with a backend that fails on the prompt "fail".
RUNNER = """
import my_router

_backend = my_router.call_backend


async def flaky(prompt, max_tokens):
    if prompt == "fail":
        raise ConnectionError("backend unreachable")
    async for token in _backend(prompt, max_tokens):
        yield token


my_router.call_backend = flaky
app = my_router.app
"""


def readme_example() -> str:
    text = (PROJECT_DIR / "README.md").read_text()
    section = text[text.index("## Instrumenting a router"):]
    section = section[: section.index("\n## ", 1)]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def router(tmp_path_factory) -> Iterator[str]:
    work: Path = tmp_path_factory.mktemp("example")
    (work / "my_router.py").write_text(readme_example())
    (work / "runner.py").write_text(RUNNER)
    supervisor = Supervisor(work / "logs", stop_timeout=15)
    argv = [sys.executable, "-m", "uvicorn", "runner:app", "--app-dir", str(work), "--port", "0"]
    try:
        child = supervisor.start("router", argv)
        deadline = time.monotonic() + 60
        while not (match := re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", child.log_tail(400))):
            assert child.alive() and time.monotonic() < deadline, child.log_tail()
            time.sleep(0.1)
        yield match.group(1)
    finally:
        supervisor.stop_all()


def test_the_example_uses_the_public_names():
    code = readme_example()
    assert [name for name in NAMES if name not in code] == []


def test_the_example_records_inferences_streams_and_serves_metrics_and_health(router):
    with httpx.Client(base_url=router, timeout=30) as client:
        answer = client.post("/api/generate", json={"prompt": "hello there"})
        assert answer.status_code == 200 and answer.json()["text"] == "Hello from the backend"
        streamed = client.post("/api/generate", json={"prompt": "hello", "stream": True})
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: ")]
        assert "".join(e["text"] for e in events) == "Hello from the backend"
        assert client.post("/api/generate", json={"prompt": "fail"}).status_code == 502
        assert client.post("/api/generate", content=b"[[[").status_code == 400
        assert client.get("/health/live").json() == {"status": "alive"}
        assert client.get("/health").json()["status"] in ("healthy", "degraded")
        assert client.get("/health/ready").status_code == 200
        text = client.get("/metrics").text
    assert promtool_check_metrics(text).ok

    def value(name: str, **labels: str) -> float:
        pattern = re.escape(name) + r"\{([^}]*)\} (\S+)"
        for found, number in re.findall(pattern, text):
            got = dict(re.findall(r'(\w+)="([^"]*)"', found))
            if all(got.get(k) == v for k, v in labels.items()):
                return float(number)
        return 0.0

    assert value(catalog.INFERENCE.name, model="llama-3-8b", strategy="balanced", status="success") == 2
    assert value(catalog.INFERENCE.name, model="llama-3-8b", status="error") == 1
    assert value(catalog.TIME_TO_FIRST_TOKEN.count, model="llama-3-8b", backend="vllm") == 2
    assert value(catalog.TOKENS.name, model="llama-3-8b", backend="vllm", token_type="output") == 8
    assert value(catalog.HTTP_REQUESTS.name, route="/api/generate", status_code="200") == 2
    assert value(catalog.HTTP_REQUESTS.name, route="/api/generate", status_code="502") == 1
    assert value(catalog.CONNECTION_DURATION.count, type="stream") == 1
    assert value(catalog.HEALTH_CHECK_UP.name, check="memory_usage") == 1
