"""Elasticsearch side of the log pipeline: the ILM policy and the index template.

The stack applies them before Logstash starts (``API_REQUESTS``); Logstash then bootstraps
the first index behind the write alias. Mappings come from ``logs_fields``: the same
objects the logger writes with, so a field's type cannot differ between code and index; ECS
fields carry the vendored ECS release's ``ignore_above`` and multi-fields as well.
"""

from __future__ import annotations

from typing import Any

from app_instrumentation.logs_fields import ECS_VERSION, FIELDS, Field
from foundation.settings import Settings
from foundation.standards import ecs_reference

ILM_POLICY_PATH = "elasticsearch/ilm-policy.json"
#: ECS's ``ignore_above`` for keywords, used for our own keyword fields too.
KEYWORD_IGNORE_ABOVE = 1024
INDEX_TEMPLATE_PATH = "elasticsearch/index-template.json"


def api_requests(settings: Settings) -> tuple[tuple[str, str, str], ...]:
    """(method, Elasticsearch API path, rendered artifact) in the order they must be applied."""
    name = settings.logging.alias(settings.env)
    return (
        ("PUT", f"/_ilm/policy/{name}", ILM_POLICY_PATH),
        ("PUT", f"/_index_template/{name}", INDEX_TEMPLATE_PATH),
    )


def ilm_policy(settings: Settings) -> dict[str, Any]:
    s = settings.logging
    return {
        "policy": {
            "_meta": {"managed_by": "llm-router-monitoring", "env": settings.env},
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": {"max_age": s.rollover_max_age, "max_primary_shard_size": s.rollover_max_primary_shard_size},
                        "set_priority": {"priority": 100},
                    },
                },
                "warm": {
                    "min_age": s.warm_after,
                    "actions": {"readonly": {}, "forcemerge": {"max_num_segments": 1}, "set_priority": {"priority": 50}},
                },
                "delete": {"min_age": f"{s.retention_days}d", "actions": {"delete": {}}},
            },
        }
    }


def _mapping(field: Field) -> dict[str, Any]:
    """ECS fields as the vendored ECS release maps them (type, ``ignore_above``, multi-fields);
    the router's own ``llm_router.*`` fields by their declared type."""
    if field.type == "object":
        # labels.*: ECS says keyword values (the strings_as_keyword dynamic template).
        return {"type": "object", "dynamic": True}
    mapping: dict[str, Any] = {"type": field.type}
    reference = None if field.custom else ecs_reference().fields.get(field.path)
    if reference is not None and reference.type == field.type:
        if reference.ignore_above:
            mapping["ignore_above"] = reference.ignore_above
        if reference.multi_fields:
            mapping["fields"] = {name: {"type": type_} for name, type_ in reference.multi_fields}
    elif field.type == "keyword":
        mapping["ignore_above"] = KEYWORD_IGNORE_ABOVE
    return mapping


def properties(fields: tuple[Field, ...] = FIELDS) -> dict[str, Any]:
    """Nested ``properties`` for every declared field (pipeline-added ones included)."""
    root: dict[str, Any] = {}
    for field in sorted(fields, key=lambda f: f.path):
        node = root
        *parents, leaf = field.parts
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = _mapping(field)
    return root


def index_template(settings: Settings) -> dict[str, Any]:
    alias = settings.logging.alias(settings.env)
    return {
        "index_patterns": [f"{alias}-*"],
        "priority": 200,
        "_meta": {"managed_by": "llm-router-monitoring", "env": settings.env, "ecs_version": ECS_VERSION},
        "template": {
            "settings": {
                "index.lifecycle.name": alias,
                "index.lifecycle.rollover_alias": alias,
                "index.mapping.total_fields.limit": 2000,
            },
            "mappings": {
                # Kubernetes metadata and Filebeat fields are not declared: strings become keywords.
                "dynamic_templates": [
                    {"strings_as_keyword": {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}
                ],
                "properties": properties(),
            },
        },
    }
