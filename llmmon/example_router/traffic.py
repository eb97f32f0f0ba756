"""Built-in traffic generator: a request mix that drives every metric the router exposes.

Requests go through the full ASGI stack (middleware included) in-process. The mix
(``RouterConfig.traffic_mix``): repeated prompts (cache hits), streaming and non-streaming
generations over every model and strategy (backend errors -> retries, fallbacks, rate limits
with the default config), invalid bodies (4xx), templated and unknown paths, health reads, and
a periodic model reload.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import httpx

from app_instrumentation.background import BackgroundTask
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine import Router

_log = logging.getLogger(__name__)

PROMPTS = tuple(
    f"{verb} {topic} in {n} sentences"
    for verb in ("Summarise", "Explain", "Translate")
    for topic in ("the routing policy", "a cache miss", "token budgets", "fallback chains")
    for n in (1, 3)
)
INVALID_BODIES: tuple[Any, ...] = (
    {},
    {"prompt": ""},
    {"prompt": "hi", "max_tokens": -5},
    {"prompt": "hi", "strategy": "no-such-strategy"},
    {"prompt": "hi", "model": "no-such-model"},
    {"prompt": "hi", "temperature": "hot"},
)


class TrafficGenerator:
    def __init__(
        self, app: Any, router: Router, config: RouterConfig, rps: float, rng: random.Random,
        reload_every: float = 30.0,
    ) -> None:
        self.app = app
        self.router = router
        self.config = config
        self.rps = rps
        self.rng = rng
        self.reload_every = reload_every
        self.max_inflight = max(4, config.max_concurrency + config.queue_max_waiting + 8)
        self._background = BackgroundTask(self._loop, "traffic")
        self.sent = 0

    def start(self) -> None:
        if self.rps > 0:
            self._background.start()

    async def stop(self) -> None:
        await self._background.stop()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        inflight: set[asyncio.Task[None]] = set()
        async with httpx.AsyncClient(transport=transport, base_url="http://example-router", timeout=60) as client:
            next_at = next_reload = loop.time()
            try:
                while True:
                    if len(inflight) < self.max_inflight:
                        task = loop.create_task(self._one(client))
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                    if loop.time() >= next_reload:
                        next_reload += self.reload_every
                        inflight.add(loop.create_task(self._reload()))
                    next_at += 1.0 / self.rps
                    await asyncio.sleep(max(0.0, next_at - loop.time()))
            finally:
                for task in inflight:
                    task.cancel()
                await asyncio.gather(*inflight, return_exceptions=True)

    async def _reload(self) -> None:
        name = self.rng.choice(self.config.model_names)
        await self.router.unload_model(name)
        await self.router.load_model(name)

    async def _one(self, client: httpx.AsyncClient) -> None:
        self.sent += 1
        kinds = self.config.traffic_mix
        kind = self.rng.choices(list(kinds), list(kinds.values()))[0]
        try:
            if kind == "generate":
                await client.post("/api/generate", json=self.generate_body())
            elif kind == "invalid":
                body = self.rng.choice((*INVALID_BODIES, None))
                if body is None:
                    await client.post("/api/generate", content=b"{not json", headers={"content-type": "application/json"})
                else:
                    await client.post("/api/generate", json=body)
            elif kind == "model":
                await client.get(f"/api/models/{self.rng.choice(self.config.model_names)}")
            elif kind == "unknown":
                await client.get(f"/scan/{self.rng.randrange(10**6)}")
            else:
                await client.get("/health")
        except httpx.HTTPError as exc:
            _log.debug("generated request failed: %s", exc)

    def generate_body(self) -> dict[str, Any]:
        return {
            "prompt": self.rng.choice(PROMPTS),
            "model": self.rng.choice(self.config.model_names),
            "strategy": self.rng.choice(sorted(self.config.strategies)),
            "max_tokens": self.rng.choice((8, 16, 32, 64)),
            "stream": self.rng.random() < 0.3,
        }
