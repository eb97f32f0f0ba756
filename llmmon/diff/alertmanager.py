"""Alertmanager: the routing tree, receivers, inhibitions and global settings.

Routes are identified by their matchers along the tree (``route {severity="critical"}``),
so a new timing on one route is one line, and a route that moved before or after its
siblings (which changes who gets an alert) is reported with its new position. Which
receiver each alert now reaches is evaluated by amtool in the rules diff.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from llmmon.diff import structural
from llmmon.diff.documents import ALERTMANAGER, Document, yaml_docs
from llmmon.diff.matching import pair
from llmmon.diff.model import ALERTMANAGER as SECTION
from llmmon.diff.model import Change, Detail, describe, field_details, show

ROUTE_FIELDS = ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "continue",
                "mute_time_intervals", "active_time_intervals")
KNOWN_KEYS = {"route", "receivers", "inhibit_rules", "global"}


def matchers(node: Mapping[str, Any], *keys: str) -> list[str]:
    """Matchers as Alertmanager reads them, legacy ``match``/``match_re`` included, sorted."""
    out = [" ".join(str(m).split()) for key in keys for m in node.get(key) or []]
    for legacy, op in ((f"{keys[0].removesuffix('matchers')}match", "="),
                       (f"{keys[0].removesuffix('matchers')}match_re", "=~")):
        out += [f'{k}{op}"{v}"' for k, v in (node.get(legacy) or {}).items()]
    return sorted(out)


def routes(node: Mapping[str, Any], path: str = "route") -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    """(identity, position among siblings, route) for the whole tree, root first."""
    yield path, 0, node
    seen: dict[str, int] = {}
    for position, child in enumerate(node.get("routes") or []):
        name = "{" + ", ".join(matchers(child, "matchers")) + "}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name += f" #{seen[name]}"
        for sub_path, sub_pos, sub in routes(child, f"{path} {name}"):
            yield sub_path, position if sub is child else sub_pos, sub


def diff(old: Mapping[str, Document], new: Mapping[str, Document]) -> list[Change]:
    configs = pair(_configs(old), _configs(new))
    out = [Change(SECTION, "removed", path) for path, _ in configs.removed]
    out += [Change(SECTION, "added", path, details=tuple(_summary(cfg))) for path, cfg in configs.added]
    for (_, a), (_, b) in configs.pairs:
        out += _config_diff(a, b)
    return out


def _configs(tree: Mapping[str, Document]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    return {d.path: (d.path, yaml_docs(d)[0]) for d in tree.values() if d.kind == ALERTMANAGER}


def _summary(cfg: Mapping[str, Any]) -> Iterator[Detail]:
    yield Detail("receivers", None, ", ".join(r.get("name", "?") for r in cfg.get("receivers") or []))
    yield Detail("routes", None, str(sum(1 for _ in routes(cfg.get("route") or {}))))


def _config_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    out = []
    global_details = structural.details(a.get("global"), b.get("global"))
    if global_details:
        out.append(Change(SECTION, "changed", "global", details=tuple(global_details)))
    out += _routes_diff(a.get("route") or {}, b.get("route") or {})
    out += _named_diff("receiver", a.get("receivers") or [], b.get("receivers") or [])
    out += _inhibit_diff(a.get("inhibit_rules") or [], b.get("inhibit_rules") or [])
    for key in sorted((set(a) | set(b)) - KNOWN_KEYS):
        found = structural.details(a.get(key), b.get(key))
        if found:
            out.append(Change(SECTION, "changed", key, details=tuple(found)))
    return out


def _routes_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    old = {path: (pos, node) for path, pos, node in routes(a)}
    new = {path: (pos, node) for path, pos, node in routes(b)}
    out = [Change(SECTION, "removed", path, f"→ {node.get('receiver', '(inherited)')}")
           for path, (_, node) in old.items() if path not in new]
    for path, (pos, node) in new.items():
        if path not in old:
            out.append(Change(SECTION, "added", path, f"→ {node.get('receiver', '(inherited)')}",
                              tuple(describe(node, ROUTE_FIELDS[1:]))))
            continue
        old_pos, old_node = old[path]
        details = field_details(old_node, node, ROUTE_FIELDS)
        if old_pos != pos:
            details.append(Detail("position among siblings", str(old_pos + 1), str(pos + 1)))
        if details:
            out.append(Change(SECTION, "changed", path, f"→ {node.get('receiver', '(inherited)')}", tuple(details)))
    return out


def _named_diff(kind: str, a: list[Mapping[str, Any]], b: list[Mapping[str, Any]]) -> list[Change]:
    old = {str(r.get("name")): r for r in a}
    new = {str(r.get("name")): r for r in b}
    out = [Change(SECTION, "removed", f"{kind} {name}") for name in old if name not in new]
    for name, r in new.items():
        if name not in old:
            integrations = ", ".join(f"{k} ×{len(v)}" for k, v in sorted(r.items()) if isinstance(v, list))
            out.append(Change(SECTION, "added", f"{kind} {name}", integrations or "no integrations"))
        else:
            found = structural.details(old[name], r)
            if found:
                out.append(Change(SECTION, "changed", f"{kind} {name}", details=tuple(found)))
    return out


def _inhibit_key(rule: Mapping[str, Any]) -> str:
    source = ", ".join(matchers(rule, "source_matchers"))
    target = ", ".join(matchers(rule, "target_matchers"))
    return f"inhibit {{{source}}} mutes {{{target}}}"


def _inhibit_diff(a: list[Mapping[str, Any]], b: list[Mapping[str, Any]]) -> list[Change]:
    old = {_inhibit_key(r): r for r in a}
    new = {_inhibit_key(r): r for r in b}
    out = [Change(SECTION, "removed", key, f"equal: {show(r.get('equal', []))}")
           for key, r in old.items() if key not in new]
    out += [Change(SECTION, "added", key, f"equal: {show(r.get('equal', []))}")
            for key, r in new.items() if key not in old]
    for key in (k for k in old if k in new):
        found = structural.details(old[key], new[key])
        if found:
            out.append(Change(SECTION, "changed", key, details=tuple(found)))
    return out
