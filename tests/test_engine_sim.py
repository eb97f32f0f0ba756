"""The example router's simulated vLLM engines and DCGM GPUs: vLLM's own series, moved by the faults.

What the simulation serves is checked against the lists read from vLLM's and the DCGM exporter's
source (names, types, labels, buckets) and by ``promtool check metrics``; the fault tests drive the
real app (``/admin/faults``) and read the engine endpoints as Prometheus would.
"""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from foundation import engine_metrics as m
from foundation.standards import engine_metrics_reference
from llmmon.checkers import promtool_check_metrics, require
from llmmon.example_router import engine_sim
from llmmon.example_router.app import create_app
from llmmon.example_router.config import ConfigError, RouterConfig, config_from_mapping
from llmmon.example_router.engine_sim import SATURATED, SimulatedEngine, SimulatedGpus


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(engine_sim.time, "monotonic", fake.monotonic)
    return fake


def families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise KeyError(f"{name}{labels} not in the exposition")


def test_the_engine_serves_vllms_own_names_labels_and_buckets():
    engine = SimulatedEngine("vllm", ["llama-3-8b"], 512)
    upstream = engine_metrics_reference()["vllm"]["metrics"]
    served = families(engine.exposition().decode())
    assert served, "nothing served"
    for family in served.values():
        if family.name.endswith("_created"):  # prometheus_client's creation timestamps, as in vLLM's own output
            continue
        exposed = f"{family.name}_total" if family.type == "counter" else family.name
        spec = upstream.get(exposed)
        assert spec is not None and spec["type"] == family.type, exposed
        labels = {k for s in family.samples for k in s.labels if k != "le"}
        assert labels == set(spec["labels"]), exposed
        if family.type == "histogram":
            bounds = sorted({float(s.labels["le"]) for s in family.samples if "le" in s.labels} - {float("inf")})
            assert bounds == spec["buckets"], exposed
    assert {f"{m.name}" for m in (m.VLLM_RUNNING, m.VLLM_WAITING, m.VLLM_KV_CACHE_USAGE)} <= set(served)


def test_the_gpus_serve_the_dcgm_exporters_fields_and_labels():
    gpus = SimulatedGpus({"vllm": (SimulatedEngine("vllm", ["m"], 64), 2)})
    (node,) = gpus.nodes()
    served = families(gpus.exposition(node).decode())
    upstream = engine_metrics_reference()["dcgm"]["metrics"]
    assert set(served) == {metric.name for metric in m.GPU_METRICS}
    for family in served.values():
        assert upstream[family.name]["type"] == family.type == "gauge"
        assert [sorted(s.labels) for s in family.samples] == [sorted(upstream[family.name]["labels"])] * 2


def test_promtool_finds_nothing_but_the_upstream_naming_conventions():
    """vLLM names its metrics with colons and the DCGM exporter its labels in camelCase, so do we."""
    require("promtool")
    engine = SimulatedEngine("vllm", ["m"], 64)
    gpus = SimulatedGpus({"vllm": (engine, 1)})
    for text, known in ((engine.exposition(), "metric names should not contain ':'"),
                        (gpus.exposition(gpus.nodes()[0]), "label names should be written in 'snake_case'")):
        result = promtool_check_metrics(text.decode())
        assert result.output, "promtool parsed it and said nothing: the known lint lines are gone?"
        assert [line for line in result.output.splitlines() if known not in line] == []


def test_waiting_requests_fill_the_kv_cache_and_preempt(clock: Clock):
    engine = SimulatedEngine("vllm", ["m"], 100)
    running = engine.enter("m", 20, waiting=False)
    engine.tokens(running, 5)
    clock.now += 60  # long enough for the smoothed gauge to settle
    text = engine.exposition().decode()
    assert value(text, m.VLLM_KV_CACHE_USAGE.name) == pytest.approx(0.25, abs=0.01)  # 25 of 100 tokens
    queued = [engine.enter("m", 10, waiting=True) for _ in range(4)]  # the fourth waits behind three
    clock.now += 60
    text = engine.exposition().decode()
    assert value(text, m.VLLM_KV_CACHE_USAGE.name) == pytest.approx(SATURATED, abs=0.01)
    assert (value(text, m.VLLM_WAITING.name), value(text, m.VLLM_RUNNING.name)) == (4, 1)
    assert value(text, m.VLLM_PREEMPTIONS.name) == 1
    for request in queued:
        engine.admit(request)
    for request in (*queued, running):
        engine.leave(request, "stop")
    clock.now += engine_sim.SATURATION_HOLD_SECONDS / 2  # a saturated engine stays full while it catches up
    assert value(engine.exposition().decode(), m.VLLM_KV_CACHE_USAGE.name) == pytest.approx(SATURATED, abs=0.01)
    clock.now += 60
    text = engine.exposition().decode()
    assert value(text, m.VLLM_KV_CACHE_USAGE.name) < 0.01 and value(text, m.VLLM_WAITING.name) == 0
    assert value(text, m.VLLM_REQUEST_SUCCESS.name, finished_reason="stop") == 5
    assert value(text, m.VLLM_QUEUE_TIME.count) == 5 and value(text, m.VLLM_TTFT.count) == 1
    assert value(text, m.VLLM_PREFIX_CACHE_HITS.name) == 4 * engine_sim.TEMPLATE_TOKENS  # all but the first


async def scrape_while(app, body: dict | None, path: str, concurrent: int = 12) -> tuple[int, str]:
    """Inject ``body`` as the faults, keep ``concurrent`` uncached requests in flight, scrape ``path`` meanwhile."""
    transport = httpx.ASGITransport(app=app)
    async with app.starlette.router.lifespan_context(app.starlette), \
            httpx.AsyncClient(transport=transport, base_url="http://router") as client:
        if body is not None:
            assert (await client.put("/admin/faults", json=body)).status_code == 200

        async def one(i: int) -> None:
            await client.post("/api/generate", json={"prompt": f"prompt {i}", "model": "llama-3-8b",
                                                     "strategy": "quick", "max_tokens": 16})

        calls = [asyncio.create_task(one(i)) for i in range(concurrent)]
        await asyncio.sleep(0.3)  # the calls are inside the engine now (slow: waiting for 2 s)
        answer = await client.get(path)
        await asyncio.gather(*calls)
        return answer.status_code, answer.text


def quiet_config() -> RouterConfig:
    """The default backends without random failures: only the injected fault moves anything."""
    default = RouterConfig()
    backends = [{**{k: v for k, v in vars(b).items()}, "models": list(b.models), "error_rate": 0, "timeout_rate": 0}
                for b in default.backends]
    return config_from_mapping({"backends": backends, "seed": 7})


def test_a_slow_backend_is_a_saturated_engine_and_an_outage_takes_its_endpoint_down():
    app = create_app(quiet_config())
    status, healthy = asyncio.run(scrape_while(app, None, "/engines/local-gpu/metrics"))
    assert status == 200 and value(healthy, m.VLLM_WAITING.name, model_name="llama-3-8b") == 0
    app = create_app(quiet_config())
    status, slow = asyncio.run(scrape_while(app, {"latency_ms": 2000, "backends": ["local-gpu"]},
                                            "/engines/local-gpu/metrics"))
    assert status == 200 and value(slow, m.VLLM_WAITING.name, model_name="llama-3-8b") > 0
    assert value(slow, m.VLLM_KV_CACHE_USAGE.name, model_name="llama-3-8b") > \
        value(healthy, m.VLLM_KV_CACHE_USAGE.name, model_name="llama-3-8b")
    app = create_app(quiet_config())
    status, _ = asyncio.run(scrape_while(app, {"outage": ["local-gpu"]}, "/engines/local-gpu/metrics", 1))
    assert status == 503


def test_gpu_nodes_and_unknown_engines():
    app = create_app(quiet_config())
    status, text = asyncio.run(scrape_while(app, None, "/dcgm/vllm-gpu-node/metrics", 1))
    assert status == 200 and len(re.findall(r"^DCGM_FI_DEV_GPU_UTIL\{", text, re.M)) == 2  # vllm runs on 2 GPUs
    assert asyncio.run(scrape_while(create_app(quiet_config()), None, "/engines/openai/metrics", 1))[0] == 404
    assert asyncio.run(scrape_while(create_app(quiet_config()), None, "/dcgm/nowhere/metrics", 1))[0] == 404


@pytest.mark.parametrize(("backend", "message"), [
    ({"name": "x", "engine": "triton", "models": ["m"]}, "engine: expected one of"),
    ({"name": "x", "engine": "vllm", "models": ["*"]}, "an engine serves named models"),
])
def test_bad_engine_config_names_the_key(backend, message):
    with pytest.raises(ConfigError, match=message):
        config_from_mapping({"backends": [backend], "strategies": {"quick": ["x"]}, "default_strategy": "quick"})
