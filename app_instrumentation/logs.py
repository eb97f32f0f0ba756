"""Structured ECS JSON logging for the router (Python port of the seed's StructuredLogger).

* Streams: application, access, error, audit, metrics (``event.dataset`` = ``llm_router.<stream>``).
  stdout by default (Kubernetes collects it); ``log_dir`` writes one rotating file per stream;
  ``pretty`` prints human-readable lines for development.
* Every line: ``@timestamp``, ``log.level``, ``message``, ``ecs.version``, ``service.*``,
  ``host.hostname``, ``process.pid``, ``event.*`` and, inside a span, ``trace.id``/``span.id``.
* Field names come from :mod:`app_instrumentation.logs_fields`, shared with the Logstash pipeline.
* Redaction runs on the whole event; prompts/completions are left out unless enabled.
* Writing happens on a background thread behind a bounded queue (:mod:`logs_writer`); a
  full queue drops and counts, it never blocks a request.
* The logger is an ``InferenceObserver`` (``on_start``/``on_complete``/``on_error``).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app_instrumentation import logs_fields as F
from app_instrumentation.errors import INFERENCE_ERROR, classify, fingerprint, stack_trace
from app_instrumentation.events import (
    COMPLETION_ATTRIBUTE,
    PROMPT_ATTRIBUTE,
    PROVIDER_ATTRIBUTE,
    InferenceContext,
    InferenceResult,
    ModelEvent,
)
from app_instrumentation.logs_fields import Action, Stream, put
from app_instrumentation.logs_writer import AsyncWriter, DropCallback, Event, FileSink, Sink, StreamSink
from app_instrumentation.redaction import Redactor
from app_instrumentation.trace_context import SPAN_ATTRIBUTE, current_ids, span_ids

LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40}
TRUE = frozenset({"1", "true", "yes", "on"})
OPERATION_NAME = "chat"


@dataclass(frozen=True)
class LogConfig:
    service_name: str = "llm-router"
    service_version: str = "0.0.0"
    environment: str = "development"
    level: str = "info"
    #: None: stdout. A directory: one rotating file per stream.
    log_dir: str | None = None
    max_bytes: int = 50 * 1024 * 1024
    backups: int = 5
    #: Human-readable console lines instead of JSON (development only).
    pretty: bool = False
    #: Prompts and completions are personal data: off unless explicitly enabled.
    capture_prompts: bool = False
    prompt_max_chars: int = 1000
    queue_size: int = 10_000
    redact_keys: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LEVELS)}, got {self.level!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> LogConfig:
        """LOG_LEVEL, LOG_DIR, LOG_FORMAT=json|pretty|auto, LOG_CAPTURE_PROMPTS, LOG_PROMPT_MAX_CHARS,
        OTEL_SERVICE_NAME, SERVICE_VERSION, DEPLOYMENT_ENVIRONMENT."""
        values: dict[str, Any] = {
            "service_name": environ.get("OTEL_SERVICE_NAME", cls.service_name),
            "service_version": environ.get("SERVICE_VERSION", cls.service_version),
            "environment": environ.get("DEPLOYMENT_ENVIRONMENT", cls.environment),
            "level": environ.get("LOG_LEVEL", cls.level).lower(),
            "log_dir": environ.get("LOG_DIR") or None,
            "pretty": _pretty(environ.get("LOG_FORMAT", "auto").lower(), environ.get("DEPLOYMENT_ENVIRONMENT")),
            "capture_prompts": environ.get("LOG_CAPTURE_PROMPTS", "false").lower() in TRUE,
            "prompt_max_chars": int(environ.get("LOG_PROMPT_MAX_CHARS", cls.prompt_max_chars)),
        }
        return cls(**{**values, **overrides})


def _pretty(log_format: str, environment: str | None) -> bool:
    """``auto``: pretty only for a developer's terminal (no environment set, stdout is a TTY)."""
    if log_format not in ("json", "pretty", "auto"):
        raise ValueError(f"LOG_FORMAT must be json, pretty or auto, got {log_format!r}")
    if log_format == "auto":
        return environment in (None, "development") and sys.stdout.isatty()
    return log_format == "pretty"


@dataclass(frozen=True)
class ModelInfo:
    """The seed's model object for model load/unload events."""

    id: str
    name: str
    format: str = ""
    size_bytes: int | None = None


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…[truncated {len(text) - limit} chars]"


def _error_type_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _span_ids(ctx: InferenceContext) -> tuple[str, str] | None:
    """The inference span's ids when the TracingObserver opened one, else the current span's."""
    return span_ids(ctx.attributes.get(SPAN_ATTRIBUTE)) or current_ids()


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into ``base``, copying nested mappings (callers reuse one dict for several lines)."""
    for key, value in extra.items():
        if isinstance(value, Mapping):
            target = base.get(key)
            base[key] = _deep_merge(target if isinstance(target, dict) else {}, value)
        else:
            base[key] = value
    return base


class StructuredLogger:
    def __init__(
        self, config: LogConfig | None = None, sink: Sink | None = None, on_drop: DropCallback | None = None
    ) -> None:
        self.config = config or LogConfig()
        self.redact = Redactor(self.config.redact_keys)
        self._threshold = LEVELS[self.config.level]
        self._host = socket.gethostname()
        self._pid = os.getpid()
        fallback_reason = None
        if sink is None:
            sink, fallback_reason = self._default_sink()
        self.writer = AsyncWriter(sink, self.config.queue_size, on_drop)
        if fallback_reason:
            self.warn("Log directory not writable, logging to stdout", {"labels": {"reason": fallback_reason}})

    def _default_sink(self) -> tuple[Sink, str | None]:
        c = self.config
        if c.log_dir is None:
            return StreamSink(pretty=c.pretty), None
        try:
            return FileSink(c.log_dir, c.max_bytes, c.backups), None
        except OSError as exc:
            return StreamSink(pretty=c.pretty), f"{type(exc).__name__}: {exc}"

    # --- core -------------------------------------------------------------------------
    def emit(
        self,
        stream: Stream,
        level: str,
        message: str,
        action: Action,
        fields: Mapping[str, Any] | None = None,
        kind: str = "event",
        ids: tuple[str, str] | None = None,
    ) -> bool:
        """Build, redact and queue one event; False when filtered out or dropped.

        ``ids``: (trace id, span id) to use instead of the current span's.
        """
        if LEVELS[level] < self._threshold:
            return False
        event: Event = {"@timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        put(event, F.LOG_LEVEL, level)  # placed first for readability; set again after the merge
        put(event, F.MESSAGE, message)
        if fields:
            _deep_merge(event, fields)
        self._put_base(event, stream, level, message, action, kind, ids or current_ids())
        return self.writer.submit(stream, self.redact(event))

    def _put_base(
        self, event: Event, stream: Stream, level: str, message: str, action: Action, kind: str,
        ids: tuple[str, str] | None,
    ) -> None:
        # After the caller's fields: the base fields always win.
        c = self.config
        for fld, value in (
            (F.LOG_LEVEL, level),
            (F.MESSAGE, message),
            (F.LOG_LOGGER, stream.dataset),
            (F.ECS_VERSION_FIELD, F.ECS_VERSION),
            (F.SERVICE_NAME, c.service_name),
            (F.SERVICE_VERSION, c.service_version),
            (F.SERVICE_ENVIRONMENT, c.environment),
            (F.HOST_HOSTNAME, self._host),
            (F.PROCESS_PID, self._pid),
            (F.EVENT_DATASET, stream.dataset),
            (F.EVENT_ACTION, action.value),
            (F.EVENT_KIND, kind),
        ):
            put(event, fld, value)
        if ids is not None:
            put(event, F.TRACE_ID, ids[0])
            put(event, F.SPAN_ID, ids[1])

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        return self.writer.shutdown(timeout)

    @property
    def dropped(self) -> dict[str, int]:
        return dict(self.writer.dropped)

    # --- application / error streams -----------------------------------------------------
    def debug(self, message: str, fields: Mapping[str, Any] | None = None) -> bool:
        return self.emit(Stream.APPLICATION, "debug", message, Action.LOG, fields)

    def info(self, message: str, fields: Mapping[str, Any] | None = None) -> bool:
        return self.emit(Stream.APPLICATION, "info", message, Action.LOG, fields)

    def warn(self, message: str, fields: Mapping[str, Any] | None = None) -> bool:
        return self.emit(Stream.APPLICATION, "warn", message, Action.LOG, fields)

    def error(
        self,
        message: str,
        exc: BaseException | None = None,
        fields: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        action: Action = Action.ERROR,
        ids: tuple[str, str] | None = None,
    ) -> bool:
        event: Event = {}
        if exc is not None:
            put(event, F.ERROR_TYPE, _error_type_name(exc))
            put(event, F.ERROR_MESSAGE, str(exc))
            put(event, F.ERROR_STACK_TRACE, stack_trace(exc))
            put(event, F.ERROR_CODE, error_code or classify(exc))
            put(event, F.ERROR_GROUPING_KEY, fingerprint(exc))
        put(event, F.EVENT_OUTCOME, "failure")
        if fields:
            _deep_merge(event, fields)
        return self.emit(Stream.ERROR, "error", message, action, event, ids=ids)

    # --- access / audit / metrics streams --------------------------------------------------
    def access(
        self,
        method: str,
        path: str,
        status_code: int,
        duration_seconds: float,
        query: str = "",
        http_version: str = "",
        user_agent: str | None = None,
        client_address: str | None = None,
        request_id: str | None = None,
        request_bytes: int | None = None,
        response_bytes: int | None = None,
    ) -> bool:
        event: Event = {}
        for fld, value in (
            (F.HTTP_METHOD, method),
            (F.URL_PATH, path),
            (F.URL_QUERY, query or None),
            (F.HTTP_VERSION, http_version or None),
            (F.HTTP_STATUS, status_code),
            (F.HTTP_REQUEST_ID, request_id),
            (F.HTTP_REQUEST_BYTES, request_bytes),
            (F.HTTP_RESPONSE_BYTES, response_bytes),
            (F.USER_AGENT, user_agent),
            (F.CLIENT_ADDRESS, client_address),
            (F.EVENT_DURATION, int(duration_seconds * 1e9)),
            (F.EVENT_OUTCOME, "failure" if status_code >= 500 else "success"),
            (F.EVENT_CATEGORY, ["web"]),
        ):
            put(event, fld, value)
        return self.emit(Stream.ACCESS, "info", f"{method} {path} {status_code}", Action.HTTP_REQUEST, event)

    def audit(
        self, action: Action, fields: Mapping[str, Any] | None = None, ids: tuple[str, str] | None = None
    ) -> bool:
        return self.emit(Stream.AUDIT, "info", f"Audit: {action.value}", action, fields, ids=ids)

    def metric(
        self,
        name: str,
        value: float,
        labels: Mapping[str, str] | None = None,
        fields: Mapping[str, Any] | None = None,
        ids: tuple[str, str] | None = None,
    ) -> bool:
        event: Event = {"labels": {k: str(v) for k, v in (labels or {}).items()}}
        put(event, F.METRIC_NAME, name)
        put(event, F.METRIC_VALUE, float(value))
        if fields:
            _deep_merge(event, fields)
        return self.emit(Stream.METRICS, "info", f"Metric: {name}", Action.METRIC, event, kind="metric", ids=ids)

    # --- the seed's LLM events (and the InferenceObserver protocol) ----------------------------
    def _inference(self, ctx: InferenceContext, result: InferenceResult | None = None) -> Event:
        provider = ctx.attributes.get(PROVIDER_ATTRIBUTE) or (result.backend if result else ctx.backend)
        event: Event = {}
        for fld, value in (
            (F.INFERENCE_ID, ctx.request_id),
            (F.INFERENCE_STRATEGY, ctx.strategy),
            (F.INFERENCE_BACKEND, (result.backend if result else ctx.backend) or None),
            (F.GEN_AI_OPERATION, OPERATION_NAME),
            (F.GEN_AI_REQUEST_MODEL, ctx.model),
            (F.GEN_AI_PROVIDER, provider or None),
        ):
            put(event, fld, value)
        prompt = ctx.attributes.get(PROMPT_ATTRIBUTE)
        if isinstance(prompt, str):
            put(event, F.INFERENCE_PROMPT_LENGTH, len(prompt))
            if self.config.capture_prompts:
                put(event, F.INFERENCE_PROMPT, truncate(prompt, self.config.prompt_max_chars))
        return event

    def _outcome(self, event: Event, success: bool, duration_seconds: float) -> Event:
        put(event, F.INFERENCE_SUCCESS, success)
        put(event, F.INFERENCE_LATENCY_MS, round(duration_seconds * 1000, 3))
        put(event, F.EVENT_DURATION, int(duration_seconds * 1e9))
        put(event, F.EVENT_OUTCOME, "success" if success else "failure")
        return event

    def inference_start(self, ctx: InferenceContext) -> None:
        event, ids = self._inference(ctx), _span_ids(ctx)
        self.emit(Stream.APPLICATION, "info", "Inference started", Action.INFERENCE_START, event, ids=ids)
        self.audit(Action.INFERENCE_START, event, ids)

    def inference_complete(self, ctx: InferenceContext, result: InferenceResult) -> None:
        event, ids = self._outcome(self._inference(ctx, result), True, result.duration_seconds), _span_ids(ctx)
        for fld, value in (
            (F.GEN_AI_RESPONSE_MODEL, result.model),
            (F.GEN_AI_INPUT_TOKENS, result.prompt_tokens or ctx.prompt_tokens),
            (F.GEN_AI_OUTPUT_TOKENS, result.output_tokens),
            (F.GEN_AI_FINISH_REASONS, [result.finish_reason] if result.finish_reason else None),
            (F.INFERENCE_TOKENS, result.output_tokens),
            (F.INFERENCE_CACHED, result.cached),
        ):
            put(event, fld, value)
        completion = ctx.attributes.get(COMPLETION_ATTRIBUTE)
        if self.config.capture_prompts and isinstance(completion, str):
            put(event, F.INFERENCE_COMPLETION, truncate(completion, self.config.prompt_max_chars))
        self.emit(Stream.APPLICATION, "info", "Inference completed", Action.INFERENCE_COMPLETE, event, ids=ids)
        self.audit(Action.INFERENCE_COMPLETE, event, ids)
        labels = {"model": result.model, "strategy": ctx.strategy}
        self.metric("inference_latency", result.duration_seconds * 1000, labels, ids=ids)
        self.metric("tokens_generated", result.output_tokens, {"model": result.model}, ids=ids)

    def inference_error(self, ctx: InferenceContext, exc: BaseException) -> None:
        event, ids = self._outcome(self._inference(ctx), False, ctx.elapsed()), _span_ids(ctx)
        self.error("Inference failed", exc, event, classify(exc, INFERENCE_ERROR), Action.INFERENCE_ERROR, ids)
        put(event, F.ERROR_TYPE, _error_type_name(exc))
        put(event, F.ERROR_CODE, classify(exc, INFERENCE_ERROR))
        self.audit(Action.INFERENCE_ERROR, event, ids)

    def _model(self, model: ModelInfo) -> Event:
        event: Event = {}
        for fld, value in (
            (F.MODEL_ID, model.id),
            (F.MODEL_NAME, model.name),
            (F.MODEL_FORMAT, model.format or None),
            (F.MODEL_SIZE_BYTES, model.size_bytes),
        ):
            put(event, fld, value)
        return event

    def model_load(self, model: ModelInfo, duration_seconds: float) -> None:
        event = self._model(model)
        put(event, F.MODEL_LOAD_DURATION_MS, round(duration_seconds * 1000, 3))
        self.emit(Stream.APPLICATION, "info", "Model loaded", Action.MODEL_LOAD, event)
        self.audit(Action.MODEL_LOAD, event)
        self.metric("model_load_duration", duration_seconds * 1000, {"model": model.name, "format": model.format})

    def model_unload(self, model: ModelInfo) -> None:
        event = self._model(model)
        self.emit(Stream.APPLICATION, "info", "Model unloaded", Action.MODEL_UNLOAD, event)
        self.audit(Action.MODEL_UNLOAD, event)

    def on_model_loaded(self, event: ModelEvent) -> None:
        self.model_load(ModelInfo(event.name, event.name, event.format, event.size_bytes), event.load_seconds or 0.0)

    def on_model_unloaded(self, event: ModelEvent) -> None:
        self.model_unload(ModelInfo(event.name, event.name, event.format, event.size_bytes))

    # InferenceObserver
    on_start = inference_start
    on_complete = inference_complete
    on_error = inference_error
