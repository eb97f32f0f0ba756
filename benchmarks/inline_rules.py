"""Expand recording-rule names in a query back into the expressions they record.

This gives the "without recording rules" twin of a dashboard query: the same result,
computed from the raw series at query time. A selector is only inlined when its matchers
are satisfied by the rule itself (``label=~".*"``, or equal to one of the rule's static
labels); otherwise the query is reported as not inlinable rather than changed in meaning.
A name recorded by several rules (one per SLO) becomes the union of their expressions,
each with its static labels attached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_SELECTOR = re.compile(r'(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<matchers>\{[^}]*\})?(?:\s*\[(?P<range>[^\]:]+)\])?')
_GROUPING_BEFORE = re.compile(r"\b(group_left|group_right)\s*(\([^)]*\))?\s*$")
_MATCHER = re.compile(r'\s*(?P<label>[a-zA-Z_][a-zA-Z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*"(?P<value>(?:[^"\\]|\\.)*)"\s*')


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str]


class NotInlinable(ValueError):
    pass


def _matchers(text: str | None) -> list[tuple[str, str, str]]:
    if not text or text == "{}":
        return []
    parts = [p for p in text[1:-1].split(",") if p.strip()]
    out = []
    for part in parts:
        m = _MATCHER.fullmatch(part)
        if m is None:
            raise NotInlinable(f"cannot read matcher {part!r}")
        out.append((m["label"], m["op"], m["value"]))
    return out


def _pick(rules: Sequence[RecordingRule], matchers: list[tuple[str, str, str]]) -> list[RecordingRule]:
    """The definitions of a recorded name that the selector's matchers pick (at least one)."""
    def satisfied(rule: RecordingRule) -> bool:
        for label, op, value in matchers:
            if op == "=~" and value == ".*":
                continue
            if op == "=" and rule.labels.get(label) == value:
                continue
            return False
        return True

    chosen = [r for r in rules if satisfied(r)]
    if not chosen:
        raise NotInlinable(f"{rules[0].record} with {matchers}: no matching definition")
    return chosen


def _with_static_labels(rule: RecordingRule) -> str:
    """The rule's expression carrying the labels the rule adds (``label_replace`` per label)."""
    expr = rule.expr
    for label, value in sorted(rule.labels.items()):
        expr = f'label_replace({expr}, "{label}", "{value}", "", "")'
    return expr


def inline(expr: str, rules: Mapping[str, Sequence[RecordingRule]], subquery_step: str = "5m", depth: int = 8) -> str:
    """``expr`` with every recorded name replaced by ``(its expression)``, recursively.

    A range over a recorded name (``sum_over_time(r[30d])``) becomes a subquery
    ``(expr)[30d:subquery_step]``, evaluated as often as the rule would have been.
    """
    def replace(m: re.Match[str]) -> str:
        name = m["name"]
        if name not in rules:
            return m.group(0)
        chosen = _pick(rules[name], _matchers(m["matchers"]))
        # Several definitions (one per SLO) differ only in their static labels: their union.
        union = "(" + " or ".join(_with_static_labels(r) for r in chosen) + ")"
        if m["range"]:
            return f"{union}[{m['range']}:{subquery_step}]"
        # After group_left/group_right a "(" would be read as a label list: use unary plus.
        return "+" + union if _GROUPING_BEFORE.search(m.string, 0, m.start()) else union

    for _ in range(depth):
        # Strings (label values) and range durations cannot contain a recorded name with a colon.
        expanded = _SELECTOR.sub(replace, expr)
        if expanded == expr:
            return expr
        expr = expanded
    raise NotInlinable("recording rules nested deeper than 8 levels")


def uses_rules(expr: str, rules: Mapping[str, object]) -> bool:
    return any(m["name"] in rules for m in _SELECTOR.finditer(expr))
