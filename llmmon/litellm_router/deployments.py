"""LiteLLM deployments for the example router's config, and what makes them slow or fail.

Each (backend, model) pair the config serves is one deployment of the model's group, with id
``backend/model``. A deployment never calls out: it answers with ``mock_response`` (the request's
answer, or a failure chosen here) from an ``api_base`` nobody listens on, so a mistake cannot
reach a network. ``SimulatedBackends`` is a LiteLLM hook run once the Router picked a deployment:
it applies the backend's latency, error and timeout rates, rate limit and the injected faults.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from llmmon.example_router.backends import TokenBucket
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.faults import Faults

#: Loopback discard port: a deployment that somehow skipped its mock answer fails here, offline.
OFFLINE_API_BASE = "http://127.0.0.1:9/v1"
OFFLINE_API_KEY = "offline-mock"


class SimulatedFailure(Exception):
    """A failure LiteLLM raises as the deployment's answer (``MockException`` with this status)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def deployment_id(backend: str, model: str) -> str:
    return f"{backend}/{model}"


def model_list(config: RouterConfig) -> list[dict[str, Any]]:
    """One LiteLLM deployment per (backend, model) the config serves, priced like the backend. The
    default strategy's last backend is the last resort (LiteLLM ``order`` 2), as in the example router."""
    last_resort = config.strategies[config.default_strategy][-1]
    return [
        {
            "model_name": model.name,
            "litellm_params": {
                "model": f"openai/{model.name}", "api_base": OFFLINE_API_BASE, "api_key": OFFLINE_API_KEY,
                "mock_response": f"{backend.name} answers", "order": 2 if backend.name == last_resort else 1,
                "input_cost_per_token": backend.usd_per_million_input_tokens / 1e6,
                "output_cost_per_token": backend.usd_per_million_output_tokens / 1e6,
            },
            "model_info": {"id": deployment_id(backend.name, model.name)},
        }
        for model in config.models for backend in config.backends if backend.serves(model.name)
    ]


def fallbacks(config: RouterConfig) -> list[dict[str, list[str]]]:
    """Every model group falls back to the last one (the default config's hosted gpt-4o-mini)."""
    last = config.models[-1].name
    return [{m.name: [last]} for m in config.models if m.name != last]


class SimulatedBackends(CustomLogger):
    """Latency and failures of the deployment the Router picked, from the backend's config and faults."""

    def __init__(self, config: RouterConfig, faults: Faults, rng: random.Random) -> None:
        super().__init__()
        self.config = config
        self.faults = faults
        self.rng = rng
        self.buckets = {b.name: TokenBucket(b.rate_limit_rpm) for b in config.backends}
        self.backend_of = {deployment_id(b.name, m.name): b.name for m in config.models for b in config.backends}

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> dict[str, Any]:
        metadata = kwargs.get("metadata") or kwargs.get("litellm_metadata") or {}
        backend = self.backend_of.get(str((metadata.get("model_info") or {}).get("id")))
        if backend is not None:
            failure = await self._call(backend)
            if failure is not None:
                kwargs["mock_response"] = failure
        return kwargs

    async def _call(self, name: str) -> SimulatedFailure | str | None:
        """Wait like the backend would; the failure it answers with, if any."""
        backend, faults = self.config.backend(name), self.faults.for_backend(name)
        if backend.outage or faults.outage:
            return SimulatedFailure(503, f"{name} is down")
        if faults.rate_limit_exhausted or not self.buckets[name].take():
            return "litellm.RateLimitError"
        if self.rng.random() < backend.timeout_rate:
            await asyncio.sleep(backend.timeout_ms / 1000)
            return SimulatedFailure(408, f"{name}: no answer within {backend.timeout_ms:g} ms")
        await asyncio.sleep((backend.latency_ms * self.rng.uniform(0.5, 1.5) + faults.latency_ms) / 1000)
        if self.rng.random() < min(1.0, backend.error_rate + faults.error_rate):
            return "litellm.InternalServerError"
        return None
