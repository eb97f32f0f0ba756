"""The Logstash pipeline: the seed's logstash.conf, ported to the ECS fields the logger writes.

beats input -> JSON parse (when Filebeat did not already decode it) -> timestamp fallback ->
the seed's inference / model / error extraction and latency performance category ->
environment tags -> Elasticsearch, into ILM-managed indices behind a per-env write alias.
Credentials come from the Logstash keystore or environment (``${ES_USER}``), never from this file.
"""

from __future__ import annotations

from app_instrumentation import logs_fields as F
from app_instrumentation.logs_fields import Field
from foundation.settings import Settings
from logpipeline.logstash_config import Comment, Compare, Exists, If, Pipeline, Plugin, Raw, Statement

PIPELINE_ID = "llm-router"
PIPELINE_PATH = "pipeline/llm-router.conf"
#: Where the container image reads config from (the stack mounts the rendered files here).
CONTAINER_CONFIG_DIR = "/usr/share/logstash"
#: The value Filebeat puts in ``[fields][service]`` (the seed's routing key).
SERVICE_TAG = "llm-router"
#: Keystore / environment variable names for the Elasticsearch credentials and CA file.
ES_USER_VAR, ES_PASSWORD_VAR, ES_CA_VAR = "ES_USER", "ES_PASSWORD", "ES_CA_FILE"
#: The beats input's certificate, key (PKCS#8, as the beats input requires) and the internal CA.
TLS_DIR = "/usr/share/logstash/tls"


def _set(target: Field, value: str) -> Plugin:
    return Plugin("mutate", (("replace", {target.ref: value}),), writes=(target,))


def _copy(source: Field, target: Field) -> Plugin:
    return Plugin("mutate", (("copy", {source.ref: target.ref}),), reads=(source,), writes=(target,))


def performance_category() -> If:
    """The seed's thresholds (ms), generated from the same table as ``performance_category()``."""
    latency, target = F.INFERENCE_LATENCY_MS, F.PERFORMANCE_CATEGORY
    branches = tuple(
        (Compare(latency, ">", above), (_set(target, name),)) for name, above in F.PERFORMANCE_THRESHOLDS_MS
    )
    return If(branches, otherwise=(_set(target, F.PERFORMANCE_DEFAULT),))


#: (condition field, event type, model-name source): the seed's extraction blocks, in order;
#: the last matching block sets ``llm.event_type`` (an inference error is an "error").
EXTRACTIONS: tuple[tuple[Field, str, Field | None], ...] = (
    (F.INFERENCE_ID, "inference", F.GEN_AI_REQUEST_MODEL),
    (F.MODEL_NAME, "model", F.MODEL_NAME),
    (F.ERROR_TYPE, "error", None),
)


def extraction_blocks() -> tuple[Statement, ...]:
    out: list[Statement] = []
    for condition, event_type, model_source in EXTRACTIONS:
        body: list[Statement] = [_set(F.EVENT_TYPE, event_type)]
        if model_source is not None:
            body.append(_copy(model_source, F.MODEL_NAME_ANY))
        if event_type == "inference":
            body.append(If(((Exists(F.INFERENCE_LATENCY_MS), (performance_category(),)),)))
        out.append(If(((Exists(condition), tuple(body)),)))
    return tuple(out)


def pipeline(settings: Settings) -> Pipeline:
    env, logging = settings.env, settings.logging
    alias = logging.alias(env)
    parse_json = Plugin(
        "json",
        (("source", "message"), ("skip_on_invalid_json", True), ("tag_on_failure", ["_llm_router_jsonparsefailure"])),
    )
    # The json filter (and Filebeat's decoder) parse @timestamp themselves; a value that is not
    # strict ISO8601 lands in _@timestamp, which the date filter retries with the seed's formats.
    date = Plugin(
        "date",
        (("match", ["_@timestamp", "ISO8601", "UNIX_MS"]), ("target", "@timestamp"), ("remove_field", ["_@timestamp"])),
    )
    environment_tags = Plugin("mutate", (("add_tag", [SERVICE_TAG, f"env:{env}"]),))
    default_environment = Plugin("mutate", (("add_field", {F.SERVICE_ENVIRONMENT.ref: env}),))
    filters: tuple[Statement, ...] = (
        If(((Raw(f'[fields][service] == "{SERVICE_TAG}"'), (
            Comment("JSON: Filebeat normally decodes the line; parse here when it did not"),
            If(((Raw(r"[message] =~ /^\s*\{/"), (parse_json,)),)),
            If(((Raw('"_timestampparsefailure" in [tags]'), (date,)),)),
            Comment("The seed's inference / model / error extraction"),
            *extraction_blocks(),
            Comment("Environment tags; service.environment from the line, else from this render"),
            environment_tags,
            If(((Exists(F.SERVICE_ENVIRONMENT, negate=True), (default_environment,)),)),
        )),)),
    )
    tls: tuple[tuple[str, object], ...] = ()
    if any(h.startswith("https://") for h in logging.elasticsearch_hosts):
        tls = (("ssl_enabled", True), ("ssl_certificate_authorities", [f"${{{ES_CA_VAR}}}"]))
    output = Plugin(
        "elasticsearch",
        (
            ("hosts", list(logging.elasticsearch_hosts)),
            *tls,
            ("user", f"${{{ES_USER_VAR}}}"),
            ("password", f"${{{ES_PASSWORD_VAR}}}"),
            ("data_stream", "false"),
            ("ecs_compatibility", "v8"),
            ("ilm_enabled", "true"),
            ("ilm_rollover_alias", alias),
            ("ilm_pattern", "{now/d}-000001"),
            ("ilm_policy", alias),
            # The index template is installed from elasticsearch/index-template.json.
            ("manage_template", False),
        ),
    )
    return Pipeline(
        inputs=(beats_input(logging.beats_port),),
        filters=filters,
        outputs=(output,),
        header=(f"Generated by llmmon render for env {env!r}; do not edit.",),
    )


def beats_input(port: int) -> Plugin:
    """TLS only, and only clients with a certificate from the internal CA (Filebeat's) may ship."""
    return Plugin("beats", (
        ("port", port),
        ("ssl_enabled", True),
        ("ssl_certificate", f"{TLS_DIR}/tls.crt"),
        ("ssl_key", f"{TLS_DIR}/tls.key"),
        ("ssl_certificate_authorities", [f"{TLS_DIR}/ca.crt"]),
        ("ssl_client_authentication", "required"),
    ))


def logstash_yml() -> dict[str, object]:
    return {
        "api.http.host": "0.0.0.0",
        "log.format": "json",
        "pipeline.ecs_compatibility": "v8",
    }


def pipelines_yml() -> list[dict[str, object]]:
    # A persisted queue keeps accepted events through an Elasticsearch outage or a restart.
    return [
        {
            "pipeline.id": PIPELINE_ID,
            "path.config": f"{CONTAINER_CONFIG_DIR}/{PIPELINE_PATH}",
            "queue.type": "persisted",
        }
    ]
