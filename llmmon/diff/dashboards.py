"""Grafana dashboards: panels added, removed, moved or resized; titles, queries, thresholds, units.

Dashboards are identified by uid (whatever their file is called), panels by title within
their dashboard (a panel whose title changed is still found by its type and queries).
Queries are compared as PromQL trees, so only a change Prometheus would see is reported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from llmmon import dashboard_json as dj
from llmmon.diff import promql, structural
from llmmon.diff.documents import DASHBOARD, Document
from llmmon.diff.matching import pair
from llmmon.diff.model import DASHBOARDS, Change, Detail, field_details, show

DASHBOARD_FIELDS = ("title", "tags", "time", "refresh", "timezone", "description", "graphTooltip")
PANEL_FIELDS = ("type", "description", "datasource", "interval", "timeFrom", "timeShift", "repeat", "transformations")
FIELD_DEFAULTS = ("unit", "min", "max", "decimals", "noValue", "mappings", "color")
#: Variable fields that change what a dashboard shows (not the remembered selection).
VARIABLE_FIELDS = ("type", "query", "definition", "regex", "includeAll", "allValue", "multi", "hide", "datasource")


def dashboards_of(tree: Mapping[str, Document]) -> dict[str, Mapping[str, Any]]:
    return {str(d.content.get("uid") or d.path): d.content for d in tree.values() if d.kind == DASHBOARD}


def diff(old: Mapping[str, Document], new: Mapping[str, Document]) -> list[Change]:
    matched = pair(dashboards_of(old), dashboards_of(new))
    out = [Change(DASHBOARDS, "removed", _name(d), f"{len(_panels(d))} panels") for d in matched.removed]
    out += [Change(DASHBOARDS, "added", _name(d), f"{len(_panels(d))} panels",
                   (Detail("panels", None, structural.clip(", ".join(_panels(d)))),)) for d in matched.added]
    for a, b in matched.pairs:
        out += dashboard_changes(a, b)
    return out


def dashboard_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Change]:
    name = _name(b)
    details = field_details(a, b, DASHBOARD_FIELDS)
    details += _variables(a, b)
    out = [Change(DASHBOARDS, "changed", name, details=tuple(details))] if details else []
    matched = pair(_panels(a), _panels(b), loose=_panel_fingerprint)
    out += [Change(DASHBOARDS, "removed", f"{name} › panel {_title(p)}", _kind(p)) for p in matched.removed]
    out += [Change(DASHBOARDS, "added", f"{name} › panel {_title(p)}", f"{_kind(p)} at {_where(p)}",
                   tuple(_describe(p))) for p in matched.added]
    for p, q in matched.pairs:
        found = list(panel_details(p, q))
        if found:
            out.append(Change(DASHBOARDS, "changed", f"{name} › panel {_title(q)}", _kind(q), tuple(found)))
    return out


def panel_details(p: Mapping[str, Any], q: Mapping[str, Any]) -> Iterator[Detail]:
    if p.get("title") != q.get("title"):
        yield Detail("title", _title(p), _title(q))
    (x0, y0, w0, h0), (x1, y1, w1, h1) = dj.grid(p), dj.grid(q)
    if (x0, y0) != (x1, y1):
        yield Detail("moved", f"x{x0} y{y0}", f"x{x1} y{y1}")
    if (w0, h0) != (w1, h1):
        yield Detail("size", f"{w0}×{h0}", f"{w1}×{h1}")
    yield from field_details(p, q, PANEL_FIELDS)
    if dj.thresholds_text(p) != dj.thresholds_text(q):
        yield Detail("thresholds", dj.thresholds_text(p) or None, dj.thresholds_text(q) or None)
    yield from field_details(dj.defaults(p), dj.defaults(q), FIELD_DEFAULTS)
    yield from _targets(p, q)
    yield from structural.details((p.get("fieldConfig") or {}).get("overrides"),
                                  (q.get("fieldConfig") or {}).get("overrides"), "overrides", limit=4)
    yield from structural.details(p.get("options"), q.get("options"), "options", limit=4)


def _targets(p: Mapping[str, Any], q: Mapping[str, Any]) -> Iterator[Detail]:
    old = {str(t.get("refId", i)): t for i, t in enumerate(dj.targets(p))}
    new = {str(t.get("refId", i)): t for i, t in enumerate(dj.targets(q))}
    for ref in [*old, *(r for r in new if r not in old)]:
        a, b = old.get(ref), new.get(ref)
        if a is None or b is None:
            yield Detail(f"query {ref}", _expr(a) if a else None, _expr(b) if b else None)
            continue
        yield from promql.changes(_expr(a), _expr(b), f"query {ref}")
        for key in ("legendFormat", "instant", "hide", "interval", "format"):
            if a.get(key) != b.get(key):
                yield Detail(f"query {ref} {key}", show(a.get(key)), show(b.get(key)))


def _variables(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Detail]:
    old = {v.get("name"): v for v in (a.get("templating") or {}).get("list") or []}
    new = {v.get("name"): v for v in (b.get("templating") or {}).get("list") or []}
    out = []
    for name in [*old, *(n for n in new if n not in old)]:
        if name not in new or name not in old:
            out.append(Detail(f"variable ${name}", _var(old.get(name)), _var(new.get(name))))
        else:
            out += [Detail(f"variable ${name} {d.field}", d.old, d.new)
                    for d in field_details(old[name], new[name], VARIABLE_FIELDS)]
    return out


def _var(variable: Mapping[str, Any] | None) -> str | None:
    return None if variable is None else show(variable.get("query") or variable.get("type"))


def _describe(p: Mapping[str, Any]) -> Iterator[Detail]:
    for ref, target in enumerate(dj.targets(p)):
        yield Detail(f"query {target.get('refId', ref)}", None, promql.one_line(_expr(target)))
    if dj.unit(p):
        yield Detail("unit", None, dj.unit(p))
    if dj.thresholds_text(p):
        yield Detail("thresholds", None, dj.thresholds_text(p))


def _expr(target: Mapping[str, Any]) -> str:
    return str(target.get("expr") or target.get("query") or "")


def _panels(dashboard: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for panel in dj.panels(dashboard):
        title = str(panel.get("title") or f"(untitled {panel.get('type', 'panel')})")
        key, n = title, 1
        while key in out:
            n += 1
            key = f"{title} #{n}"
        out[key] = panel
    return out


def _panel_fingerprint(_: str, panel: Mapping[str, Any]) -> Any:
    """A retitled panel is still the one with the same type and queries."""
    return panel.get("type"), tuple(promql.canonical(_expr(t)) for t in dj.targets(panel))


def _name(dashboard: Mapping[str, Any]) -> str:
    return f"{dashboard.get('title', '?')} ({dashboard.get('uid', '?')})"


def _title(panel: Mapping[str, Any]) -> str:
    return f"\"{panel.get('title', '')}\""


def _kind(panel: Mapping[str, Any]) -> str:
    return str(panel.get("type", "panel"))


def _where(panel: Mapping[str, Any]) -> str:
    x, y, w, h = dj.grid(panel)
    return f"x{x} y{y}, {w}×{h}"
