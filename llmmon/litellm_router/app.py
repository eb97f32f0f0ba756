"""The LiteLLM front's ASGI app: ``create_app(config)``, the example router's API on a ``litellm.Router``.

Layers, outermost first: ``MetricsMiddleware`` -> extra wrappers (access logs, tracing) ->
``MonitoringApp`` (``/metrics``, ``/health*``) -> Starlette (``/api/*``, ``/admin/faults``).
Inferences are measured only by ``LiteLLMCallback`` (registered in ``litellm.callbacks``), the way a
team running LiteLLM would; the front reports a call that raised with ``callback.request_failed``.
The request's ``strategy`` is validated like the example router's but LiteLLM routes by its own
strategy (``simple-shuffle``), which is the ``strategy`` label.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import litellm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from app_instrumentation import exposition, health_checks
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceObserver
from app_instrumentation.health import HealthChecker
from app_instrumentation.integrations.litellm import LiteLLMCallback
from app_instrumentation.integrations.litellm_attempts import error_type, status_code
from app_instrumentation.labels import LabelPolicy
from app_instrumentation.logs_fields import Stream
from app_instrumentation.middleware import ASGIApp, MetricsMiddleware, Receive, Scope, Send
from app_instrumentation.routes import RouteTemplates
from llmmon.example_router.app import MAX_BODY_BYTES, RouterApp, error_response
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine import GenerateRequest, estimate_tokens
from llmmon.example_router.faults import Faults
from llmmon.example_router.traffic import PROMPTS, TrafficGenerator
from llmmon.example_router.validation import InvalidRequest, parse_generate
from llmmon.litellm_router.deployments import SimulatedBackends, deployment_id, fallbacks, model_list

ROUTING_STRATEGY = "simple-shuffle"
_WORDS = " ".join(PROMPTS).lower().split()
_STATUS = {"rate_limited": 429, "backend_timeout": 504, "validation_error": 400}


class _NoModelLifecycle:
    """LiteLLM has no model loading: the traffic generator's periodic reload is a no-op here."""

    async def load_model(self, name: str) -> None:
        pass

    async def unload_model(self, name: str) -> None:
        pass


class LiteLLMRouterApp:
    def __init__(
        self,
        config: RouterConfig,
        traffic_rps: float = 0.0,
        observers: Iterable[InferenceObserver] = (),
        wrappers: Iterable[Callable[[ASGIApp], ASGIApp]] = (),
    ) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        # Offline: LiteLLM would download a Hugging Face tokenizer to count a llama model's streamed tokens.
        litellm.disable_hf_tokenizer_download = True
        deployments = model_list(config)
        self.collector = MetricsCollector(LabelPolicy.of(
            config.model_names, (d["model_info"]["id"] for d in deployments), [ROUTING_STRATEGY], config.max_series,
        ))
        self.collector.initialize_series(log_streams=[s.value for s in Stream])
        self.callback = LiteLLMCallback(self.collector, strategy=ROUTING_STRATEGY, observers=observers,
                                        allowed_fails=config.breaker_failures,
                                        cooldown_time=config.breaker_cooldown_seconds)
        self.callback.preinitialize(deployments, fallbacks(config))
        self.faults = Faults(tuple(b.name for b in config.backends))
        self.backends = SimulatedBackends(config, self.faults, random.Random(config.seed))
        self.router = litellm.Router(
            model_list=deployments, fallbacks=fallbacks(config), routing_strategy=ROUTING_STRATEGY,
            num_retries=config.max_retries, retry_after=0, allowed_fails=config.breaker_failures,
            cooldown_time=config.breaker_cooldown_seconds,
        )
        self.started = False
        self.health = HealthChecker(
            [health_checks.router_initialized(lambda: self.started and not self.faults.not_ready),
             health_checks.memory_usage(config.health.memory_limit_bytes or None),
             health_checks.disk_space(config.health.disk_path)],
            sink=self.collector, default_timeout=config.health.check_timeout_seconds,
            interval=config.health.interval_seconds,
        )
        self.starlette = Starlette(routes=self._routes(), lifespan=self._lifespan, max_body_size=MAX_BODY_BYTES)
        inner: ASGIApp = exposition.MonitoringApp(self.collector.registry, self.health, self.starlette)
        for wrap in wrappers:
            inner = wrap(inner)
        self.routes = RouteTemplates(exposition.PATHS, self.starlette.routes)
        self.asgi = MetricsMiddleware(inner, self.collector, self.routes)
        self.traffic = TrafficGenerator(self, _NoModelLifecycle(), config, traffic_rps,  # type: ignore[arg-type]
                                        random.Random(config.seed))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.asgi(scope, receive, send)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # LiteLLM's callbacks are process-wide: this app's are registered while it serves.
        litellm.callbacks = [*litellm.callbacks, self.callback, self.backends]
        self.started = True
        self.health.start()
        self.traffic.start()
        try:
            yield
        finally:
            await self.traffic.stop()
            await self.health.stop()
            self.started = False
            for callback in (self.callback, self.backends):  # also from the lists LiteLLM copied it into
                litellm.logging_callback_manager.remove_callback_from_all_lists(callback)
            self.callback.settle()

    # The example router's routes and endpoints: they only read config, faults and _model_info.
    _routes = RouterApp._routes
    list_models = RouterApp.list_models
    get_model = RouterApp.get_model
    faults_endpoint = RouterApp.faults_endpoint

    # --- endpoints -------------------------------------------------------------------
    async def generate(self, request: Request) -> Response:
        try:
            req = parse_generate(json.loads(await request.body()), self.config)
        except (ValueError, UnicodeDecodeError) as exc:
            self.collector.error(InvalidRequest.error_type, "api", "warning")
            field = exc.field if isinstance(exc, InvalidRequest) else "body"
            message = exc.message if isinstance(exc, InvalidRequest) else f"not valid JSON: {exc}"
            return error_response(400 if field == "body" else 422, InvalidRequest.error_type, message, field)
        trace_id = uuid.uuid4().hex
        try:
            response = await self.router.acompletion(
                model=req.model, messages=[{"role": "user", "content": req.prompt}], stream=req.stream,
                max_tokens=req.max_tokens, mock_response=self._answer(req), litellm_trace_id=trace_id,
            )
        except Exception as exc:  # noqa: BLE001 - every Router failure becomes a JSON error
            self.callback.request_failed(exc, model=req.model, trace_id=trace_id)
            kind = error_type(exc, status_code(exc))
            return error_response(_STATUS.get(kind, 502), kind, str(exc).splitlines()[0][:300])
        if req.stream:
            return StreamingResponse(self._sse(response, req, trace_id), media_type="text/event-stream")
        return JSONResponse({"text": response.choices[0].message.content, **self._summary(req, trace_id, response)})

    def _answer(self, req: GenerateRequest) -> Any:
        """The deployment's mock answer: a text of up to ``max_tokens`` words; exact usage unless streamed
        (then LiteLLM counts the streamed tokens itself)."""
        tokens = self.rng.randint(max(1, req.max_tokens // 4), req.max_tokens)
        text = " ".join(self.rng.choice(_WORDS) for _ in range(tokens))
        if req.stream:
            return text
        prompt_tokens = estimate_tokens(req.prompt)
        return {
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "length" if tokens == req.max_tokens else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": tokens,
                      "total_tokens": prompt_tokens + tokens},
        }

    async def _sse(self, stream: Any, req: GenerateRequest, trace_id: str) -> AsyncIterator[str]:
        try:
            async for chunk in stream:
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    yield f"data: {json.dumps({'text': text})}\n\n"
        except Exception as exc:  # noqa: BLE001 - a stream failing midway ends with an error event
            self.callback.request_failed(exc, model=req.model, trace_id=trace_id)
            yield f"data: {json.dumps({'error': str(exc).splitlines()[0][:300]})}\n\n"
            return
        yield f"data: {json.dumps({'done': True, **self._summary(req, trace_id, None)})}\n\n"

    def _summary(self, req: GenerateRequest, trace_id: str, response: Any) -> dict[str, Any]:
        hidden = getattr(response, "_hidden_params", None) or {}
        usage = getattr(response, "usage", None)
        return {
            "id": trace_id, "model": req.model, "strategy": ROUTING_STRATEGY,
            "backend": hidden.get("model_id"), "cached": bool(hidden.get("cache_hit")),
            "usage": {"input_tokens": getattr(usage, "prompt_tokens", None),
                      "output_tokens": getattr(usage, "completion_tokens", None)},
            "cost_usd": hidden.get("response_cost"),
        }

    def _model_info(self, name: str) -> dict[str, Any]:
        return {"name": name, "loaded": True,
                "backends": [deployment_id(b.name, name) for b in self.config.backends if b.serves(name)]}


def create_app(
    config: RouterConfig | None = None,
    *,
    traffic_rps: float = 0.0,
    observers: Iterable[InferenceObserver] = (),
    wrappers: Iterable[Callable[[ASGIApp], ASGIApp]] = (),
) -> LiteLLMRouterApp:
    """The LiteLLM front as an ASGI app (serve with uvicorn; the lifespan registers its LiteLLM callbacks)."""
    return LiteLLMRouterApp(config or RouterConfig(), traffic_rps, observers, wrappers)
