"""A render folder, parsed: every file becomes a typed document, never a block of text.

Files are parsed by their extension (YAML, JSON, NDJSON, Logstash pipeline) and classified
by their content (a rule file has ``groups`` of ``rules``, an Alertmanager config a
``route`` and ``receivers``, ...), so a renamed or reformatted file is still recognised
and compared by meaning.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RULES = "rules"
RULE_TESTS = "rule-tests"
ALERTMANAGER = "alertmanager"
PROMETHEUS = "prometheus"
DASHBOARD = "dashboard"
KUBERNETES = "kubernetes"
LOGSTASH_PIPELINE = "logstash-pipeline"
KIBANA = "kibana"
LOG_CONFIG = "log-config"
OTHER = "other"

#: Render folders that hold the log pipeline's files (Logstash settings, Filebeat, ES setup).
LOG_FOLDERS = frozenset({"logstash", "filebeat", "kibana", "elasticsearch"})


class DiffInputError(RuntimeError):
    """A folder or file that cannot be compared (missing, unreadable, unparsable)."""


@dataclass(frozen=True)
class Document:
    path: str
    kind: str
    #: Parsed content: a list of YAML documents, a JSON value, NDJSON objects, a Logstash AST.
    content: Any


def load_tree(root: Path) -> dict[str, Document]:
    if not root.is_dir():
        raise DiffInputError(f"{root} is not a directory (expected a folder written by llmmon render)")
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        out[rel] = parse_file(rel, path.read_bytes())
    return out


def parse_file(rel: str, data: bytes) -> Document:
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return Document(rel, OTHER, {"sha256": hashlib.sha256(data).hexdigest()})
    try:
        content = parse_text(rel, text)
    except (yaml.YAMLError, ValueError) as exc:
        raise DiffInputError(f"{rel}: cannot parse: {exc}") from exc
    return Document(rel, classify(rel, content), content)


def parse_text(name: str, text: str) -> Any:
    """The parsed value of a file (or of a ConfigMap entry) named ``name``."""
    suffix = Path(name).suffix
    if suffix == ".json":
        return json.loads(text)
    if suffix == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if suffix in (".yml", ".yaml"):
        return [d for d in yaml.safe_load_all(text) if d is not None]
    if suffix == ".conf":
        return parse_logstash(text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def parse_logstash(text: str) -> Any:
    """The pipeline's syntax tree; without the parser (extra "review"): its text sans comments."""
    try:
        from logstash_pipeline_parser import Pipeline
        from logstash_pipeline_parser.tree import ParseError
    except ImportError:
        lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line)

    try:
        return Pipeline(text).parse()
    except ParseError as exc:
        raise ValueError(f"not a valid Logstash pipeline: {exc}") from exc


def classify(rel: str, content: Any) -> str:
    docs = content if isinstance(content, list) and rel.endswith((".yml", ".yaml")) else [content]
    first = docs[0] if docs and isinstance(docs[0], Mapping) else {}
    if rel.endswith(".conf"):
        return LOGSTASH_PIPELINE
    if docs and all(isinstance(d, Mapping) and "apiVersion" in d and "kind" in d for d in docs):
        return KUBERNETES
    if isinstance(first.get("groups"), list) and all(isinstance(g, Mapping) and "rules" in g for g in first["groups"]):
        return RULES
    if "tests" in first and "rule_files" in first:
        return RULE_TESTS
    if "route" in first and "receivers" in first:
        return ALERTMANAGER
    if "scrape_configs" in first:
        return PROMETHEUS
    if isinstance(content, Mapping) and "panels" in content and ("uid" in content or "title" in content):
        return DASHBOARD
    if rel.endswith(".ndjson") and all(isinstance(o, Mapping) and {"type", "id"} <= set(o) for o in content):
        return KIBANA
    if rel.split("/", 1)[0] in LOG_FOLDERS or any(str(k).startswith("filebeat.") for k in first):
        return LOG_CONFIG
    return OTHER


def yaml_docs(doc: Document) -> list[Any]:
    return doc.content if isinstance(doc.content, list) else [doc.content]


def of_kind(tree: Mapping[str, Document], kind: str) -> list[Document]:
    return [d for d in tree.values() if d.kind == kind]
