"""The router core: cache, queue, strategy -> backend order, retries and fallback, observers.

Every inference goes through ``Router.open``: it returns a ``Generation`` whose ``chunks()``
yields the answer; completion (observers, cache fill, queue slot release) happens when the
chunks are exhausted, so streaming and non-streaming requests are measured the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

from app_instrumentation import catalog
from app_instrumentation.collector import COMPONENT, MetricsCollector
from app_instrumentation.events import (
    CACHE_HIT_ATTRIBUTE,
    COMPLETION_ATTRIBUTE,
    PROMPT_ATTRIBUTE,
    PROVIDER_ATTRIBUTE,
    SERVER_ATTRIBUTE,
    InferenceContext,
    InferenceResult,
    ModelEvent,
    ObserverSet,
)
from llmmon.example_router.backends import Answer, BackendError, RateLimited, SimulatedBackend
from llmmon.example_router.cache import CacheError, ResponseCache
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine_sim import SimulatedEngine, SimulatedGpus
from llmmon.example_router.faults import Faults
from llmmon.example_router.queue import InferenceQueue

#: Failures worth retrying on the same backend; a timeout, a rate limit or an outage moves on to the
#: next backend at once (retrying a slow or saturated backend mostly adds latency).
RETRY_REASONS = ("error",)
#: Cached answers are replayed in pieces of this many characters.
REPLAY_CHARS = 24
#: How often a stalled inference (the ``stall`` fault) looks whether it may go on.
STALL_POLL_SECONDS = 0.1
#: Every ``errors_total`` (type, component, severity) this router records: a backend attempt that
#: failed (recovered by a retry or fallback, or not), a cache error served around, a rejected
#: request, and a failed inference (``MetricsCollector.on_error``: once per failed request).
ERROR_SERIES: tuple[tuple[str, str, str], ...] = (
    *((t, "backend", "warning") for t in ("backend_error", "backend_timeout", "rate_limited")),
    ("cache_error", "cache", "warning"),
    ("validation_error", "api", "warning"),
    *((t, COMPONENT, "error") for t in ("backend_error", "backend_timeout", "rate_limited", "queue_full")),
)


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    model: str
    strategy: str
    max_tokens: int
    stream: bool = False
    use_cache: bool = True


class AllBackendsFailed(RuntimeError):
    def __init__(self, model: str, last: BackendError | None) -> None:
        super().__init__(f"no backend could serve {model}: {last}")
        self.last = last
        self.error_type = last.error_type if last else "backend_error"
        self.reason = last.reason if last else "unavailable"


def estimate_tokens(text: str) -> int:
    """Rough tokenizer stand-in: ~4/3 tokens per word."""
    return max(1, round(len(text.split()) * 4 / 3))


def cache_key(req: GenerateRequest) -> str:
    raw = f"{req.model}\0{req.max_tokens}\0{req.prompt}".encode()
    return "gen:" + hashlib.sha256(raw).hexdigest()


class Generation:
    """One inference in progress. Iterate ``chunks()`` exactly once (or call ``close()``)."""

    def __init__(
        self,
        router: Router,
        req: GenerateRequest,
        ctx: InferenceContext,
        answer: Answer | None = None,
        cached: dict[str, Any] | None = None,
        resources: AsyncExitStack | None = None,
    ) -> None:
        self.router = router
        self.req = req
        self.ctx = ctx
        self.answer = answer
        self.cached = cached
        self.resources = resources or AsyncExitStack()
        self.result: InferenceResult | None = None

    @property
    def backend(self) -> str:
        return self.answer.backend if self.answer else str(self.cached and self.cached["backend"])

    async def chunks(self) -> AsyncIterator[str]:
        try:
            if self.cached is not None:
                text = self.cached["text"]
                for i in range(0, len(text), REPLAY_CHARS):
                    yield text[i : i + REPLAY_CHARS]
                self.ctx.attributes[COMPLETION_ATTRIBUTE] = text
                self._finish(self.cached["output_tokens"], self.cached["finish_reason"])
            else:
                assert self.answer is not None
                parts: list[str] = []
                async for chunk in self.answer.tokens:
                    parts.append(chunk)
                    yield chunk
                self.ctx.attributes[COMPLETION_ATTRIBUTE] = "".join(parts)
                self._finish(self.answer.output_tokens, self.answer.finish_reason)
                if self.req.use_cache:
                    await self.router.cache_store(self.req, "".join(parts), self.answer)
        finally:
            await self.close()

    async def text(self) -> str:
        return "".join([chunk async for chunk in self.chunks()])

    async def close(self) -> None:
        await self.resources.aclose()

    def _finish(self, output_tokens: int, finish_reason: str) -> None:
        answer, cfg = self.answer, None
        if answer is not None:
            cfg = self.router.backends[answer.backend].config
        cost = 0.0
        if cfg is not None:
            cost = (self.ctx.prompt_tokens * cfg.usd_per_million_input_tokens
                    + output_tokens * cfg.usd_per_million_output_tokens) / 1e6
        self.result = InferenceResult(
            model=self.req.model,
            backend=self.backend,
            output_tokens=output_tokens,
            duration_seconds=self.ctx.elapsed(),
            prompt_tokens=self.ctx.prompt_tokens,
            ttft_seconds=answer.first_token_at - self.ctx.started_at if answer else None,
            backend_seconds=time.perf_counter() - answer.started_at if answer else None,
            cached=answer is None,
            cost_usd=cost,
            finish_reason=finish_reason,
            response_id=answer.response_id if answer else None,
        )
        self.router.observers.complete(self.ctx, self.result)


class Router:
    def __init__(
        self,
        config: RouterConfig,
        collector: MetricsCollector,
        observers: ObserverSet,
        faults: Faults,
        rng: random.Random,
    ) -> None:
        self.config = config
        self.collector = collector
        self.observers = observers
        self.faults = faults
        self.rng = rng
        #: The simulated vLLM engines behind the backends that have one (``engine_sim``).
        self.engines = {b.name: SimulatedEngine(b.name, b.models, b.kv_cache_tokens) for b in config.backends
                        if b.engine}
        self.gpus = SimulatedGpus({name: (engine, config.backend(name).gpus) for name, engine in self.engines.items()})
        self.backends = {
            b.name: SimulatedBackend(b, faults, collector, rng, config.breaker_failures, config.breaker_cooldown_seconds,
                                     self.engines.get(b.name))
            for b in config.backends
        }
        self.cache = ResponseCache(config.cache_max_entries, collector, faults)
        self.queue = InferenceQueue(config.max_concurrency, config.queue_max_waiting, collector)
        self.loaded: dict[str, Any] = {}
        self._started = False

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        self.initialize_series()
        for model in self.config.models:
            await self.load_model(model.name)
        self._started = True

    async def load_model(self, name: str) -> None:
        model = next(m for m in self.config.models if m.name == name)
        started = time.perf_counter()
        await asyncio.sleep(model.load_seconds)
        self.loaded[name] = model
        self.observers.model_loaded(ModelEvent(name, model.format, model.size_bytes, time.perf_counter() - started))

    async def unload_model(self, name: str) -> None:
        model = self.loaded.pop(name, None)
        if model is not None:
            self.observers.model_unloaded(ModelEvent(name, model.format, model.size_bytes))

    async def stop(self) -> None:
        """Shutdown: unload every model (each unload is observed, so logged and counted)."""
        self._started = False
        for name in sorted(self.loaded):
            await self.unload_model(name)

    def initialize_series(self) -> None:
        """Zero series for every backend event this config can produce, so alerts and dashboards
        see the families (and rate() has a starting point) before the first retry or fallback."""
        c = self.collector
        for name in self.backends:
            c.preinitialize(catalog.RATE_LIMITED, name)
            for reason in catalog.RETRIES.enums["reason"]:
                c.preinitialize(catalog.RETRIES, name, reason)
        pairs = {pair for order in self.config.strategies.values() for pair in zip(order, order[1:], strict=False)}
        for from_backend, to_backend in sorted(pairs):
            for reason in catalog.FALLBACKS.enums["reason"]:
                c.preinitialize(catalog.FALLBACKS, from_backend, to_backend, reason)
        for error_type, component, severity in ERROR_SERIES:
            c.preinitialize(catalog.ERRORS, error_type, component, severity)

    def is_initialized(self) -> bool:
        return self._started and not self.faults.not_ready

    def loaded_models(self) -> list[str]:
        return sorted(self.loaded)

    # --- inference -------------------------------------------------------------------
    async def open(self, req: GenerateRequest) -> Generation:
        """Start an inference: a cached answer, or a backend whose first token is ready."""
        ctx = InferenceContext(
            model=req.model, strategy=req.strategy, prompt_tokens=estimate_tokens(req.prompt),
            max_tokens=req.max_tokens, stream=req.stream,
            # Observers decide whether to keep the prompt (logs drop it unless capture is enabled).
            attributes={PROMPT_ATTRIBUTE: req.prompt},
        )
        # In progress until the generation is closed, whichever way it ends (the stall alert's input).
        resources = AsyncExitStack()
        resources.enter_context(self.collector.inference_in_progress())
        try:
            while self.faults.stall:  # injected: nothing gets through until the fault is cleared
                await asyncio.sleep(STALL_POLL_SECONDS)
            # Observers learn at start whether a model is called, and which provider first (tracing
            # samplers need gen_ai.provider.name when the span starts).
            cached = await self._cache_lookup(req)
        except BaseException:
            await resources.aclose()
            raise
        if cached is not None:
            ctx.attributes[CACHE_HIT_ATTRIBUTE] = True
            ctx.backend = str(cached["backend"])
        else:
            candidates = self.candidates(ctx.model, ctx.strategy)
            if candidates:
                self._target(ctx, candidates[0])
        self.observers.start(ctx)
        if cached is not None:
            return Generation(self, req, ctx, cached=cached, resources=resources)
        try:
            await resources.enter_async_context(self.queue.slot())
            answer = await self._attempts(ctx)
            ctx.backend = answer.backend
            return Generation(self, req, ctx, answer=answer, resources=resources)
        except BaseException as exc:
            await resources.aclose()
            if isinstance(exc, Exception):  # a cancelled request (client gone) is not an inference error
                self.observers.error(ctx, exc)
            raise

    async def _cache_lookup(self, req: GenerateRequest) -> dict[str, Any] | None:
        if not req.use_cache:
            return None
        try:
            return await self.cache.lookup(cache_key(req))
        except CacheError:
            self.collector.error(CacheError.error_type, "cache", "warning")
            return None

    async def cache_store(self, req: GenerateRequest, text: str, answer: Answer) -> None:
        entry = {"text": text, "backend": answer.backend, "output_tokens": answer.output_tokens,
                 "finish_reason": answer.finish_reason}
        try:
            await self.cache.set(cache_key(req), entry)
        except CacheError:
            self.collector.error(CacheError.error_type, "cache", "warning")

    def candidates(self, model: str, strategy: str) -> list[str]:
        return [name for name in self.config.strategies[strategy] if self.backends[name].config.serves(model)]

    async def _attempts(self, ctx: InferenceContext) -> Answer:
        """Try the strategy's backends in order; retry errors, fall back on anything else."""
        last: BackendError | None = None
        previous: str | None = None
        for name in self.candidates(ctx.model, ctx.strategy):
            if previous is not None and last is not None:
                self.collector.fallback(previous, name, last.reason)
            backend = self.backends[name]
            for attempt in range(self.config.max_retries + 1):
                self._target(ctx, name)
                started = time.perf_counter()
                try:
                    return await backend.start(ctx.model, ctx.prompt_tokens, ctx.max_tokens)
                except BackendError as exc:
                    last = exc
                    self._record_failure(ctx.model, exc, time.perf_counter() - started)
                    if exc.reason not in RETRY_REASONS or attempt == self.config.max_retries:
                        break
                    self.collector.retry(name, exc.reason)
            previous = name
        raise AllBackendsFailed(ctx.model, last)

    def _target(self, ctx: InferenceContext, backend: str) -> None:
        """The backend about to be called, its provider and (when configured) its address."""
        cfg = self.backends[backend].config
        ctx.backend = backend
        ctx.attributes[PROVIDER_ATTRIBUTE] = cfg.provider or backend
        if cfg.server_address:
            ctx.attributes[SERVER_ATTRIBUTE] = (cfg.server_address, cfg.server_port)
        else:
            ctx.attributes.pop(SERVER_ATTRIBUTE, None)

    def _record_failure(self, model: str, exc: BackendError, seconds: float) -> None:
        self.collector.backend_request(model, exc.backend, "error", seconds)
        self.collector.error(exc.error_type, "backend", "warning")
        if isinstance(exc, RateLimited):
            self.collector.rate_limited(exc.backend)

    async def probe(self) -> str:
        """A tiny real inference for the health check (bypasses the cache)."""
        model = self.config.models[0].name
        req = GenerateRequest("health probe", model, self.config.default_strategy, 4, use_cache=False)
        generation = await self.open(req)
        return await generation.text()
