"""Simulated model backends: latency, token speed, errors, timeouts, outage, rate limit, circuit breaker.

A call fails (if it fails) before its first token, so the router can still retry or fall
back; once tokens flow they flow to the end.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from app_instrumentation.collector import MetricsCollector
from llmmon.example_router.config import BackendConfig
from llmmon.example_router.engine_sim import EngineRequest, SimulatedEngine
from llmmon.example_router.faults import Faults

_WORDS = (
    "the model routes each prompt to a backend that answers within budget while metrics logs and traces "
    "tell the operator what happened and why latency tokens cost and errors moved"
).split()
#: Tokens are produced in small chunks so a long answer is not one sleep per token.
CHUNK_TOKENS = 4


class BackendError(Exception):
    """A failed backend call. ``reason`` feeds retries/fallbacks, ``error_type`` feeds errors_total."""

    reason = "error"
    error_type = "backend_error"

    def __init__(self, backend: str, message: str) -> None:
        super().__init__(f"{backend}: {message}")
        self.backend = backend


class BackendTimeout(BackendError):
    reason = "timeout"
    error_type = "backend_timeout"


class RateLimited(BackendError):
    reason = "rate_limited"
    error_type = "rate_limited"


class Unavailable(BackendError):
    reason = "unavailable"


class CircuitOpen(Unavailable):
    """Refused by the circuit breaker without a call: not a new failure of the backend (counting it
    as one would keep the breaker open for as long as traffic flows, however healthy the backend)."""


class TokenBucket:
    """``per_minute`` requests per minute, bursting up to ``per_minute``; 0 = unlimited."""

    def __init__(self, per_minute: float) -> None:
        self.capacity = per_minute
        self.tokens = per_minute
        self._refilled = time.monotonic()

    def take(self) -> bool:
        if not self.capacity:
            return True
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self._refilled) * self.capacity / 60.0)
        self._refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Answer:
    """A started generation: ``tokens`` yields the output, first chunk already produced."""

    backend: str
    tokens: AsyncIterator[str]
    started_at: float
    first_token_at: float
    finish_reason: str
    output_tokens: int
    #: The completion's id, as an OpenAI-compatible backend returns it.
    response_id: str | None = None


class SimulatedBackend:
    def __init__(
        self,
        config: BackendConfig,
        faults: Faults,
        collector: MetricsCollector,
        rng: random.Random,
        breaker_failures: int = 5,
        breaker_cooldown: float = 5.0,
        engine: SimulatedEngine | None = None,
    ) -> None:
        self.config = config
        self.name = config.name
        self.faults = faults
        self.collector = collector
        self.rng = rng
        self.bucket = TokenBucket(config.rate_limit_rpm)
        self.breaker_failures = breaker_failures
        self.breaker_cooldown = breaker_cooldown
        #: The vLLM-compatible engine behind it, told about every call that reaches it (``engine_sim``).
        self.engine = engine
        self.consecutive_failures = 0
        self.cooling_until = 0.0
        self.state = ""
        self.publish_state()

    # --- state -----------------------------------------------------------------------
    def current_state(self) -> str:
        if self.config.outage or self.faults.for_backend(self.name).outage:
            return "down"
        if time.monotonic() < self.cooling_until:
            return "cooling_down"
        return "degraded" if self.consecutive_failures else "healthy"

    def publish_state(self) -> None:
        state = self.current_state()
        if state != self.state:
            self.state = state
            self.collector.backend_state(self.name, state)

    def _failed(self) -> None:
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.breaker_failures:
            self.cooling_until = time.monotonic() + self.breaker_cooldown
            self.consecutive_failures = 0
        self.publish_state()

    def _succeeded(self) -> None:
        self.consecutive_failures = 0
        self.publish_state()

    # --- a call ----------------------------------------------------------------------
    async def start(self, model: str, prompt_tokens: int, max_tokens: int) -> Answer:
        """Wait for the first token; raise a BackendError subclass instead if the call fails."""
        started = time.perf_counter()
        try:
            answer = await self._start(model, prompt_tokens, max_tokens, started)
        except CircuitOpen:
            raise
        except BackendError:
            self._failed()
            raise
        self._succeeded()
        return answer

    async def _start(self, model: str, prompt_tokens: int, max_tokens: int, started: float) -> Answer:
        faults = self.faults.for_backend(self.name)
        self.publish_state()
        if self.state == "down":
            raise Unavailable(self.name, "backend is down")
        if self.state == "cooling_down":
            raise CircuitOpen(self.name, "circuit breaker open")
        if faults.rate_limit_exhausted or not self.bucket.take():
            self._publish_remaining(0 if faults.rate_limit_exhausted else None)
            raise RateLimited(self.name, "rate limit exceeded")
        self._publish_remaining()
        # The call reaches the engine: the injected latency is time in its waiting queue.
        request = self.engine.enter(model, prompt_tokens, waiting=faults.latency_ms > 0) if self.engine else None
        try:
            if self.rng.random() < self.config.timeout_rate:
                await asyncio.sleep(self.config.timeout_ms / 1000)
                raise BackendTimeout(self.name, f"no answer within {self.config.timeout_ms:g} ms")
            base_ms = self.config.latency_ms * self.rng.uniform(0.5, 1.5)
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000)
            if self.engine:
                self.engine.admit(request)
            await asyncio.sleep(base_ms / 1000)
            if self.rng.random() < min(1.0, self.config.error_rate + faults.error_rate):
                raise BackendError(self.name, "backend returned an error")
        except BaseException:
            if self.engine:
                self.engine.leave(request, None)
            raise
        output_tokens = self.rng.randint(max(1, max_tokens // 4), max_tokens)
        finish = "length" if output_tokens == max_tokens else "stop"
        response_id = f"chatcmpl-{self.rng.getrandbits(64):016x}"
        return Answer(self.name, self._tokens(output_tokens, request, finish), started, time.perf_counter(), finish,
                      output_tokens, response_id)

    def _publish_remaining(self, value: float | None = None) -> None:
        if self.bucket.capacity:
            remaining = self.bucket.tokens if value is None else value
            self.collector.rate_limit_remaining(self.name, max(0.0, remaining))

    async def _tokens(self, count: int, request: EngineRequest | None = None, finish: str = "stop"
                      ) -> AsyncIterator[str]:
        seconds_per_token = 1.0 / self.config.tokens_per_second if self.config.tokens_per_second else 0.0
        sent = 0
        try:
            while sent < count:
                n = min(CHUNK_TOKENS, count - sent)
                if sent:  # the first chunk is ready when start() returns
                    await asyncio.sleep(n * seconds_per_token)
                if self.engine:
                    self.engine.tokens(request, n)
                yield "".join(" " + self.rng.choice(_WORDS) for _ in range(n))
                sent += n
        finally:  # abandoned mid-way (client gone): the engine aborts it, no success
            if self.engine:
                self.engine.leave(request, finish if sent >= count else None)
