"""The LiteLLM front (llmmon router --litellm) in-process, and the same requests on the example router:
same metric families and label sets, so the dashboards and alerts work on LiteLLM traffic unchanged."""

import asyncio

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from alerts import render as alerts_render
from app_instrumentation import catalog
from dashboards.queries import all_queries
from foundation.promql_names import metric_names
from foundation.settings import load_settings
from llmmon.example_router import app as example
from llmmon.example_router.config import BackendConfig, ModelConfig, RouterConfig
from llmmon.litellm_router import app as front
from llmmon.litellm_router.deployments import OFFLINE_API_BASE, model_list

pytestmark = pytest.mark.usefixtures("offline")  # every test here: no host name resolved
FAST = dict(latency_ms=1, tokens_per_second=100000)
CONFIG = RouterConfig(
    models=(ModelConfig("m1", "gguf", 2e9, load_seconds=0), ModelConfig("m2", "api", 0, load_seconds=0)),
    backends=(BackendConfig("a", ("m1",), **FAST), BackendConfig("b", ("*",), usd_per_million_input_tokens=1,
                                                                   usd_per_million_output_tokens=2, **FAST)),
    strategies={"quick": ("a", "b")}, default_strategy="quick", max_retries=1, seed=7,
)
#: What only the example router simulates: model loading, its response cache and its queue.
#: A LiteLLM Router has none of these, so neither do the alerts and panels reading them.
EXAMPLE_ONLY = frozenset(s.name for s in (
    catalog.MODELS_LOADED, catalog.MODEL_LOAD_DURATION, catalog.MODEL_MEMORY, catalog.CACHE_HITS,
    catalog.CACHE_MISSES, catalog.CACHE_SIZE, catalog.QUEUE_SIZE, catalog.QUEUE_PROCESSING,
))
#: Read from the provider's x-ratelimit-* response headers (LiteLLM's additional_headers, mapped in
#: test_litellm_requests); mock answers carry none.
FROM_PROVIDER_HEADERS = frozenset({catalog.RATE_LIMIT_REMAINING.name})
REQUESTS = [
    {"prompt": "Summarise the routing policy", "model": "m1", "max_tokens": 8},
    {"prompt": "Explain a cache miss", "model": "m2", "max_tokens": 16, "stream": True},
    {"prompt": "", "model": "m1"},  # invalid: 422
]
#: Under injected faults: prompts not answered before (the example router would answer from its cache).
FAULTED = [{"prompt": f"Translate fallback chains, take {i}", "model": "m1", "max_tokens": 8} for i in range(4)]


def run(create_app, steps, config=CONFIG):
    app = create_app(config)

    async def go():
        async with app.starlette.router.lifespan_context(app.starlette):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router", timeout=60) as client:
                result = await steps(client, app)
                await asyncio.sleep(0.3)  # LiteLLM reports a call just after returning it
                return result, (await client.get("/metrics")).text

    return asyncio.run(go())


async def same_traffic(client, app):
    statuses = [(await client.post("/api/generate", json=body)).status_code for body in REQUESTS]
    await client.post("/admin/faults", json={"error_rate": 1.0})
    statuses.append((await client.post("/api/generate", json=FAULTED[0])).status_code)
    await client.post("/admin/faults", json={"rate_limit_exhausted": ["*"]})
    statuses.append((await client.post("/api/generate", json=FAULTED[1])).status_code)
    await client.delete("/admin/faults")
    return statuses


def label_sets(text):
    """family -> the set of label-name sets its samples carry (values differ: backends are named differently)."""
    out: dict[str, set[frozenset[str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith(catalog.PREFIX) and not sample.name.endswith("_created"):
                labels = frozenset(k for k in sample.labels if k != "le")
                out.setdefault(family.name if family.type != "counter" else f"{family.name}_total", set()).add(labels)
    return out


def values(text, label):
    return {s.labels[label] for f in text_string_to_metric_families(text) for s in f.samples if label in s.labels}


@pytest.fixture(scope="module")
def scrapes():
    return run(example.create_app, same_traffic), run(front.create_app, same_traffic)


def test_same_requests_get_the_same_answers(scrapes):
    (example_statuses, _), (litellm_statuses, _) = scrapes
    assert example_statuses[:3] == litellm_statuses[:3] == [200, 200, 422]
    assert example_statuses[3] == litellm_statuses[3] == 502  # every backend errors
    assert example_statuses[4] == litellm_statuses[4] == 429  # every backend's rate limit used up


def test_same_metric_families_and_label_sets_as_the_example_router(scrapes):
    (_, example_text), (_, litellm_text) = scrapes
    expected = {name: sets for name, sets in label_sets(example_text).items() if name not in EXAMPLE_ONLY}
    got = label_sets(litellm_text)
    assert set(got) == set(expected), (set(got) ^ set(expected))
    assert got == expected
    # The example router also pre-initialises the errors of its response cache (component "cache").
    example_only = {"component": {"cache"}}
    for label in ("status", "token_type", "cached", "severity", "component", "reason", "state"):
        assert values(litellm_text, label) - {"true"} == values(example_text, label) - {"true"} - example_only.get(
            label, set()), label


def test_every_series_the_alerts_and_dashboards_read_is_fed_by_litellm(scrapes):
    (_, example_text), (_, litellm_text) = scrapes
    settings = load_settings("dev")
    rules = [r for text in alerts_render.rule_files(settings).values() for g in yaml.safe_load(text)["groups"]
             for r in g["rules"]]
    read = {n for r in rules for n in metric_names(str(r["expr"]))}
    read |= {n for q in all_queries(settings) for n in metric_names(q.expr)}
    families = {s.name for s in catalog.METRICS if set(s.series_names) & read} - EXAMPLE_ONLY - FROM_PROVIDER_HEADERS
    exposed = {s.name for f in text_string_to_metric_families(litellm_text) for s in f.samples}
    missing = sorted(f for f in families if not set(catalog.BY_NAME[f].series_names) & exposed)
    assert missing == [], missing
    assert len(families) > 15


def test_litellm_front_records_its_routing_in_the_catalog_metrics(scrapes):
    _, (_, text) = scrapes
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}

    def get(spec, **labels):
        return samples.get((spec if isinstance(spec, str) else spec.name, tuple(sorted(labels.items()))), 0)

    ok = {"strategy": front.ROUTING_STRATEGY, "status": "success", "cached": "false"}
    assert get(catalog.INFERENCE, model="m1", **ok) == 1 and get(catalog.INFERENCE, model="m2", **ok) == 1
    failed = {"strategy": front.ROUTING_STRATEGY, "status": "error", "cached": "false"}
    assert get(catalog.INFERENCE, model="m1", **failed) == 2
    # m1's deployments: a/m1 and b/m1 (LiteLLM retries within the group), then fallback to m2's b/m2.
    retried = get(catalog.RETRIES, backend="a/m1", reason="error") + get(catalog.RETRIES, backend="b/m1", reason="error")
    assert retried >= 1
    assert get(catalog.FALLBACKS, from_backend="a/m1", to_backend="b/m2", reason="error") + get(
        catalog.FALLBACKS, from_backend="b/m1", to_backend="b/m2", reason="error") >= 1
    assert sum(get(catalog.RATE_LIMITED, backend=b) for b in ("a/m1", "b/m1", "b/m2")) >= 1
    # Zero series before any event, like the example router's, for every deployment and fallback pair.
    assert ("llm_router_fallbacks_total", (("from_backend", "a/m1"), ("reason", "unavailable"),
                                           ("to_backend", "b/m2"))) in samples
    assert get(catalog.COST, model="m2", backend="b/m2") > 0


def test_deployments_only_ever_answer_from_mocks():
    for deployment in model_list(RouterConfig()):
        params = deployment["litellm_params"]
        assert params["mock_response"] and params["api_base"] == OFFLINE_API_BASE
        assert params["api_base"].startswith("http://127.0.0.1:")


def test_outage_fault_shows_the_deployments_cooling_down_and_requests_failing():
    async def steps(client, app):
        await client.post("/admin/faults", json={"outage": ["*"]})
        return [(await client.post("/api/generate", json=body)).status_code for body in FAULTED[:3]]

    statuses, text = run(front.create_app, steps)
    assert statuses == [502, 502, 502]
    down = {s.labels["backend"] for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == catalog.BACKEND_UP.name and s.value == 0}
    assert {"a/m1", "b/m1", "b/m2"} <= down


def test_streamed_llama_answers_are_counted_without_downloading_a_tokenizer(offline):
    llama = RouterConfig(models=(ModelConfig("llama-3-8b", load_seconds=0),), backends=(BackendConfig("a", **FAST),),
                         strategies={"quick": ("a",)}, default_strategy="quick", seed=1)

    async def steps(client, app):
        body = {"prompt": "Explain token budgets", "model": "llama-3-8b", "max_tokens": 8, "stream": True}
        return (await client.post("/api/generate", json=body)).status_code

    status, text = run(front.create_app, steps, llama)
    assert status == 200 and offline == []
    assert 'llm_router_tokens_total{backend="a/llama-3-8b",model="llama-3-8b",token_type="output"}' in text


def test_nothing_reached_for_the_network(offline):
    assert offline == []
