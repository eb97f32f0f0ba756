"""Real log lines against the vendored standards: ECS 9.x field definitions and ecs-logging key rules.

The lines come from the example router served in-process with the real logger (a successful,
a streaming, a cached, a 4xx and a backend-failure request, plus startup/shutdown with model
loads and unloads). Each line is flattened and every field checked against
``foundation/standards/ecs_fields.yml`` (vendored from elastic/ecs ``generated/ecs/ecs_flat.yml``),
the router's own ``llm_router.*`` declarations, and ``ecs_logging_spec.json`` (elastic/ecs-logging).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from app_instrumentation import logs_fields as F
from app_instrumentation.logs import LogConfig
from app_instrumentation.logs_wiring import Observability
from app_instrumentation.logs_writer import flatten
from foundation.standards import ecs_logging_spec, ecs_reference
from llmmon.example_router.app import create_app
from llmmon.example_router.config import RouterConfig
from logpipeline import elasticsearch
from tests.test_logs_support import CaptureSink, leaf

#: What a JSON value of each ECS type may be after a JSON round trip.
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "keyword": (str,), "wildcard": (str,), "match_only_text": (str,), "text": (str,), "date": (str,),
    "long": (int,), "integer": (int,), "double": (float, int), "boolean": (bool,), "object": (dict,),
}
INTEGER_RANGE = {"integer": 2**31, "long": 2**63}
#: Where we knowingly differ from the ECS release, and why (checked: the list cannot grow silently).
DEVIATIONS = {
    # ECS 9.4 maps it `nested` without properties: Elasticsearch rejects the list of strings ECS and
    # OpenTelemetry document (elastic/ecs#2560). Keyword array, as in ECS RFC 0050 and OTel.
    "gen_ai.response.finish_reasons": ("nested", "keyword"),
}


def _router_lines(**log_config: Any) -> list[dict[str, Any]]:
    sink = CaptureSink()
    obs = Observability(LogConfig(**log_config), None, sink=sink, environ={})
    app = create_app(RouterConfig(seed=11), observers=obs.observers, wrappers=obs.wrappers())
    obs.bind(app.collector, app.routes)
    with TestClient(app) as client:
        body = {"prompt": "conformance check", "model": "llama-3-8b", "max_tokens": 8}
        assert client.post("/api/generate", json=body).status_code == 200
        assert client.post("/api/generate", json=body).json()["cached"] is True
        assert client.post("/api/generate", json={**body, "prompt": "stream", "stream": True}).status_code == 200
        assert client.post("/api/generate", json={"prompt": ""}).status_code == 422
        assert client.post("/admin/faults", json={"outage": ["*"]}).status_code == 200
        assert client.post("/api/generate", json={**body, "prompt": "fails"}).status_code >= 500
    return sink.events()


@pytest.fixture(scope="module")
def router_lines() -> list[dict[str, Any]]:
    return _router_lines()


def check_ecs_line(event: dict[str, Any]) -> None:
    """Every field of one written line: declared, typed as ECS says, ecs-logging key rules kept."""
    ecs = ecs_reference()
    spec = ecs_logging_spec()["fields"]
    # ecs-logging: required fields, their order, top-level dotted keys, label key sanitization.
    keys = list(event)
    for name, rule in spec.items():
        if rule.get("required"):
            assert name in keys, f"ecs-logging requires {name}"
        if "index" in rule and name in keys:
            assert keys.index(name) == rule["index"], f"{name} must be key #{rule['index']}: {keys[:4]}"
        if rule.get("top_level_field"):
            head, _, tail = name.partition(".")
            assert name in keys and tail not in event.get(head, {}), f"{name} must be one top-level dotted key"
    replacements = spec["labels"]["sanitization"]["key"]["replacements"]
    for key in event.get("labels", {}):
        assert not any(ch in key for ch in replacements), f"labels key {key!r} not sanitized"
    assert event["ecs.version"] == ecs.version == F.ECS_VERSION
    for path, value in flatten({k: v for k, v in event.items() if k != "labels"}):
        declared = F.BY_PATH.get(path)
        assert declared is not None, f"{path} is written but not declared in logs_fields"
        assert not declared.pipeline, f"the logger writes pipeline-owned {path}"
        if declared.custom:
            type_ = declared.type
        else:
            reference = ecs.fields.get(path)
            assert reference is not None, f"{path} is not an ECS {ecs.version} field: move it under llm_router.*"
            type_ = DEVIATIONS.get(path, (None, reference.type))[1]
            if reference.allowed_values:
                values = value if isinstance(value, list) else [value]
                assert set(values) <= set(reference.allowed_values), f"{path}={value!r}: not an ECS allowed value"
        values = value if declared.array else [value]
        assert isinstance(values, list), f"{path} must be an array"
        for v in values:
            assert isinstance(v, JSON_TYPES[type_]) and not (type_ != "boolean" and isinstance(v, bool)), (
                f"{path}={v!r} is not {type_}")
            if type_ in INTEGER_RANGE:
                assert -INTEGER_RANGE[type_] <= v < INTEGER_RANGE[type_], f"{path}={v} overflows {type_}"
        if type_ == "date":
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert all(isinstance(v, str) for v in event.get("labels", {}).values()), "ECS labels are keywords"
    categories, types = leaf(event, "event.category"), leaf(event, "event.type")
    if categories:
        expected = ecs.fields["event.category"].allowed_values
        for category in categories:
            assert set(types or ()) <= set(expected[category]), f"event.type {types} unexpected for {category}"


def test_router_lines_cover_every_kind_of_request(router_lines):
    actions = {leaf(e, "event.action") for e in router_lines}
    assert {"application_start", "application_stop", "model_load", "model_unload", "inference_complete",
            "inference_error", "http_request"} <= actions
    statuses = {leaf(e, "http.response.status_code") for e in router_lines} - {None}
    assert {200, 422} <= statuses and any(s >= 500 for s in statuses)
    assert any(leaf(e, "llm_router.inference.stream") for e in router_lines), "a streaming inference"


def test_every_router_line_conforms_to_ecs_and_ecs_logging(router_lines):
    for event in router_lines:
        check_ecs_line(event)


def test_access_lines_are_web_access_events(router_lines):
    access = [e for e in router_lines if leaf(e, "event.dataset") == "llm_router.access"]
    assert access
    for event in access:
        assert leaf(event, "event.category") == ["web"] and leaf(event, "event.type") == ["access"]


def test_declared_ecs_fields_have_the_ecs_types():
    """logs_fields is where the logger and the index template take types from: it must say what ECS says."""
    ecs = ecs_reference()
    for field in F.FIELDS:
        if field.custom:
            assert field.parts[0] == F.NAMESPACE
            continue
        reference = ecs.fields.get(field.path)
        assert reference is not None, f"{field.path} is not in the vendored ECS {ecs.version} subset"
        expected = DEVIATIONS.get(field.path, (reference.type, reference.type))
        assert reference.type == expected[0], f"ECS changed {field.path}: revisit DEVIATIONS"
        assert field.type == expected[1], f"{field.path}: declared {field.type}, ECS {ecs.version} says {expected}"
        assert field.array == (reference.array or field.path in DEVIATIONS), field.path
    assert set(DEVIATIONS) == {"gen_ai.response.finish_reasons"}, "every deviation is explained above"


def test_index_template_maps_ecs_fields_as_ecs_does():
    ecs = ecs_reference()
    mapped = dict(flatten_mapping(elasticsearch.properties()))
    for field in F.FIELDS:
        mapping = mapped[field.path]
        if field.custom:
            assert mapping["type"] == field.type
            continue
        reference = ecs.fields[field.path]
        assert mapping["type"] == DEVIATIONS.get(field.path, (None, reference.type))[1], field.path
        if reference.ignore_above and field.path not in DEVIATIONS:
            assert mapping.get("ignore_above") == reference.ignore_above, field.path
        assert {k: v["type"] for k, v in mapping.get("fields", {}).items()} == dict(reference.multi_fields), field.path


def test_integer_types_follow_ecs():
    assert F.GEN_AI_INPUT_TOKENS.type == F.GEN_AI_OUTPUT_TOKENS.type == "integer"
    assert F.MODEL_SIZE_BYTES.type == "long"


def flatten_mapping(properties: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for name, mapping in properties.items():
        if "properties" in mapping:
            out.extend(flatten_mapping(mapping["properties"], f"{prefix}{name}."))
        else:
            out.append((f"{prefix}{name}", mapping))
    return out
