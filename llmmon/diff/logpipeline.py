"""Log pipeline: Logstash pipelines (parsed to their plugin tree), Filebeat, Logstash settings,
Elasticsearch setup, Kibana saved objects; and every other file of a render.

A Logstash change reads ``filter › if [fields][service] == "llm-router" › mutate #3:
add_tag``: the block it sits in, the plugin, the setting. Kibana objects are keyed by type
and id, and the JSON Kibana stores inside strings is parsed too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from llmmon.diff import structural
from llmmon.diff.documents import KIBANA, LOG_CONFIG, LOGSTASH_PIPELINE, OTHER, Document
from llmmon.diff.matching import pair
from llmmon.diff.model import LOGPIPELINE, Change, Detail, show
from llmmon.diff.model import OTHER as OTHER_SECTION

CONDITIONALS = ("if", "else if", "else")
#: Key of a whole block (plugin or conditional) rather than one of its settings.
BLOCK = ""


def diff(old: Mapping[str, Document], new: Mapping[str, Document]) -> list[Change]:
    out = []
    for kind, section, compare in ((LOGSTASH_PIPELINE, LOGPIPELINE, _logstash), (LOG_CONFIG, LOGPIPELINE, _config),
                                   (KIBANA, LOGPIPELINE, _kibana), (OTHER, OTHER_SECTION, _config)):
        a = {p: d for p, d in old.items() if d.kind == kind}
        b = {p: d for p, d in new.items() if d.kind == kind}
        matched = pair(a, b)
        out += [Change(section, "removed", d.path) for d in matched.removed]
        out += [Change(section, "added", d.path) for d in matched.added]
        for x, y in matched.pairs:
            out += compare(section, x, y)
    return out


def _config(section: str, a: Document, b: Document) -> list[Change]:
    found = structural.details(a.content, b.content, limit=10)
    return [Change(section, "changed", b.path, details=tuple(found))] if found else []


# --- Logstash ---------------------------------------------------------------------------

def _logstash(section: str, a: Document, b: Document) -> list[Change]:
    if isinstance(a.content, str) or isinstance(b.content, str):  # parser not installed
        if a.content == b.content:
            return []
        return [Change(section, "changed", b.path, "not parsed (pip install '.[review]' for a per-setting diff)")]
    old, new = _settings_map(a.content), _settings_map(b.content)
    only_old = {i for (i, s) in old if s == BLOCK and (i, BLOCK) not in new}
    only_new = {i for (i, s) in new if s == BLOCK and (i, BLOCK) not in old}
    details = []
    for key in [*old, *(k for k in new if k not in old)]:
        ident, setting = key
        (shown_old, x), (shown_new, y) = old.get(key, ("", None)), new.get(key, ("", None))
        if x == y or any(ident.startswith(f"{b}/") for b in only_old | only_new):
            continue  # unchanged, or inside a block that is told as added/removed as a whole
        where = shown_new or shown_old
        if setting == BLOCK:
            details.append(Detail(where, "present" if key in old else None, "present" if key in new else None))
        else:
            details.append(Detail(f"{where}: {setting}", _shown(x), _shown(y)))
    return [Change(section, "changed", b.path, "Logstash pipeline", tuple(details))] if details else []


def _settings_map(ast: list[Any]) -> dict[tuple[str, str], tuple[str, Any]]:
    return {(ident, setting): (shown, value) for ident, shown, setting, value in settings(ast)}


def settings(ast: list[Any], ident: str = "", shown: str = "") -> Iterator[tuple[str, str, str, Any]]:
    """(identity, display path, setting, value) for every setting, and one BLOCK entry per block.

    A block's identity is its kind and rank among same-kind siblings (``filter/if#2``), so a
    changed condition is a changed setting of the same block, not a removal plus an addition.
    """
    seen: dict[str, int] = {}
    for name, args in ast:
        seen[name] = seen.get(name, 0) + 1
        label = _label(name, args)
        block_id = f"{ident}/{name}#{seen[name]}"
        block_shown = f"{shown} › {label}" if shown else label
        if seen[name] > 1 and name not in CONDITIONALS:  # a conditional is told by its condition
            block_shown += f" #{seen[name]}"
        yield block_id, block_shown, BLOCK, name
        if name in ("if", "else if"):
            yield block_id, block_shown, "condition", _condition(args[:-1])
        if not ident or name in CONDITIONALS:  # a section or conditional holds statements
            yield from settings(_body(name, args), block_id, block_shown)
        else:  # a plugin holds settings
            for setting, value in args:
                yield block_id, block_shown, str(setting), _value(value[0] if len(value) == 1 else value)


def _value(value: Any) -> Any:
    """A Logstash hash (the parser's ``[[key, [value]], ...]``) as a mapping; the rest as is."""
    if isinstance(value, list) and value and all(
        isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], list) and len(p[1]) == 1
        for p in value
    ):
        return {k: _value(v[0]) for k, v in value}
    return value


def _body(name: str, args: list[Any]) -> list[Any]:
    """Statements of a section or conditional (the parser nests an ``if``'s one level deeper)."""
    return args[-1][0] if name in ("if", "else if") else args


def _label(name: str, args: list[Any]) -> str:
    if name in ("if", "else if"):
        return f"{name} {_condition(args[:-1])}"
    return name


def _condition(parts: Any) -> str:
    if isinstance(parts, list):
        return " ".join(_condition(p) for p in parts)
    if isinstance(parts, str) and not parts.startswith("[") and parts not in _OPERATORS:
        return f'"{parts}"'  # a literal, as written in the pipeline
    return str(parts)


_OPERATORS = frozenset({"==", "!=", "<", ">", "<=", ">=", "=~", "!~", "in", "not in", "and", "or", "xor", "nand", "!"})


def _shown(value: Any) -> str | None:
    return None if value is None else structural.clip(show(value))


# --- Kibana -----------------------------------------------------------------------------

def _kibana(section: str, a: Document, b: Document) -> list[Change]:
    old = {(o["type"], o["id"]): _with_json_strings(o) for o in a.content}
    new = {(o["type"], o["id"]): _with_json_strings(o) for o in b.content}
    matched = pair(old, new)
    out = [Change(section, "removed", _saved_object(o)) for o in matched.removed]
    out += [Change(section, "added", _saved_object(o)) for o in matched.added]
    for x, y in matched.pairs:
        found = structural.details(x, y, limit=8)
        if found:
            out.append(Change(section, "changed", _saved_object(y), details=tuple(found)))
    return out


def _with_json_strings(value: Any) -> Any:
    """Kibana keeps JSON inside strings (searchSourceJSON, fieldFormatMap): compare it parsed."""
    if isinstance(value, dict):
        return {k: _with_json_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_json_strings(v) for v in value]
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return _with_json_strings(json.loads(value))
        except ValueError:
            return value
    return value


def _saved_object(obj: Mapping[str, Any]) -> str:
    title = (obj.get("attributes") or {}).get("title") or obj.get("id")
    return f"Kibana {obj.get('type')} \"{title}\""
