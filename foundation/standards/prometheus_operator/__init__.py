"""The Prometheus Operator's CRD schemas (vendored) and a strict validator for our objects.

kubernetes-validate bundles only Kubernetes' own kinds. For ``monitoring.coreos.com`` objects
(PodMonitor, ServiceMonitor, PrometheusRule, AlertmanagerConfig) this package holds the
``openAPIV3Schema`` of each CRD as released by prometheus-operator (``vX.Y.Z/<plural>.json``,
``description`` texts removed; ``vendor.py`` regenerates them from a checkout of the release tag)
and validates objects against them with ``jsonschema``, strictly: a field the schema does not
declare is an error, as with ``kubectl apply --validate=strict``.

``OPERATOR_VERSION`` is the release the objects are written for; ``SUPPORTED_VERSIONS`` every
vendored release they are validated against (the oldest one we support and the newest).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
GROUP = "monitoring.coreos.com"
OPERATOR_VERSION = "0.93.0"
#: Vendored releases, oldest first; the objects must pass every one.
SUPPORTED_VERSIONS = ("0.61.0", OPERATOR_VERSION)
#: (apiVersion, kind) -> the CRD's plural (the vendored file's name).
KINDS = {
    (f"{GROUP}/v1", "PodMonitor"): "podmonitors",
    (f"{GROUP}/v1", "ServiceMonitor"): "servicemonitors",
    (f"{GROUP}/v1", "PrometheusRule"): "prometheusrules",
    (f"{GROUP}/v1alpha1", "AlertmanagerConfig"): "alertmanagerconfigs",
}
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
#: ObjectMeta as our objects use it (the CRD schemas say only ``type: object``).
METADATA_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def is_operator_object(obj: Any) -> bool:
    return isinstance(obj, Mapping) and str(obj.get("apiVersion", "")).startswith(f"{GROUP}/")


def schema_path(version: str, plural: str) -> Path:
    return HERE / f"v{version}" / f"{plural}.json"


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever Kubernetes would prune or reject them.

    Structural schemas list every field; the API server drops undeclared ones silently (or
    rejects them with strict field validation) unless ``x-kubernetes-preserve-unknown-fields``.
    ``x-kubernetes-int-or-string`` has no ``type``: an integer or a string. ``nullable`` allows null.
    """
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: (strict(v) if k in ("items", "additionalProperties", "not") or k in ("allOf", "anyOf", "oneOf")
               else {p: strict(s) for p, s in v.items()} if k == "properties" else v)
           for k, v in schema.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if (out.get("type") == "object" and "properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    if out.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if isinstance(out.get("pattern"), str):
        out["pattern"] = python_regex(out["pattern"])
    return out


def python_regex(pattern: str) -> str:
    """A Go (RE2) pattern as Python reads it.

    RE2 applies a flag group such as ``(?i)`` to the rest of the group it appears in; Python
    accepts such flags only at the very start. Each becomes a scoped group ``(?i:...)`` closed
    where its enclosing group closes.
    """
    out, closers, i = [], [0], 0  # closers: per open group, how many scoped groups to close with it
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif (m := re.match(r"\(\?([a-zA-Z]+)\)", pattern[i:])) is not None:
            out.append(f"(?{m.group(1)}:")
            closers[-1] += 1
            i += m.end()
            continue
        elif c == "(":
            closers.append(0)
        elif c == ")":
            out.append(")" * closers.pop())
        out.append(c)
        i += 1
    out.append(")" * closers.pop())
    return "".join(out)


@functools.cache
def _validator(version: str, plural: str) -> Any:
    import jsonschema  # infra dependency, not needed by the router

    schema = strict(json.loads(schema_path(version, plural).read_text()))
    schema = copy.deepcopy(schema)
    schema.setdefault("properties", {})["metadata"] = METADATA_SCHEMA
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata", "spec"})
    cls = jsonschema.validators.validator_for({"$schema": "http://json-schema.org/draft-04/schema#"})
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@dataclass(frozen=True)
class Problem:
    version: str
    kind: str
    name: str
    #: Where in the object (``spec.podMetricsEndpoints[0].port``).
    path: str
    message: str

    def __str__(self) -> str:
        return f"v{self.version} {self.kind} {self.name}: {self.path or '<root>'}: {self.message}"


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def validate(obj: Mapping[str, Any], versions: Iterable[str] = SUPPORTED_VERSIONS) -> list[Problem]:
    """Every schema violation of one object, for each operator release (empty: valid)."""
    kind, name = str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))
    plural = KINDS.get((str(obj.get("apiVersion")), kind))
    if plural is None:
        known = ", ".join(f"{v} {k}" for v, k in KINDS)
        return [Problem(v, kind, name, "", f"no vendored schema for {obj.get('apiVersion')} {kind}; known: {known}")
                for v in versions]
    problems = []
    for version in versions:
        for error in sorted(_validator(version, plural).iter_errors(obj), key=lambda e: list(e.absolute_path)):
            message = re.sub(r"\s+", " ", error.message)
            problems.append(Problem(version, kind, name, _path(error.absolute_path), message[:300]))
    return problems
