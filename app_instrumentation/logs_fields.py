"""Every log field the router writes or the log pipeline adds, declared once with its ECS type.

The logger builds events from these objects and ``logpipeline`` builds the Logstash
pipeline, the Elasticsearch mapping and the Kibana objects from the same objects, so a
renamed field breaks the contract test instead of a Kibana search.

Namespaces: standard ECS fields where ECS has one (``http.*``, ``url.*``, ``error.*``,
``event.*``, ``trace.id``); ``gen_ai.*`` for the OpenTelemetry GenAI semantic-convention
attributes, exactly as on the inference span, so logs and traces share names; ``llm.*``
for the router's own fields that have no standard home (the seed's ``inference`` and
``model`` objects, strategy, cache flag, latency in milliseconds, metric samples).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum

ECS_VERSION = "8.11.0"
#: ``event.dataset`` prefix; one dataset per stream.
DATASET_PREFIX = "llm_router"


class Stream(StrEnum):
    APPLICATION = "application"
    ACCESS = "access"
    ERROR = "error"
    AUDIT = "audit"
    METRICS = "metrics"

    @property
    def dataset(self) -> str:
        return f"{DATASET_PREFIX}.{self.value}"


class Action(StrEnum):
    """``event.action`` of every event the logger emits (plus plain ``log`` lines)."""

    LOG = "log"
    INFERENCE_START = "inference_start"
    INFERENCE_COMPLETE = "inference_complete"
    INFERENCE_ERROR = "inference_error"
    MODEL_LOAD = "model_load"
    MODEL_UNLOAD = "model_unload"
    HTTP_REQUEST = "http_request"
    METRIC = "metric"
    ERROR = "error"


@dataclass(frozen=True)
class Field:
    path: str
    #: Elasticsearch field type as used by ECS (keyword, long, double, boolean, date, ...).
    type: str
    #: Whether the value is a list (ECS "array" normalization).
    array: bool = False
    #: Written by the Logstash pipeline rather than by the logger.
    pipeline: bool = False

    @functools.cached_property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split("."))

    @property
    def ref(self) -> str:
        """Logstash field reference: ``[gen_ai][request][model]``."""
        return "".join(f"[{p}]" for p in self.parts)


def _f(path: str, type_: str, array: bool = False, pipeline: bool = False) -> Field:
    return Field(path, type_, array, pipeline)


# --- base fields on every line ---------------------------------------------------------
TIMESTAMP = _f("@timestamp", "date")
LOG_LEVEL = _f("log.level", "keyword")
LOG_LOGGER = _f("log.logger", "keyword")
MESSAGE = _f("message", "match_only_text")
ECS_VERSION_FIELD = _f("ecs.version", "keyword")
SERVICE_NAME = _f("service.name", "keyword")
SERVICE_VERSION = _f("service.version", "keyword")
SERVICE_ENVIRONMENT = _f("service.environment", "keyword")
HOST_HOSTNAME = _f("host.hostname", "keyword")
PROCESS_PID = _f("process.pid", "long")
EVENT_DATASET = _f("event.dataset", "keyword")
EVENT_ACTION = _f("event.action", "keyword")
EVENT_KIND = _f("event.kind", "keyword")
EVENT_CATEGORY = _f("event.category", "keyword", array=True)
EVENT_OUTCOME = _f("event.outcome", "keyword")
#: ECS: nanoseconds.
EVENT_DURATION = _f("event.duration", "long")
TRACE_ID = _f("trace.id", "keyword")
SPAN_ID = _f("span.id", "keyword")
LABELS = _f("labels", "object")

# --- errors ------------------------------------------------------------------------------
ERROR_TYPE = _f("error.type", "keyword")
ERROR_MESSAGE = _f("error.message", "match_only_text")
ERROR_STACK_TRACE = _f("error.stack_trace", "wildcard")
#: One of catalog.ERROR_TYPES (the errors_total{type} label value).
ERROR_CODE = _f("error.code", "keyword")
#: Stable fingerprint: same exception site, same key (Elastic APM's name for it).
ERROR_GROUPING_KEY = _f("error.grouping_key", "keyword")

# --- HTTP access ----------------------------------------------------------------------
HTTP_METHOD = _f("http.request.method", "keyword")
HTTP_REQUEST_ID = _f("http.request.id", "keyword")
HTTP_REQUEST_BYTES = _f("http.request.body.bytes", "long")
HTTP_STATUS = _f("http.response.status_code", "long")
HTTP_RESPONSE_BYTES = _f("http.response.body.bytes", "long")
HTTP_VERSION = _f("http.version", "keyword")
URL_PATH = _f("url.path", "wildcard")
URL_QUERY = _f("url.query", "keyword")
USER_AGENT = _f("user_agent.original", "keyword")
CLIENT_ADDRESS = _f("client.address", "keyword")

# --- OpenTelemetry GenAI semantic conventions (same names as the span attributes) -----------
GEN_AI_OPERATION = _f("gen_ai.operation.name", "keyword")
GEN_AI_PROVIDER = _f("gen_ai.provider.name", "keyword")
GEN_AI_REQUEST_MODEL = _f("gen_ai.request.model", "keyword")
GEN_AI_RESPONSE_MODEL = _f("gen_ai.response.model", "keyword")
GEN_AI_INPUT_TOKENS = _f("gen_ai.usage.input_tokens", "long")
GEN_AI_OUTPUT_TOKENS = _f("gen_ai.usage.output_tokens", "long")
GEN_AI_FINISH_REASONS = _f("gen_ai.response.finish_reasons", "keyword", array=True)

# --- the router's own fields (the seed's inference/model objects) ------------------------
INFERENCE_ID = _f("llm.inference.id", "keyword")
INFERENCE_STRATEGY = _f("llm.inference.strategy", "keyword")
INFERENCE_BACKEND = _f("llm.inference.backend", "keyword")
INFERENCE_CACHED = _f("llm.inference.cached", "boolean")
INFERENCE_SUCCESS = _f("llm.inference.success", "boolean")
#: Milliseconds, like the seed (its performance thresholds are in ms).
INFERENCE_LATENCY_MS = _f("llm.inference.latency_ms", "double")
INFERENCE_TOKENS = _f("llm.inference.tokens", "long")
INFERENCE_PROMPT_LENGTH = _f("llm.inference.prompt_length", "long")
#: Only when prompt capture is enabled, truncated.
INFERENCE_PROMPT = _f("llm.inference.prompt", "match_only_text")
INFERENCE_COMPLETION = _f("llm.inference.completion", "match_only_text")
MODEL_ID = _f("llm.model.id", "keyword")
MODEL_NAME = _f("llm.model.name", "keyword")
MODEL_FORMAT = _f("llm.model.format", "keyword")
MODEL_SIZE_BYTES = _f("llm.model.size_bytes", "long")
MODEL_LOAD_DURATION_MS = _f("llm.model.load_duration_ms", "double")
METRIC_NAME = _f("llm.metric.name", "keyword")
METRIC_VALUE = _f("llm.metric.value", "double")

# --- added by the Logstash pipeline ------------------------------------------------------
EVENT_TYPE = _f("llm.event_type", "keyword", pipeline=True)
PERFORMANCE_CATEGORY = _f("llm.inference.performance_category", "keyword", pipeline=True)
#: One field for "which model" across inference and model-lifecycle events.
MODEL_NAME_ANY = _f("llm.model_name", "keyword", pipeline=True)

FIELDS: tuple[Field, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Field))
BY_PATH: dict[str, Field] = {f.path: f for f in FIELDS}

#: Present on every line the logger writes (trace/span ids only inside a span).
BASE_FIELDS: tuple[Field, ...] = (
    TIMESTAMP, LOG_LEVEL, LOG_LOGGER, MESSAGE, ECS_VERSION_FIELD, SERVICE_NAME, SERVICE_VERSION,
    SERVICE_ENVIRONMENT, HOST_HOSTNAME, PROCESS_PID, EVENT_DATASET, EVENT_ACTION, EVENT_KIND,
)
#: The seed's latency performance categories: (category, latency above this many ms), slowest first.
PERFORMANCE_THRESHOLDS_MS: tuple[tuple[str, float], ...] = (("slow", 10_000.0), ("medium", 5_000.0))
PERFORMANCE_DEFAULT = "fast"


def performance_category(latency_ms: float) -> str:
    """The seed's rule, as Python; the Logstash conditionals are generated from the same table."""
    for name, above in PERFORMANCE_THRESHOLDS_MS:
        if latency_ms > above:
            return name
    return PERFORMANCE_DEFAULT


def put(event: dict[str, object], field: Field, value: object) -> None:
    """Set a nested field; ``None`` values are left out (ECS: absent, not null)."""
    if value is None:
        return
    node = event
    *parents, leaf = field.parts
    for part in parents:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    node[leaf] = value


def get(event: dict[str, object], field: Field) -> object:
    node: object = event
    for part in field.parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
