"""Every log field the router writes or the log pipeline adds, declared once with its ECS type.

The logger builds events from these objects and ``logpipeline`` builds the Logstash
pipeline, the Elasticsearch mapping and the Kibana objects from the same objects, so a
renamed field breaks the contract test instead of a Kibana search.

Namespaces: ECS fields where ECS has one (``http.*``, ``url.*``, ``error.*``, ``event.*``,
``trace.id``, ``gen_ai.*``), with the types of the ECS release named by ``ECS_VERSION``
(checked against the vendored definitions in ``foundation/standards``); everything else under
``llm_router.*``, a namespace ECS will not claim (the seed's ``inference`` and ``model``
objects, strategy, cache flag, latency in milliseconds, metric samples, error fingerprint).

ECS 9.4.0 names the GenAI provider ``gen_ai.system`` (its ``ecs_flat.yml`` declares it the
equivalent of OpenTelemetry's ``gen_ai.provider.name``, which spans use); the other
``gen_ai.*`` names are the same on log lines and spans.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum

#: The ECS release whose field definitions these are (``ecs.version`` on every line).
ECS_VERSION = "9.4.0"
#: ``event.dataset`` prefix; one dataset per stream.
DATASET_PREFIX = "llm_router"
#: The router's own fields live under this top-level key.
NAMESPACE = "llm_router"
_PARENTS: dict[tuple[str, ...], tuple[str, ...]] = {}


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
    APPLICATION_START = "application_start"
    APPLICATION_STOP = "application_stop"
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
    #: Elasticsearch field type as ECS defines it (keyword, long, integer, double, boolean, date, ...).
    type: str
    #: Whether the value is a list (ECS "array" normalization).
    array: bool = False
    #: Written by the Logstash pipeline rather than by the logger.
    pipeline: bool = False
    #: ecs-logging: written as one top-level dotted key (``"log.level": "info"``), not nested.
    top_level: bool = False
    #: String values are redacted before writing; False only for values the instrumentation
    #: produces itself (ids, enumerations, class names), which cannot carry a credential.
    scrub: bool = True

    def __post_init__(self) -> None:
        # Plain attributes, not properties: the log writer reads them for every field of every line.
        # Fields under the same object share one ``parents`` tuple, so the writer can tell by
        # identity that the next field goes into the object it just filled.
        parts = tuple(self.path.split("."))
        parents = _PARENTS.setdefault(() if self.top_level else parts[:-1], () if self.top_level else parts[:-1])
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "leaf", self.path if self.top_level else parts[-1])

    parts: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False, default=())
    #: Where ``put`` nests the value: ``parents`` objects, then the ``leaf`` key.
    parents: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False, default=())
    leaf: str = dataclasses.field(init=False, repr=False, compare=False, default="")

    @property
    def ref(self) -> str:
        """Logstash field reference: ``[gen_ai][request][model]``."""
        return "".join(f"[{p}]" for p in self.parts)

    @property
    def custom(self) -> bool:
        """Ours, not ECS: under ``llm_router.*``."""
        return self.parts[0] == NAMESPACE


def _f(path: str, type_: str, array: bool = False, pipeline: bool = False, top_level: bool = False,
       scrub: bool = True) -> Field:
    return Field(path, type_, array, pipeline, top_level, scrub)


def _ours(path: str, type_: str, pipeline: bool = False, scrub: bool = True) -> Field:
    return _f(f"{NAMESPACE}.{path}", type_, pipeline=pipeline, scrub=scrub)


# --- base fields on every line ---------------------------------------------------------
TIMESTAMP = _f("@timestamp", "date")
LOG_LEVEL = _f("log.level", "keyword", top_level=True, scrub=False)
LOG_LOGGER = _f("log.logger", "keyword", scrub=False)
MESSAGE = _f("message", "match_only_text")
ECS_VERSION_FIELD = _f("ecs.version", "keyword", top_level=True, scrub=False)
SERVICE_NAME = _f("service.name", "keyword")
SERVICE_VERSION = _f("service.version", "keyword")
SERVICE_ENVIRONMENT = _f("service.environment", "keyword")
HOST_HOSTNAME = _f("host.hostname", "keyword")
PROCESS_PID = _f("process.pid", "long")
EVENT_DATASET = _f("event.dataset", "keyword", scrub=False)
EVENT_ACTION = _f("event.action", "keyword", scrub=False)
EVENT_KIND = _f("event.kind", "keyword", scrub=False)
EVENT_CATEGORY = _f("event.category", "keyword", array=True, scrub=False)
EVENT_TYPE_ECS = _f("event.type", "keyword", array=True, scrub=False)
EVENT_OUTCOME = _f("event.outcome", "keyword", scrub=False)
#: ECS: nanoseconds.
EVENT_DURATION = _f("event.duration", "long")
TRACE_ID = _f("trace.id", "keyword", scrub=False)
SPAN_ID = _f("span.id", "keyword", scrub=False)
LABELS = _f("labels", "object")
#: The request's ``x-request-id`` (accepted or generated), on every line written while serving it.
HTTP_REQUEST_ID = _f("http.request.id", "keyword", scrub=False)

# --- errors ------------------------------------------------------------------------------
ERROR_TYPE = _f("error.type", "keyword", scrub=False)
ERROR_MESSAGE = _f("error.message", "match_only_text")
ERROR_STACK_TRACE = _f("error.stack_trace", "wildcard")
#: One of catalog.ERROR_TYPES (the errors_total{type} label value).
ERROR_CODE = _f("error.code", "keyword", scrub=False)
#: Stable fingerprint: same exception site, same key (not an ECS field: ours).
ERROR_GROUPING_KEY = _ours("error.grouping_key", "keyword", scrub=False)

# --- HTTP access ----------------------------------------------------------------------
HTTP_METHOD = _f("http.request.method", "keyword", scrub=False)
HTTP_REQUEST_BYTES = _f("http.request.body.bytes", "long")
HTTP_STATUS = _f("http.response.status_code", "long")
HTTP_RESPONSE_BYTES = _f("http.response.body.bytes", "long")
HTTP_VERSION = _f("http.version", "keyword", scrub=False)
URL_PATH = _f("url.path", "wildcard")
URL_QUERY = _f("url.query", "keyword")
USER_AGENT = _f("user_agent.original", "keyword")
CLIENT_ADDRESS = _f("client.address", "keyword", scrub=False)

# --- GenAI (ECS 9.x gen_ai field set, aligned with the OpenTelemetry GenAI conventions) ----
GEN_AI_OPERATION = _f("gen_ai.operation.name", "keyword", scrub=False)
#: ECS 9.4's name for the provider (``gen_ai.provider.name`` on spans).
GEN_AI_SYSTEM = _f("gen_ai.system", "keyword")
GEN_AI_REQUEST_MODEL = _f("gen_ai.request.model", "keyword")
GEN_AI_REQUEST_MAX_TOKENS = _f("gen_ai.request.max_tokens", "integer")
GEN_AI_RESPONSE_MODEL = _f("gen_ai.response.model", "keyword")
GEN_AI_RESPONSE_ID = _f("gen_ai.response.id", "keyword")
GEN_AI_INPUT_TOKENS = _f("gen_ai.usage.input_tokens", "integer")
GEN_AI_OUTPUT_TOKENS = _f("gen_ai.usage.output_tokens", "integer")
#: ECS 9.4 declares this ``nested`` without properties, which rejects the list of strings it
#: documents (elastic/ecs#2560); mapped as the keyword array OpenTelemetry and ECS RFC 0050 define.
GEN_AI_FINISH_REASONS = _f("gen_ai.response.finish_reasons", "keyword", array=True)
SERVER_ADDRESS = _f("server.address", "keyword")
SERVER_PORT = _f("server.port", "long")

# --- the router's own fields (the seed's inference/model objects) ------------------------
INFERENCE_ID = _ours("inference.id", "keyword", scrub=False)
INFERENCE_STRATEGY = _ours("inference.strategy", "keyword", scrub=False)
INFERENCE_BACKEND = _ours("inference.backend", "keyword")
INFERENCE_CACHED = _ours("inference.cached", "boolean")
INFERENCE_STREAM = _ours("inference.stream", "boolean")
INFERENCE_SUCCESS = _ours("inference.success", "boolean")
#: Milliseconds, like the seed (its performance thresholds are in ms).
INFERENCE_LATENCY_MS = _ours("inference.latency_ms", "double")
INFERENCE_TTFT_MS = _ours("inference.time_to_first_token_ms", "double")
INFERENCE_PROMPT_LENGTH = _ours("inference.prompt_length", "long")
#: Only when prompt capture is enabled, truncated.
INFERENCE_PROMPT = _ours("inference.prompt", "match_only_text")
INFERENCE_COMPLETION = _ours("inference.completion", "match_only_text")
MODEL_ID = _ours("model.id", "keyword")
MODEL_NAME = _ours("model.name", "keyword")
MODEL_FORMAT = _ours("model.format", "keyword")
MODEL_SIZE_BYTES = _ours("model.size_bytes", "long")
MODEL_LOAD_DURATION_MS = _ours("model.load_duration_ms", "double")
METRIC_NAME = _ours("metric.name", "keyword", scrub=False)
METRIC_VALUE = _ours("metric.value", "double")
#: Log events lost (queue full, broken or stuck output), on the writer's last line, written to stderr.
LOG_EVENTS_DROPPED = _ours("log.events_dropped", "long")
#: Sampled spans the router ended and never exported successfully, on its shutdown line.
TRACE_SPANS_LOST = _ours("trace.spans_lost", "long")

# --- added by the Logstash pipeline ------------------------------------------------------
EVENT_TYPE = _ours("event_type", "keyword", pipeline=True)
PERFORMANCE_CATEGORY = _ours("inference.performance_category", "keyword", pipeline=True)
#: One field for "which model" across inference and model-lifecycle events.
MODEL_NAME_ANY = _ours("model_name", "keyword", pipeline=True)

FIELDS: tuple[Field, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Field))
BY_PATH: dict[str, Field] = {f.path: f for f in FIELDS}

#: Present on every line the logger writes (trace/span ids only inside a span, the request id
#: only while serving a request).
BASE_FIELDS: tuple[Field, ...] = (
    TIMESTAMP, LOG_LEVEL, MESSAGE, ECS_VERSION_FIELD, LOG_LOGGER, SERVICE_NAME, SERVICE_VERSION,
    SERVICE_ENVIRONMENT, HOST_HOSTNAME, PROCESS_PID, EVENT_DATASET, EVENT_ACTION, EVENT_KIND,
)
#: The seed's latency performance categories: (category, latency above this many ms), slowest first.
PERFORMANCE_THRESHOLDS_MS: tuple[tuple[str, int], ...] = (("slow", 10_000), ("medium", 5_000))
PERFORMANCE_DEFAULT = "fast"


def performance_category(latency_ms: float) -> str:
    """The seed's rule, as Python; the Logstash conditionals are generated from the same table."""
    for name, above in PERFORMANCE_THRESHOLDS_MS:
        if latency_ms > above:
            return name
    return PERFORMANCE_DEFAULT


def put(event: dict[str, object], field: Field, value: object) -> None:
    """Set a field (nested, or one dotted key for ``top_level`` fields); ``None`` is left out
    (ECS: absent, not null)."""
    if value is None:
        return
    node = event
    for part in field.parents:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        node = child  # type: ignore[assignment]
    node[field.leaf] = value


def get(event: dict[str, object], field: Field) -> object:
    if field.top_level:
        return event.get(field.path)
    node: object = event
    for part in field.parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node
