"""Vendored definitions of the standards the router's logs and traces follow (see README.md here).

- ``ecs_fields.yml``: the ECS fields the logs use, as the ECS release defines them
  (type, array normalization, ``ignore_above``, multi-fields, allowed values).
- ``ecs_logging_spec.json``: elastic/ecs-logging's ``spec/spec.json`` (key order, top-level
  dotted keys, label key sanitization), verbatim.
- ``thanos.yml``: the flags, object store types and endpoint-config keys of the pinned Thanos
  release (what the stack passes to Thanos is checked against it).
- ``otel_semconv.yml``: the OpenTelemetry GenAI attribute registry and the other attributes
  our spans carry, with their types.

The index template reads the ECS definitions; tests check real log lines and exported spans
against all three. ``vendor.py`` regenerates the two subsets from upstream checkouts.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
ECS_FIELDS_PATH = HERE / "ecs_fields.yml"
ECS_LOGGING_SPEC_PATH = HERE / "ecs_logging_spec.json"
SEMCONV_PATH = HERE / "otel_semconv.yml"
#: Thanos' flags per component, object store types, endpoint config keys (what the stack may pass).
THANOS_PATH = HERE / "thanos.yml"
#: Metrics the serving engines and the DCGM exporter export (``vendor_engines.py``).
ENGINE_METRICS_PATH = HERE / "engine_metrics.yml"


@dataclass(frozen=True)
class EcsField:
    name: str
    type: str
    array: bool = False
    ignore_above: int | None = None
    multi_fields: tuple[tuple[str, str], ...] = ()
    #: Allowed values (categorization fields) -> the event types each category expects.
    allowed_values: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class EcsReference:
    version: str
    source: str
    fields: dict[str, EcsField]


@functools.cache
def ecs_reference() -> EcsReference:
    raw = yaml.safe_load(ECS_FIELDS_PATH.read_text())
    fields = {
        name: EcsField(
            name,
            spec["type"],
            "array" in spec.get("normalize", []),
            spec.get("ignore_above"),
            tuple((m["name"], m["type"]) for m in spec.get("multi_fields", [])),
            {k: tuple(v) for k, v in spec.get("allowed_values", {}).items()},
        )
        for name, spec in raw["fields"].items()
    }
    return EcsReference(str(raw["ecs_version"]), raw["source"], fields)


@functools.cache
def ecs_logging_spec() -> dict[str, Any]:
    return json.loads(ECS_LOGGING_SPEC_PATH.read_text())


@dataclass(frozen=True)
class SemconvReference:
    version: str
    #: attribute name -> type (``string``, ``int``, ``string[]``, ``{"enum": [...]}``, ...)
    attributes: dict[str, Any]


@functools.cache
def semconv_reference() -> SemconvReference:
    raw = yaml.safe_load(SEMCONV_PATH.read_text())
    return SemconvReference(str(raw["semconv_version"]), {k: v["type"] for k, v in raw["attributes"].items()})


@functools.cache
def thanos_reference() -> dict[str, Any]:
    """The vendored Thanos flags, object store types and endpoint config keys."""
    return dict(yaml.safe_load(THANOS_PATH.read_text()))


def thanos_objstore_types() -> tuple[str, ...]:
    return tuple(thanos_reference()["objstore_types"])


@functools.cache
def engine_metrics_reference() -> dict[str, Any]:
    """source (``vllm``, ``vllm@0.10.2``, ``sglang``, ``tgi``, ``dcgm``) -> {version, origin, metrics}."""
    return dict(yaml.safe_load(ENGINE_METRICS_PATH.read_text())["sources"])
