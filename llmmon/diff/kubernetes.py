"""Kubernetes objects: kind/name added or removed, and what changes in operation.

For workloads: replicas, each container's image, resources, probes, command and args;
the rest is counted, not listed byte by byte. ConfigMap and Secret entries are parsed by
their file extension (a re-indented config is no change) and named, never printed: the
config itself is diffed in its own section, and a Secret's values are never shown. A
PrometheusRule's rules are compared with the rule files in the Alerts section.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from llmmon.diff import structural
from llmmon.diff.documents import KUBERNETES, Document, parse_text, yaml_docs
from llmmon.diff.matching import pair
from llmmon.diff.model import KUBERNETES as SECTION
from llmmon.diff.model import Change, Detail, show

#: A content hash appended to a name (Jobs re-created when their config changes).
HASH_SUFFIX = re.compile(r"-[0-9a-f]{6,}$")
CONTAINER = re.compile(r"(?:^|\.)(?:initContainers|containers)\[([^\]]+)\](?:\.(.*))?$")
WATCHED = re.compile(r"^(image|resources|livenessProbe|readinessProbe|startupProbe|command|args)\b")
DATA_KEYS = ("data", "binaryData", "stringData")
#: Leaf paths listed by name for objects that are not workloads.
MAX_OTHER = 4

ObjectKey = tuple[str, str, str]


def objects_of(tree: Mapping[str, Document]) -> dict[ObjectKey, Mapping[str, Any]]:
    out = {}
    for doc in tree.values():
        if doc.kind == KUBERNETES:
            for obj in yaml_docs(doc):
                meta = obj.get("metadata") or {}
                out[(str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))] = obj
    return out


def diff(old: Mapping[str, Document], new: Mapping[str, Document]) -> list[Change]:
    matched = pair(objects_of(old), objects_of(new), loose=lambda k, _: (k[0], k[1], HASH_SUFFIX.sub("", k[2])))
    out = [Change(SECTION, "removed", _name(o)) for o in matched.removed]
    out += [Change(SECTION, "added", _name(o), details=tuple(_describe(o))) for o in matched.added]
    for a, b in matched.pairs:
        details = list(object_details(a, b))
        if details:
            out.append(Change(SECTION, "changed", _name(b), details=tuple(details)))
    return out


def object_details(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterator[Detail]:
    name_a, name_b = (a.get("metadata") or {}).get("name"), (b.get("metadata") or {}).get("name")
    if name_a != name_b:
        yield Detail("name", name_a, name_b)
    others: list[str] = []
    for path, x, y in structural.leaves(_without(a), _without(b)):
        if path == "metadata.name":
            continue
        if path.endswith("replicas") and path.count(".") <= 1:
            yield Detail("replicas", _opt(x), _opt(y))
            continue
        container = CONTAINER.search(path)
        if container and (container.group(2) is None or WATCHED.match(container.group(2))):
            field = container.group(2) or "(container)"
            yield Detail(f"container {container.group(1)} {field}", _opt(x), _opt(y))
            continue
        others.append(path)
    yield from _data_details(a, b)
    if others:
        shown = ", ".join(others[:MAX_OTHER]) + (", …" if len(others) > MAX_OTHER else "")
        yield Detail(f"{len(others)} other fields changed: {shown}")


def _data_details(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterator[Detail]:
    for section in DATA_KEYS:
        old, new = a.get(section) or {}, b.get(section) or {}
        for key in sorted(set(old) | set(new)):
            if key not in new:
                yield Detail(f"{section} key {key}", "present", None)
            elif key not in old:
                yield Detail(f"{section} key {key}", None, "present")
            elif _parsed(key, old[key]) != _parsed(key, new[key]):
                yield Detail(f"{section} key {key} changed (content not shown)")


def _parsed(key: str, value: Any) -> Any:
    try:
        return parse_text(key, value) if isinstance(value, str) else value
    except (ValueError, yaml.YAMLError):
        return value  # not parsable as its extension says: compared as text


def _without(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without what other sections compare: config entries, a PrometheusRule's rules."""
    out = {k: v for k, v in obj.items() if k not in DATA_KEYS}
    if obj.get("kind") == "PrometheusRule" and isinstance(out.get("spec"), Mapping):
        out["spec"] = {k: v for k, v in out["spec"].items() if k != "groups"}
    return out


def _opt(value: Any) -> str | None:
    return None if value is None else structural.clip(show(value))


def _describe(obj: Mapping[str, Any]) -> Iterator[Detail]:
    spec = obj.get("spec") or {}
    if "replicas" in spec:
        yield Detail("replicas", None, show(spec["replicas"]))
    for path, value in structural.flatten(_without(obj)):
        container = CONTAINER.search(path)
        if container and container.group(2) == "image":
            yield Detail(f"container {container.group(1)} image", None, show(value))
    for section in DATA_KEYS:
        if obj.get(section):
            yield Detail(f"{section} keys", None, ", ".join(sorted(obj[section])))


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind')} {namespace}{meta.get('name')}"
