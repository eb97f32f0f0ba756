"""Fault injection semantics the README's drill relies on: each ``llmmon fault`` replaces the last,
a restarted router gets its faults back, a stall holds every inference, and no fault outlives
itself (a circuit breaker that closes again once the backend is healthy)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app_instrumentation import catalog
from llmmon.commands.fault import fault_body
from llmmon.example_router.config import BackendConfig
from llmmon.example_router.faults import FaultError, Faults, restore_bodies
from tests.test_router import FAST, fast_config, scenario, value


def test_put_replaces_every_fault_and_post_changes_what_it_names():
    async def steps(client: httpx.AsyncClient, app) -> list[dict]:
        shown = []
        await client.post("/admin/faults", json={"error_rate": 1.0, "backends": ["a"]})
        shown.append((await client.post("/admin/faults", json={"latency_ms": 5})).json())
        shown.append((await client.put("/admin/faults", json={"latency_ms": 7, "backends": ["b"]})).json())
        bad = await client.put("/admin/faults", json={"outage": ["nope"]})
        shown.append((await client.get("/admin/faults")).json())
        return [*shown, bad.status_code]

    (added, replaced, after_bad, bad_status), _ = scenario(fast_config(), steps)
    assert added["backends"]["a"]["error_rate"] == 1.0 and added["backends"]["a"]["latency_ms"] == 5
    assert replaced["backends"]["a"] == {"error_rate": 0.0, "latency_ms": 0.0, "outage": False,
                                         "rate_limit_exhausted": False}
    assert replaced["backends"]["b"]["latency_ms"] == 7
    assert bad_status == 400 and after_bad == replaced  # a bad body changes nothing


@pytest.mark.parametrize("changes", [
    [],
    [{"error_rate": 0.3, "backends": ["b"]}, {"latency_ms": 250}],
    [{"outage": ["a"], "rate_limit_exhausted": ["b", "c"], "cache_broken": True, "stall": True}],
    [{"error_rate": 1.0}, {"outage": ["*"]}, {"not_ready": True}],
])
def test_a_snapshot_restores_onto_a_fresh_router(changes):
    """What ``llmmon fault router-up`` does: the faults of the stopped router, on the new one."""
    before = Faults(("a", "b", "c"))
    for body in changes:
        before.apply(body)
    after = Faults(("a", "b", "c"))
    after.apply({"error_rate": 0.9})  # whatever the new router had is replaced
    for method, body in restore_bodies(before.to_json()):
        (after.replace if method == "PUT" else after.apply)(body)
    assert after.to_json() == before.to_json()


def test_fault_bodies_of_the_cli_actions():
    assert fault_body("error-burst", 1.0, 0, None) == {"error_rate": 1.0}
    assert fault_body("slow", 0.5, 3000, ["vllm"]) == {"latency_ms": 3000, "backends": ["vllm"]}
    assert fault_body("outage", 0.5, 0, ["local-gpu"]) == {"outage": ["local-gpu"]}
    assert fault_body("stall", 0.5, 0, None) == {"stall": True}
    with pytest.raises(FaultError, match="stall: expected true or false"):
        Faults(("a",)).replace({"stall": "yes"})


def test_a_stall_holds_every_inference_cached_ones_too_until_it_is_cleared():
    async def steps(client: httpx.AsyncClient, app) -> tuple:
        first = await client.post("/api/generate", json={"prompt": "p", "model": "m1"})  # now cached
        await client.put("/admin/faults", json={"stall": True})
        stuck = [asyncio.create_task(client.post("/api/generate", json={"prompt": p, "model": "m1"}))
                 for p in ("p", "q")]
        await asyncio.sleep(0.5)
        held = (value(app, catalog.INFERENCES_IN_PROGRESS.name), [t.done() for t in stuck])
        health = (await client.get("/health/live")).status_code
        await client.delete("/admin/faults")
        answers = [r.status_code for r in await asyncio.gather(*stuck)]
        return first.status_code, held, health, answers

    (first, held, health, answers), app = scenario(fast_config(), steps)
    assert first == 200 and held == (2, [False, False]) and health == 200
    assert answers == [200, 200]
    assert value(app, catalog.INFERENCE.name, model="m1", strategy="quick", status="success", cached="true") == 1


def test_an_open_circuit_breaker_closes_once_the_backend_is_healthy_under_traffic():
    """Refusals of an open breaker are not new failures: they must not keep it open forever."""
    config = fast_config(backends=(BackendConfig("a", **FAST), BackendConfig("b", **FAST)),
                         strategies={"quick": ("a",), "balanced": ("b",)}, breaker_failures=2,
                         breaker_cooldown_seconds=0.3, max_retries=0)

    async def steps(client: httpx.AsyncClient, app) -> list[int]:
        async def ask(i: int) -> int:
            return (await client.post("/api/generate", json={"prompt": f"x{i}", "model": "m1"})).status_code

        await client.put("/admin/faults", json={"error_rate": 1.0})
        codes = [await ask(i) for i in range(2)]  # two failures open the breaker
        await client.put("/admin/faults", json={})  # the backend is healthy again
        for i in range(2, 40):  # traffic keeps coming, every 50 ms, while the breaker cools down
            codes.append(await ask(i))
            if codes[-1] == 200:
                break
            await asyncio.sleep(0.05)
        return codes

    codes, app = scenario(config, steps)
    assert codes[:3] == [502, 502, 502]  # failed, failed, refused by the open breaker
    assert codes[-1] == 200, codes  # closed after its cooldown (0.3 s), though refusals kept coming
    assert value(app, catalog.BACKEND_UP.name, backend="a") == 1
