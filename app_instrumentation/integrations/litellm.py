"""LiteLLM (Router SDK and Proxy) -> this project's metrics, logs and spans, with one callback.

SDK::

    import litellm
    from app_instrumentation.integrations.litellm import LiteLLMCallback

    litellm.callbacks = [LiteLLMCallback()]      # llm_router_* on prometheus_client's default registry

Proxy (``config.yaml``)::

    litellm_settings:
      callbacks: ["prometheus", "app_instrumentation.integrations.litellm.proxy_callback"]

``model`` is the LiteLLM model group the client asked for (``model_name`` in the ``model_list``),
``backend`` the deployment that served the attempt (its ``model_info.id``, or provider/model when
LiteLLM generated the id), ``strategy`` the ``strategy`` argument. With no allow-lists any name the
Router routed to is kept, bounded by the series limit; ``models=``/``backends=`` restrict them.
How attempts become requests (retries, fallbacks, when a failure counts): ``litellm_requests``.
Every hook is guarded: an error inside is counted in ``llm_router_instrumentation_errors_total``
and never reaches LiteLLM.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from prometheus_client import REGISTRY, CollectorRegistry

from app_instrumentation import catalog
from app_instrumentation.collector import MetricsCollector
from app_instrumentation.events import InferenceObserver, ObserverSet
from app_instrumentation.guard import guarded
from app_instrumentation.integrations import litellm_attempts as attempts
from app_instrumentation.integrations.litellm_requests import (
    ALLOWED_FAILS,
    COOLDOWN_TIME,
    DEFAULT_SETTLE_SECONDS,
    RequestTracker,
)
from app_instrumentation.labels import DEFAULT_MAX_SERIES, LabelPolicy
from app_instrumentation.logs_fields import Stream
from app_instrumentation.logs_wiring import Observability

DEFAULT_STRATEGY = "litellm"
#: ``proxy_callback`` wires ECS logs, OTel spans and Sentry (``Observability.from_env``) when this is true.
OBSERVABILITY_ENV = "LLM_ROUTER_OBSERVABILITY"
TRUE = frozenset({"1", "true", "yes", "on"})

_default_lock = threading.Lock()
_default: MetricsCollector | None = None


def default_collector() -> MetricsCollector:
    """The process's collector on prometheus_client's default registry, open labels (one per process:
    the default registry refuses a metric name twice)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MetricsCollector(LabelPolicy.open(), registry=REGISTRY)
            _default.initialize_series(log_streams=[s.value for s in Stream])
        return _default


def _collector(
    models: Iterable[str] | None, backends: Iterable[str] | None, strategy: str, max_series: int,
    registry: CollectorRegistry | None,
) -> MetricsCollector:
    if models is None and backends is None and registry is None and max_series == DEFAULT_MAX_SERIES:
        return default_collector()
    policy = LabelPolicy.of(models, backends, [strategy], max_series)
    collector = MetricsCollector(policy, registry=registry if registry is not None else REGISTRY)
    collector.initialize_series(log_streams=[s.value for s in Stream])
    return collector


class LiteLLMCallback(CustomLogger):
    """A LiteLLM ``CustomLogger`` feeding the project's observers; see the module docstring."""

    def __init__(
        self,
        collector: MetricsCollector | None = None,
        *,
        models: Iterable[str] | None = None,
        backends: Iterable[str] | None = None,
        strategy: str = DEFAULT_STRATEGY,
        max_series: int = DEFAULT_MAX_SERIES,
        registry: CollectorRegistry | None = None,
        observers: Iterable[InferenceObserver] = (),
        observability: Observability | None = None,
        settle_seconds: float = DEFAULT_SETTLE_SECONDS,
        allowed_fails: int = ALLOWED_FAILS,
        cooldown_time: float = COOLDOWN_TIME,
        settle_in_background: bool = True,
    ) -> None:
        """``collector``: record there (its own allow-lists apply); else on ``registry`` (default:
        prometheus_client's) with ``models``/``backends`` allow-lists (None: any routed name) and
        ``max_series`` series per metric. ``observability``: logs, spans and error reports too.
        ``allowed_fails``/``cooldown_time``: the Router's settings of those names, to show its cooldowns."""
        super().__init__()
        if collector is not None and (models is not None or backends is not None or registry is not None):
            raise ValueError("pass either collector= or models=/backends=/registry=, not both")
        self.collector = collector or _collector(models, backends, strategy, max_series, registry)
        #: LiteLLM keeps one logger per class and public scalar attributes: callbacks recording into
        #: the same collector are one (never counted twice), callbacks with their own collectors are not.
        self.collector_key = f"{id(self.collector):x}"
        extra = list(observers) + list(observability.observers if observability is not None else ())
        if observability is not None:
            observability.bind(self.collector)
        self.observers = ObserverSet([self.collector, *extra])
        self.tracker = RequestTracker(self.collector, self.observers, strategy=strategy, settle_seconds=settle_seconds,
                                      allowed_fails=allowed_fails, cooldown_time=cooldown_time,
                                      background=settle_in_background)
        #: Prompt and completion text only matter to observers other than the metrics collector.
        self._texts = bool(extra)

    def instrumentation_failed(self, operation: str, exc: BaseException) -> None:
        self.collector.instrumentation_failed(operation, exc)

    @guarded("litellm_preinitialize")
    def preinitialize(
        self, model_list: Iterable[Mapping[str, Any]], fallbacks: Iterable[Mapping[str, Iterable[str]]] = (),
    ) -> None:
        """Zero series for every retry, fallback and rate limit the Router's ``model_list`` and
        ``fallbacks`` can produce, so alerts and dashboards see them before the first one happens."""
        groups: dict[str, list[str]] = {}
        for deployment in model_list:
            params, info = deployment.get("litellm_params") or {}, deployment.get("model_info") or {}
            backend = attempts.backend_name(info.get("id"), params.get("model"), params.get("custom_llm_provider"))
            groups.setdefault(deployment.get("model_name", ""), []).append(backend)
        c = self.collector
        for backend in sorted({b for backends in groups.values() for b in backends}):
            c.preinitialize(catalog.RATE_LIMITED, backend)
            for reason in catalog.RETRIES.enums["reason"]:
                c.preinitialize(catalog.RETRIES, backend, reason)
        pairs = {(a, b) for entry in fallbacks for group, targets in entry.items() for target in targets
                 for a in groups.get(group, ()) for b in groups.get(target, ())}
        for from_backend, to_backend in sorted(pairs):
            for reason in catalog.FALLBACKS.enums["reason"]:
                c.preinitialize(catalog.FALLBACKS, from_backend, to_backend, reason)

    # --- LiteLLM's hooks: per attempt -------------------------------------------------------
    @guarded("litellm_pre_api_call")
    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        prompt = attempts.message_text(messages) if self._texts else None
        self.tracker.started(attempts.read_attempt(kwargs), prompt)

    @guarded("litellm_success_event")
    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        completion = attempts.completion_text(response_obj) if self._texts else None
        attempt = attempts.read_attempt(kwargs, caching=litellm.cache is not None)
        self.tracker.succeeded(attempt, attempts.finish_reason(response_obj), completion,
                               attempts.response_id(response_obj))

    @guarded("litellm_failure_event")
    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.tracker.failed(attempts.read_attempt(kwargs))

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.log_success_event(kwargs, response_obj, start_time, end_time)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self.log_failure_event(kwargs, response_obj, start_time, end_time)

    # --- request-level failures: the Proxy's hook, or the caller's except block ---------------
    async def async_post_call_failure_hook(
        self, request_data: Any, original_exception: Any, user_api_key_dict: Any, traceback_str: Any = None,
    ) -> None:
        data: Mapping[str, Any] = request_data if isinstance(request_data, Mapping) else {}
        model, trace_id, call_id = (data.get(k) for k in ("model", "litellm_trace_id", "litellm_call_id"))
        exc = original_exception if isinstance(original_exception, BaseException) else RuntimeError(str(original_exception))
        self.request_failed(exc, *(v if isinstance(v, str) else None for v in (model, trace_id, call_id)))

    @guarded("litellm_request_failed")
    def request_failed(
        self, exc: BaseException, model: str | None = None, trace_id: str | None = None, call_id: str | None = None,
    ) -> None:
        """A Router call raised ``exc``: fail its inference now instead of after ``settle_seconds``.

        ``trace_id``/``call_id``: the ``litellm_trace_id``/``litellm_call_id`` passed to the call. Also
        counts what LiteLLM reports no callback for: a Router refusing a call because every deployment
        of the group is cooling down."""
        self.tracker.request_failed(trace_id, exc, model, call_id)

    def settle(self, trace_id: str | None = None) -> int:
        """Fail now the request ``trace_id``, or every request whose last attempt failed and that no
        retry or fallback followed, instead of waiting ``settle_seconds``."""
        return self.tracker.settle(trace_id) or 0


def _proxy_callback() -> LiteLLMCallback:
    observability = None
    if os.environ.get(OBSERVABILITY_ENV, "").lower() in TRUE:
        observability = Observability.from_env()
    return LiteLLMCallback(observability=observability)


_proxy_lock = threading.Lock()
_proxy: LiteLLMCallback | None = None


def __getattr__(name: str) -> Any:
    """``proxy_callback``: built on first use (the Proxy's config loader reads it), so importing this
    module registers nothing."""
    global _proxy
    if name != "proxy_callback":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    with _proxy_lock:
        if _proxy is None:
            _proxy = _proxy_callback()
        return _proxy
