"""The example router's ASGI app: ``create_app(config)``.

Layers, outermost first: ``MetricsMiddleware`` (HTTP + connection metrics by route
template) -> any extra wrappers (access logs, tracing) -> ``MonitoringApp`` (``/metrics``,
``/metrics/json``, ``/health*``) -> the Starlette app (``/api/*``, ``/admin/faults``, and
``/debug`` when the config enables it).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app_instrumentation import exposition, health_checks
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.debug import RecentErrors, debug_report
from app_instrumentation.events import InferenceObserver, ObserverSet
from app_instrumentation.health import HealthChecker
from app_instrumentation.labels import LabelPolicy
from app_instrumentation.logs_fields import Stream
from app_instrumentation.middleware import ASGIApp, MetricsMiddleware, Receive, Scope, Send
from app_instrumentation.routes import RouteTemplates
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine import AllBackendsFailed, Generation, Router
from llmmon.example_router.faults import FaultError, Faults
from llmmon.example_router.queue import QueueFull
from llmmon.example_router.traffic import TrafficGenerator
from llmmon.example_router.validation import (
    MAX_BODY_BYTES,
    InvalidRequest,
    decode_json,
    one_line,
    parse_generate,
)

DEBUG_PATH = "/debug"
#: The Prometheus text format, as vLLM and the DCGM exporter serve it.
EXPOSITION = "text/plain; version=0.0.4; charset=utf-8"
_FAILURE_STATUS = {"rate_limited": 429, "timeout": 504}


def error_response(status: int, error_type: str, message: str, field: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if field:
        error["field"] = field
    return JSONResponse({"error": error}, status_code=status)


def refusal(exc: InvalidRequest) -> JSONResponse:
    response = error_response(exc.status, exc.error_type, exc.message, exc.field)
    if exc.status == 413:
        response.headers["connection"] = "close"  # the rest of the body is not read
    return response


async def read_json(request: Request) -> Any:
    """The body as JSON through the request schema's decoder; stops reading past ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise InvalidRequest("body", f"larger than {MAX_BODY_BYTES} bytes", 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise InvalidRequest("body", f"larger than {MAX_BODY_BYTES} bytes", 413)
    return decode_json(bytes(body))


def build_health(config: RouterConfig, router: Router, collector: MetricsCollector) -> HealthChecker:
    h = config.health
    checks = [
        health_checks.router_initialized(router.is_initialized),
        health_checks.models_available(router.loaded_models),
        health_checks.memory_usage(h.memory_limit_bytes or None),
        health_checks.disk_space(h.disk_path),
        health_checks.cache_round_trip(router.cache),
    ]
    if h.inference_probe:
        checks.append(health_checks.inference_probe(router.probe, h.probe_min_interval_seconds))
    return HealthChecker(checks, sink=collector, default_timeout=h.check_timeout_seconds, interval=h.interval_seconds)


class RouterApp:
    """The assembled ASGI app, with its parts reachable for tests and embedding."""

    def __init__(
        self,
        config: RouterConfig,
        traffic_rps: float = 0.0,
        observers: Iterable[InferenceObserver] = (),
        wrappers: Iterable[Callable[[ASGIApp], ASGIApp]] = (),
    ) -> None:
        self.config = config
        self.collector = MetricsCollector(LabelPolicy.of(
            config.model_names, (b.name for b in config.backends), config.strategies, config.max_series,
        ))
        self.collector.initialize_series(log_streams=[s.value for s in Stream])
        self.recent_errors = RecentErrors()
        self.observers = ObserverSet([self.collector, *observers, self.recent_errors])
        self.faults = Faults(tuple(b.name for b in config.backends))
        rng = random.Random(config.seed)
        self.router = Router(config, self.collector, self.observers, self.faults, rng)
        self.health = build_health(config, self.router, self.collector)
        self.starlette = Starlette(routes=[*self._routes(), *self._simulated_exporters()], lifespan=self._lifespan)
        self.monitoring = exposition.MonitoringApp(self.collector.registry, self.health, self.starlette)
        inner: ASGIApp = self.monitoring
        for wrap in wrappers:
            inner = wrap(inner)
        self.routes = RouteTemplates(exposition.PATHS, self.starlette.routes)
        self.asgi = MetricsMiddleware(inner, self.collector, self.routes)
        self.traffic = TrafficGenerator(self, self.router, config, traffic_rps, random.Random(config.seed))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.router.start()
        self.health.start()
        self.traffic.start()
        try:
            yield
        finally:
            await self.traffic.stop()
            await self.health.stop()
            await self.router.stop()

    def _routes(self) -> list[Route]:
        routes = [
            Route("/api/generate", self.generate, methods=["POST"]),
            Route("/api/models", self.list_models, methods=["GET"]),
            Route("/api/models/{model}", self.get_model, methods=["GET"]),
            Route("/admin/faults", self.faults_endpoint, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
        if self.config.debug_endpoint:  # reveals internals: only when the config asks for it
            routes.append(Route(DEBUG_PATH, self.debug, methods=["GET"]))
        return routes

    def _simulated_exporters(self) -> list[Route]:
        """The simulated engines and their GPUs, as vLLM and the DCGM exporter expose them (``engine_sim``)."""
        return [Route("/engines/{backend}/metrics", self.engine_metrics, methods=["GET"]),
                Route("/dcgm/{node}/metrics", self.gpu_metrics, methods=["GET"])]

    # --- endpoints -------------------------------------------------------------------
    async def generate(self, request: Request) -> Response:
        try:
            req = parse_generate(await read_json(request), self.config)
        except InvalidRequest as exc:  # a client's mistake: counted as a warning, never as a server error
            self.collector.error(InvalidRequest.error_type, "api", "warning")
            return refusal(exc)
        try:
            generation = await self.router.open(req)
        except QueueFull as exc:
            return error_response(503, exc.error_type, str(exc))
        except AllBackendsFailed as exc:
            return error_response(_FAILURE_STATUS.get(exc.reason, 502), exc.error_type, str(exc))
        if req.stream:
            return StreamingResponse(
                self._sse(generation), media_type="text/event-stream", background=BackgroundTask(generation.close)
            )
        text = await generation.text()
        return JSONResponse({"text": text, **self._summary(generation)})

    async def _sse(self, generation: Generation) -> AsyncIterator[str]:
        async for chunk in generation.chunks():
            yield f"data: {json.dumps({'text': chunk})}\n\n"
        yield f"data: {json.dumps({'done': True, **self._summary(generation)})}\n\n"

    @staticmethod
    def _summary(generation: Generation) -> dict[str, Any]:
        result = generation.result
        return {
            "id": generation.ctx.request_id,
            "model": generation.req.model,
            "strategy": generation.req.strategy,
            "backend": generation.backend,
            "cached": result.cached if result else generation.cached is not None,
            "usage": {"input_tokens": generation.ctx.prompt_tokens, "output_tokens": result.output_tokens if result else 0},
            "cost_usd": result.cost_usd if result else 0.0,
            "finish_reason": result.finish_reason if result else None,
        }

    async def engine_metrics(self, request: Request) -> Response:
        name = request.path_params["backend"]
        engine = self.router.engines.get(name)
        if engine is None:
            return error_response(404, "validation_error", f"backend {name!r} has no simulated engine", "backend")
        if self.router.backends[name].current_state() == "down":  # an outage: the engine is gone too
            return error_response(503, "unavailable", f"engine of {name} is down")
        return Response(engine.exposition(), media_type=EXPOSITION)

    async def gpu_metrics(self, request: Request) -> Response:
        """One node's GPUs, as that node's exporter pod serves them."""
        node = request.path_params["node"]
        if node not in self.router.gpus.nodes():
            return error_response(404, "validation_error", f"no simulated GPU node {node!r}", "node")
        return Response(self.router.gpus.exposition(node), media_type=EXPOSITION)

    async def list_models(self, request: Request) -> Response:
        return JSONResponse({"models": [self._model_info(m) for m in self.config.model_names]})

    async def get_model(self, request: Request) -> Response:
        name = request.path_params["model"]
        if name not in self.config.model_names:
            return error_response(404, "validation_error", f"unknown model {name!r}", "model")
        return JSONResponse(self._model_info(name))

    def _model_info(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "loaded": name in self.router.loaded,
            "backends": [b.name for b in self.config.backends if b.serves(name)],
        }

    async def debug(self, request: Request) -> Response:
        router = self.router
        return JSONResponse(debug_report({
            "config": self.config,
            "models": {name: {"format": m.format, "size_bytes": m.size_bytes} for name, m in sorted(router.loaded.items())},
            "backends": {name: b.current_state() for name, b in router.backends.items()},
            "queue": {"waiting": router.queue.waiting, "max_waiting": router.queue.max_waiting,
                      "max_concurrency": self.config.max_concurrency},
            "cache": {"entries": len(router.cache), "size_bytes": router.cache.size_bytes,
                      "max_entries": router.cache.max_entries},
            "faults": self.faults.to_json(),
            "recent_errors": self.recent_errors.snapshot(),
        }))

    async def faults_endpoint(self, request: Request) -> Response:
        if request.method in ("POST", "PUT"):  # POST changes what it names, PUT replaces every fault
            change = self.faults.apply if request.method == "POST" else self.faults.replace
            try:
                change(await read_json(request))
            except InvalidRequest as exc:
                return refusal(exc)
            except FaultError as exc:
                return error_response(400, "validation_error", one_line(str(exc)))
        elif request.method == "DELETE":
            self.faults.clear()
        return JSONResponse(self.faults.to_json())


def create_app(
    config: RouterConfig | None = None,
    *,
    traffic_rps: float = 0.0,
    observers: Iterable[InferenceObserver] = (),
    wrappers: Iterable[Callable[[ASGIApp], ASGIApp]] = (),
) -> RouterApp:
    """The example router as an ASGI app (serve it with uvicorn; lifespan starts models and checks)."""
    return RouterApp(config or RouterConfig(), traffic_rps, observers, wrappers)
