"""Structured ECS JSON logging for the router (Python port of the seed's StructuredLogger).

* Streams: application, access, error, audit, metrics (``event.dataset`` = ``llm_router.<stream>``),
  each with its own level (``LOG_LEVEL`` is the application stream's; ``LOG_LEVEL_ACCESS``,
  ``LOG_LEVEL_AUDIT``, ``LOG_LEVEL_ERROR``, ``LOG_LEVEL_METRICS`` the others'), so quieting the
  application log never silences the access or audit trail. ``off`` disables a stream.
  stdout by default (Kubernetes collects it); ``log_dir`` writes one rotating file per stream;
  ``pretty`` prints human-readable lines for development.
* Every line follows ecs-logging: ``@timestamp``, ``log.level``, ``message``, ``ecs.version``
  first, ``log.level`` and ``ecs.version`` as top-level dotted keys; then ``service.*``,
  ``host.hostname``, ``process.pid``, ``event.*``, and while serving a request its
  ``http.request.id`` (``x-request-id``) and, inside a span, ``trace.id``/``span.id``.
* A successful inference writes one line at the default level ("Inference completed": model,
  provider, tokens, duration, outcome), plus the access line of its HTTP request; "Inference
  started" is debug. Failed inferences write one error line. Model loads and unloads also go to
  the audit stream; nothing is duplicated into the metrics stream (Prometheus has the numbers).
* The request path only checks the stream's level and queues a small record; building the
  nested event, timestamps, trace ids, redaction and JSON happen on the writer thread
  (:mod:`logs_writer`). A full queue drops and counts, it never blocks a request.
* The logger is an ``InferenceObserver`` (``on_start``/``on_complete``/``on_error``).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app_instrumentation import logs_fields as F
from app_instrumentation.errors import INFERENCE_ERROR, classify, fingerprint, qualified_name, stack_trace
from app_instrumentation.events import (
    CACHE_HIT_ATTRIBUTE,
    COMPLETION_ATTRIBUTE,
    PROMPT_ATTRIBUTE,
    PROVIDER_ATTRIBUTE,
    SERVER_ATTRIBUTE,
    InferenceContext,
    InferenceResult,
    ModelEvent,
)
from app_instrumentation.logs_fields import Action, Field, Stream
from app_instrumentation.logs_fill import Filler, compiled, fill
from app_instrumentation.logs_writer import (
    AsyncWriter,
    DropCallback,
    Event,
    FileSink,
    Sink,
    StreamSink,
    json_line,
)
from app_instrumentation.redaction import Redactor
from app_instrumentation.request_id import current_request_id
from app_instrumentation.service import ServiceInfo
from app_instrumentation.trace_context import SPAN_ATTRIBUTE, current_raw_ids, format_ids, raw_ids

LEVELS = {"debug": 10, "info": 20, "warn": 30, "error": 40, "off": 100}
TRUE = frozenset({"1", "true", "yes", "on"})
OPERATION_NAME = "chat"
#: Environment variable of each stream's level (the application stream's is plain LOG_LEVEL).
STREAM_LEVEL_VARS = {
    Stream.APPLICATION: "LOG_LEVEL", Stream.ACCESS: "LOG_LEVEL_ACCESS", Stream.AUDIT: "LOG_LEVEL_AUDIT",
    Stream.ERROR: "LOG_LEVEL_ERROR", Stream.METRICS: "LOG_LEVEL_METRICS",
}
#: ecs-logging: these characters are replaced by ``_`` in ``labels`` keys.
_LABEL_KEY_TABLE = str.maketrans({".": "_", "*": "_", "\\": "_"})


@dataclass(frozen=True)
class LogConfig:
    service_name: str = "llm-router"
    service_version: str = "0.0.0"
    environment: str = "development"
    #: The application stream's level.
    level: str = "info"
    #: Other streams' levels (``access``, ``audit``, ``error``, ``metrics``); unset ones are ``info``.
    stream_levels: Mapping[str, str] = field(default_factory=dict)
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
    #: At shutdown, how long writing the queued lines may take before the rest count as dropped.
    flush_timeout: float = 10.0
    redact_keys: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        unknown = sorted(set(self.stream_levels) - {s.value for s in Stream if s is not Stream.APPLICATION})
        if unknown:
            raise ValueError(f"stream_levels: unknown streams {unknown}; the application stream's level is `level`")
        for stream in Stream:
            level = self.level_of(stream)
            if level not in LEVELS:
                raise ValueError(f"log level of the {stream.value} stream ({STREAM_LEVEL_VARS[stream]}) must be "
                                 f"one of {', '.join(LEVELS)}, got {level!r}")

    def level_of(self, stream: Stream) -> str:
        if stream is Stream.APPLICATION:
            return self.level
        return self.stream_levels.get(stream.value, "info")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> LogConfig:
        """LOG_LEVEL, LOG_LEVEL_{ACCESS,AUDIT,ERROR,METRICS}, LOG_DIR, LOG_FORMAT=json|pretty|auto,
        LOG_CAPTURE_PROMPTS, LOG_PROMPT_MAX_CHARS, LOG_QUEUE_SIZE, LOG_FLUSH_TIMEOUT,
        OTEL_SERVICE_NAME, SERVICE_VERSION, DEPLOYMENT_ENVIRONMENT."""
        service = ServiceInfo.from_env(environ)
        values: dict[str, Any] = {
            "service_name": service.name,
            "service_version": service.version,
            "environment": service.environment,
            "level": environ.get("LOG_LEVEL", cls.level).lower(),
            "stream_levels": {
                s.value: environ[var].lower() for s, var in STREAM_LEVEL_VARS.items()
                if s is not Stream.APPLICATION and environ.get(var)
            },
            "log_dir": environ.get("LOG_DIR") or None,
            "pretty": _pretty(environ.get("LOG_FORMAT", "auto").lower(), environ.get("DEPLOYMENT_ENVIRONMENT")),
            "capture_prompts": environ.get("LOG_CAPTURE_PROMPTS", "false").lower() in TRUE,
            "prompt_max_chars": _number(environ, "LOG_PROMPT_MAX_CHARS", int, cls.prompt_max_chars),
            "queue_size": _number(environ, "LOG_QUEUE_SIZE", int, cls.queue_size),
            "flush_timeout": _number(environ, "LOG_FLUSH_TIMEOUT", float, cls.flush_timeout),
        }
        return cls(**{**values, **overrides})


def _number(environ: Mapping[str, str], name: str, kind: type[int] | type[float], default: float) -> Any:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {'whole ' if kind is int else ''}number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than 0, got {raw!r}")
    return value


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


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``extra`` into ``base`` (``extra`` wins), copying nested mappings."""
    for key, value in extra.items():
        if isinstance(value, Mapping):
            target = base.get(key)
            base[key] = _deep_merge(target if isinstance(target, dict) else {}, value)
        else:
            base[key] = value
    return base


_second: tuple[int, str] = (0, "")


def _timestamp(seconds: float) -> str:
    """``2026-11-26T10:00:00.123Z``; the part up to the second is reused while the second lasts."""
    global _second
    whole = int(seconds)
    cached = _second  # one read: another writer thread may replace it meanwhile
    if cached[0] != whole:
        cached = _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{cached[1]}.{int((seconds - whole) * 1000):03d}Z"


# Field layouts of the built-in events. The request path queues one tuple of values in this
# order (a handful of objects for the garbage collector instead of one pair per field); the
# writer thread zips them back together.
HEAD = (F.TIMESTAMP, F.LOG_LEVEL, F.MESSAGE, F.ECS_VERSION_FIELD)  # ecs-logging's order
TAIL = (F.LOG_LOGGER, F.EVENT_DATASET, F.EVENT_ACTION, F.EVENT_KIND, F.HTTP_REQUEST_ID, F.TRACE_ID, F.SPAN_ID)
INFERENCE = (
    F.INFERENCE_ID, F.INFERENCE_STRATEGY, F.INFERENCE_BACKEND, F.INFERENCE_STREAM, F.INFERENCE_PROMPT_LENGTH,
    F.INFERENCE_PROMPT, F.GEN_AI_OPERATION, F.GEN_AI_REQUEST_MODEL, F.GEN_AI_SYSTEM, F.GEN_AI_REQUEST_MAX_TOKENS,
    F.SERVER_ADDRESS, F.SERVER_PORT,
)
OUTCOME = (F.INFERENCE_SUCCESS, F.INFERENCE_LATENCY_MS, F.EVENT_DURATION, F.EVENT_OUTCOME)
COMPLETION = (
    F.GEN_AI_RESPONSE_MODEL, F.GEN_AI_RESPONSE_ID, F.GEN_AI_INPUT_TOKENS, F.GEN_AI_OUTPUT_TOKENS,
    F.GEN_AI_FINISH_REASONS, F.INFERENCE_CACHED, F.INFERENCE_TTFT_MS, F.INFERENCE_COMPLETION,
)
ERROR = (F.ERROR_TYPE, F.ERROR_MESSAGE, F.ERROR_STACK_TRACE, F.ERROR_CODE, F.ERROR_GROUPING_KEY)
ACCESS = (
    F.HTTP_METHOD, F.URL_PATH, F.URL_QUERY, F.HTTP_VERSION, F.HTTP_STATUS, F.HTTP_REQUEST_BYTES, F.HTTP_RESPONSE_BYTES,
    F.USER_AGENT, F.CLIENT_ADDRESS, F.EVENT_DURATION, F.EVENT_OUTCOME, F.EVENT_CATEGORY, F.EVENT_TYPE_ECS,
)
MODEL = (F.MODEL_ID, F.MODEL_NAME, F.MODEL_FORMAT, F.MODEL_SIZE_BYTES, F.MODEL_LOAD_DURATION_MS)
METRIC = (F.METRIC_NAME, F.METRIC_VALUE)
BASE = (F.SERVICE_NAME, F.SERVICE_VERSION, F.SERVICE_ENVIRONMENT, F.HOST_HOSTNAME, F.PROCESS_PID)
_WEB, _ACCESS = ["web"], ["access"]  # shared, never mutated
_COMPLETE_LAYOUT = (*INFERENCE, *OUTCOME, *COMPLETION)
_ERROR_LAYOUT = (*INFERENCE, *OUTCOME, *ERROR)
_ERROR_OUTCOME_LAYOUT = (*ERROR, F.EVENT_OUTCOME)
#: Compiled fillers of the built-in layouts (by identity: the request path queues these very tuples).
_FILLERS: dict[int, tuple[tuple[Field, ...], Filler]] = {
    id(layout): (layout, compiled(layout))
    for layout in (ACCESS, _COMPLETE_LAYOUT, _ERROR_LAYOUT, _ERROR_OUTCOME_LAYOUT, INFERENCE, MODEL, METRIC)
}
_FILL_HEAD = compiled(HEAD, redact=True)
_FILL_TAIL = compiled(TAIL, redact=False)
_FILL_BASE = compiled(BASE, redact=False)

#: What the request path queues: everything needed to build the line later on the writer thread.
#: (level, message, action, kind, unix seconds, field layout, values, caller fields, trace and span id
#: (hex, or ``raw_ids`` integers formatted later), request id)
TraceIds = tuple[str, str] | tuple[int, int]
Record = tuple[str, str, Action, str, float, tuple[Field, ...], tuple[Any, ...], Mapping[str, Any] | None,
               TraceIds | None, str | None]


class StructuredLogger:
    def __init__(
        self, config: LogConfig | None = None, sink: Sink | None = None, on_drop: DropCallback | None = None
    ) -> None:
        self.config = config or LogConfig()
        self.redact = Redactor(self.config.redact_keys)
        self._threshold = {s: LEVELS[self.config.level_of(s)] for s in Stream}
        c = self.config
        self._base = (c.service_name, c.service_version, c.environment, socket.gethostname(), os.getpid())
        self._static: Event = {}
        _FILL_BASE(self._static, self._base)
        fallback_reason = None
        if sink is None:
            sink, fallback_reason = self._default_sink()
        self.writer = AsyncWriter(sink, self.config.queue_size, on_drop, prepare=self._build)
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

    # --- request path: a level check and a queued record ---------------------------------
    def enabled(self, stream: Stream, level: str) -> bool:
        return LEVELS[level] >= self._threshold[stream]

    def _submit(
        self, stream: Stream, level: str, message: str, action: Action, layout: tuple[Field, ...] = (),
        values: tuple[Any, ...] = (), extra: Mapping[str, Any] | None = None, kind: str = "event", ids: TraceIds | None = None,
        request_id: str | None = None,
    ) -> bool:
        record: Record = (level, message, action, kind, time.time(), layout, values, extra,
                          ids if ids is not None else current_raw_ids(), request_id or current_request_id())
        return self.writer.submit(stream, record)

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
        """Queue one event; False when filtered out by the stream's level or dropped.

        ``fields``: extra (nested) fields; the base fields always win over them. ``ids``:
        (trace id, span id) to use instead of the current span's.
        """
        if LEVELS[level] < self._threshold[stream]:
            return False
        return self._submit(stream, level, message, action, extra=_deep_merge({}, fields) if fields else None,
                            kind=kind, ids=ids)

    # --- writer thread: build, redact ---------------------------------------------------------
    def _build(self, stream: Stream, record: Record) -> Event:
        level, message, action, kind, ts, layout, values, extra, ids, request_id = record
        event: Event = {}
        _FILL_HEAD(event, (_timestamp(ts), level, message, F.ECS_VERSION))
        if extra:
            event.update(self._caller_fields(extra))
        known = _FILLERS.get(id(layout))
        if known is not None and known[0] is layout:
            known[1](event, values)
        else:  # a layout of a caller's own
            fill(event, layout, values)
        if extra:  # caller objects may share a key with the base: merge, the base wins
            _FILL_BASE(event, self._base)
        else:  # read-only objects shared by every line
            event.update(self._static)
        dataset = stream.dataset
        trace_ids = format_ids(ids) if ids is not None and type(ids[0]) is int else ids
        _FILL_TAIL(event, (dataset, dataset, action.value, kind, request_id, trace_ids and trace_ids[0],
                           trace_ids and trace_ids[1]))
        return event

    def _caller_fields(self, extra: Mapping[str, Any]) -> dict[str, Any]:
        """Caller-supplied fields, redacted (keys and values), without ecs-logging's own keys."""
        fields: dict[str, Any] = self.redact(extra)
        for nested in ("log", "ecs"):  # ecs-logging: log.level and ecs.version only as dotted keys
            if isinstance(fields.get(nested), dict):
                fields[nested] = {k: v for k, v in fields[nested].items() if k not in ("level", "version")}
        for key in ("@timestamp", "log.level", "message", "ecs.version"):
            fields.pop(key, None)
        labels = fields.get("labels")
        if isinstance(labels, dict):
            fields["labels"] = {str(k).translate(_LABEL_KEY_TABLE): v if isinstance(v, str) else str(v)
                                for k, v in labels.items()}
        return fields

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(timeout)

    def shutdown(self, timeout: float | None = None) -> bool:
        """Write every accepted line within ``timeout`` (default: ``flush_timeout``); what could not
        be written is counted as dropped and reported on stderr."""
        flushed = self.writer.shutdown(self.config.flush_timeout if timeout is None else timeout)
        lost = sum(self.writer.dropped.values())
        if lost:
            self._report_to_stderr(lost)
        return flushed

    def _report_to_stderr(self, lost: int) -> None:
        """The last word goes to stderr: stdout may be the very thing that is broken or stuck."""
        labels = {str(k): str(v) for k, v in sorted(self.writer.dropped.items())}
        record: Record = (
            "warn", "Log events dropped", Action.LOG, "event", time.time(), (F.LOG_EVENTS_DROPPED,), (lost,),
            {"labels": labels}, None, None,
        )
        try:
            print(json_line(self._build(Stream.APPLICATION, record)), file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass

    @property
    def dropped(self) -> dict[str, int]:
        return {str(k): v for k, v in self.writer.dropped.items() if v}

    # --- application / error streams -----------------------------------------------------
    def debug(self, message: str, fields: Mapping[str, Any] | None = None) -> bool:
        return self.emit(Stream.APPLICATION, "debug", message, Action.LOG, fields)

    def info(self, message: str, fields: Mapping[str, Any] | None = None) -> bool:
        return self.emit(Stream.APPLICATION, "info", message, Action.LOG, fields)

    def warn(self, message: str, fields: Mapping[str, Any] | None = None) -> bool:
        return self.emit(Stream.APPLICATION, "warn", message, Action.LOG, fields)

    @staticmethod
    def _error_values(exc: BaseException, error_code: str | None) -> tuple[Any, ...]:
        return (qualified_name(exc), str(exc), stack_trace(exc), error_code or classify(exc), fingerprint(exc))

    def error(
        self,
        message: str,
        exc: BaseException | None = None,
        fields: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        action: Action = Action.ERROR,
        ids: tuple[str, str] | None = None,
    ) -> bool:
        if LEVELS["error"] < self._threshold[Stream.ERROR]:
            return False
        values = (*self._error_values(exc, error_code), "failure") if exc is not None else (None,) * len(ERROR) + (
            "failure",)
        extra = _deep_merge({}, fields) if fields else None
        return self._submit(Stream.ERROR, "error", message, action, _ERROR_OUTCOME_LAYOUT, values, extra, ids=ids)

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
        if LEVELS["info"] < self._threshold[Stream.ACCESS]:
            return False
        values = (
            method, path, query or None, http_version or None, status_code, request_bytes, response_bytes, user_agent,
            client_address, int(duration_seconds * 1e9), "failure" if status_code >= 500 else "success", _WEB, _ACCESS,
        )
        return self._submit(Stream.ACCESS, "info", f"{method} {path} {status_code}", Action.HTTP_REQUEST, ACCESS, values,
                            request_id=request_id)

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
        if LEVELS["info"] < self._threshold[Stream.METRICS]:
            return False
        extra = _deep_merge({"labels": {k: str(v) for k, v in (labels or {}).items()}}, fields or {})
        return self._submit(Stream.METRICS, "info", f"Metric: {name}", Action.METRIC, METRIC, (name, float(value)),
                            extra, "metric", ids)

    # --- lifecycle ------------------------------------------------------------------------------
    def application_started(self) -> bool:
        return self._submit(Stream.APPLICATION, "info", "Application started", Action.APPLICATION_START) \
            if self.enabled(Stream.APPLICATION, "info") else False

    def shutting_down(self) -> bool:
        return self._submit(Stream.APPLICATION, "info", "Shutting down", Action.APPLICATION_STOP) \
            if self.enabled(Stream.APPLICATION, "info") else False

    def spans_not_exported(self, count: int) -> bool:
        """At shutdown: sampled spans that never reached the trace backend."""
        return self._submit(Stream.APPLICATION, "warn", "Spans not exported", Action.LOG, (F.TRACE_SPANS_LOST,),
                            (count,)) if self.enabled(Stream.APPLICATION, "warn") else False

    # --- the seed's LLM events (and the InferenceObserver protocol) ----------------------------
    def _inference(self, ctx: InferenceContext, backend: str) -> tuple[Any, ...]:
        """Values of the INFERENCE layout."""
        attrs = ctx.attributes
        server = attrs.get(SERVER_ATTRIBUTE)
        prompt = attrs.get(PROMPT_ATTRIBUTE)
        is_text = isinstance(prompt, str)
        return (
            ctx.request_id, ctx.strategy, backend or None, ctx.stream, len(prompt) if is_text else None,
            truncate(prompt, self.config.prompt_max_chars) if is_text and self.config.capture_prompts else None,
            OPERATION_NAME, ctx.model,
            None if attrs.get(CACHE_HIT_ATTRIBUTE) else (attrs.get(PROVIDER_ATTRIBUTE) or None),
            ctx.max_tokens or None, server[0] if server else None, server[1] if server else None,
        )

    @staticmethod
    def _outcome(success: bool, duration_seconds: float) -> tuple[Any, ...]:
        """Values of the OUTCOME layout."""
        return (success, round(duration_seconds * 1000, 3), int(duration_seconds * 1e9),
                "success" if success else "failure")

    @staticmethod
    def _span(ctx: InferenceContext) -> tuple[int, int] | None:
        """Ids of the inference span when the TracingObserver opened one, else of the current span."""
        span = ctx.attributes.get(SPAN_ATTRIBUTE)
        return raw_ids(span) if span is not None else current_raw_ids()

    def inference_start(self, ctx: InferenceContext) -> None:
        if LEVELS["debug"] >= self._threshold[Stream.APPLICATION]:
            self._submit(Stream.APPLICATION, "debug", "Inference started", Action.INFERENCE_START, INFERENCE,
                         self._inference(ctx, ctx.backend), ids=self._span(ctx))

    def inference_complete(self, ctx: InferenceContext, result: InferenceResult) -> None:
        if LEVELS["info"] < self._threshold[Stream.APPLICATION]:
            return
        completion = ctx.attributes.get(COMPLETION_ATTRIBUTE)
        ttft = result.ttft_seconds
        values = (
            *self._inference(ctx, result.backend), *self._outcome(True, result.duration_seconds),
            result.model, result.response_id, result.prompt_tokens or ctx.prompt_tokens, result.output_tokens,
            [result.finish_reason] if result.finish_reason else None, result.cached,
            round(ttft * 1000, 3) if ttft is not None else None,
            truncate(completion, self.config.prompt_max_chars)
            if self.config.capture_prompts and isinstance(completion, str) else None,
        )
        self._submit(Stream.APPLICATION, "info", "Inference completed", Action.INFERENCE_COMPLETE, _COMPLETE_LAYOUT,
                     values, ids=self._span(ctx))

    def inference_error(self, ctx: InferenceContext, exc: BaseException) -> None:
        if LEVELS["error"] < self._threshold[Stream.ERROR]:
            return
        values = (*self._inference(ctx, ctx.backend), *self._outcome(False, ctx.elapsed()),
                  *self._error_values(exc, classify(exc, INFERENCE_ERROR)))
        self._submit(Stream.ERROR, "error", "Inference failed", Action.INFERENCE_ERROR, _ERROR_LAYOUT, values,
                     ids=self._span(ctx))

    def _model_event(self, message: str, action: Action, model: ModelInfo, load_seconds: float | None) -> None:
        values = (model.id, model.name, model.format or None,
                  None if model.size_bytes is None else int(model.size_bytes),
                  None if load_seconds is None else round(load_seconds * 1000, 3))
        for stream, text in ((Stream.APPLICATION, message), (Stream.AUDIT, f"Audit: {action.value}")):
            if self.enabled(stream, "info"):
                self._submit(stream, "info", text, action, MODEL, values)

    def model_load(self, model: ModelInfo, duration_seconds: float) -> None:
        self._model_event("Model loaded", Action.MODEL_LOAD, model, duration_seconds)

    def model_unload(self, model: ModelInfo) -> None:
        self._model_event("Model unloaded", Action.MODEL_UNLOAD, model, None)

    def on_model_loaded(self, event: ModelEvent) -> None:
        self.model_load(ModelInfo(event.name, event.name, event.format, event.size_bytes), event.load_seconds or 0.0)

    def on_model_unloaded(self, event: ModelEvent) -> None:
        self.model_unload(ModelInfo(event.name, event.name, event.format, event.size_bytes))

    # InferenceObserver
    on_start = inference_start
    on_complete = inference_complete
    on_error = inference_error
