"""Alerting and recording rules: what fires, at what threshold, for how long, routed to whom.

Rules are keyed by (alert or record name, static labels) and compared per channel: the rule
files as one set (moving a rule between files changes nothing) and each PrometheusRule
object. A change found in every channel is reported once; one found in some channels only
says where (a rule file and the operator's copy that disagree).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from llmmon.diff import promql
from llmmon.diff.documents import KUBERNETES, RULE_TESTS, RULES, Document, yaml_docs
from llmmon.diff.matching import pair
from llmmon.diff.model import ALERTS, OTHER, RECORDING, Change, Detail, show

#: alert name + static labels -> receiver(s), or None when routing is not evaluated.
RouteLookup = Callable[[list["Rule"]], list[str | None]]


@dataclass(frozen=True)
class Rule:
    kind: str  # "alert" | "record"
    name: str
    expr: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    for_: str | None
    keep_firing_for: str | None
    group: str
    interval: str | None
    source: str
    #: Rule files, or one PrometheusRule object: the sets compared with each other.
    channel: str

    @property
    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        return self.kind, self.name, self.labels

    @property
    def title(self) -> str:
        if self.kind == "alert":
            return self.name
        extra = ", ".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.name}{{{extra}}}" if extra else self.name

    def meaning(self) -> tuple[Any, ...]:
        """What the rule does, without where it is written."""
        return (promql.canonical(self.expr), self.labels, self.annotations, self.for_, self.keep_firing_for,
                self.group, self.interval)


RULE_FILES = "rule files"


def rules_of(tree: Mapping[str, Document]) -> Iterator[Rule]:
    for doc in tree.values():
        if doc.kind == RULES:
            for content in yaml_docs(doc):
                yield from _from_groups(content.get("groups") or [], doc.path, RULE_FILES)
        elif doc.kind == KUBERNETES:
            for obj in yaml_docs(doc):
                if obj.get("kind") == "PrometheusRule":
                    meta = obj.get("metadata") or {}
                    channel = f"PrometheusRule {meta.get('namespace') or '-'}/{meta.get('name', '?')}"
                    yield from _from_groups((obj.get("spec") or {}).get("groups") or [], doc.path, channel)


def _from_groups(groups: list[Any], source: str, channel: str) -> Iterator[Rule]:
    for group in groups:
        for rule in group.get("rules") or []:
            kind = "alert" if "alert" in rule else "record"
            yield Rule(
                kind=kind, name=str(rule.get(kind)), expr=str(rule.get("expr", "")),
                labels=tuple(sorted((str(k), str(v)) for k, v in (rule.get("labels") or {}).items())),
                annotations=tuple(sorted((str(k), str(v)) for k, v in (rule.get("annotations") or {}).items())),
                for_=rule.get("for"), keep_firing_for=rule.get("keep_firing_for"),
                group=str(group.get("name")), interval=group.get("interval"), source=source, channel=channel,
            )


def _unique(rules: Iterator[Rule]) -> dict[Any, Rule]:
    """One rule per key; copies that disagree are told apart by their file."""
    by_key: dict[Any, list[Rule]] = {}
    for rule in rules:
        by_key.setdefault(rule.key, []).append(rule)
    out: dict[Any, Rule] = {}
    for key, copies in by_key.items():
        if len({r.meaning() for r in copies}) == 1:
            out[key] = copies[0]
        else:
            out.update({(*key, r.source): r for r in copies})
    return out


def diff(old: Mapping[str, Document], new: Mapping[str, Document],
         route_old: RouteLookup, route_new: RouteLookup) -> list[Change]:
    old_rules, new_rules = list(rules_of(old)), list(rules_of(new))
    channels = list(dict.fromkeys(r.channel for r in [*old_rules, *new_rules]))
    found: dict[Change, list[str]] = {}
    for channel in channels:
        changes = _diff_channel([r for r in old_rules if r.channel == channel],
                                [r for r in new_rules if r.channel == channel], route_old, route_new)
        for change in changes:
            found.setdefault(change, []).append(channel)
    return [c if len(where) == len(channels) else replace(c, note=f"{c.note} [only in {', '.join(where)}]".strip())
            for c, where in found.items()]


def _diff_channel(old: list[Rule], new: list[Rule], route_old: RouteLookup, route_new: RouteLookup) -> list[Change]:
    matched = pair(_unique(iter(old)), _unique(iter(new)), loose=lambda k, _: (k[0], k[1]))
    # Every alert is routed on both sides: a route added elsewhere may have moved an unchanged one.
    old_alerts = [a for a, _ in matched.pairs if a.kind == "alert"] + [r for r in matched.removed if r.kind == "alert"]
    new_alerts = [b for _, b in matched.pairs if b.kind == "alert"] + [r for r in matched.added if r.kind == "alert"]
    old_rx = dict(zip(old_alerts, route_old(old_alerts), strict=True))
    new_rx = dict(zip(new_alerts, route_new(new_alerts), strict=True))

    out = [Change(_section(r), "removed", r.title, _note(r, old_rx.get(r))) for r in matched.removed]
    out += [Change(_section(r), "added", r.title, _note(r, new_rx.get(r)), tuple(_describe(r))) for r in matched.added]
    for a, b in matched.pairs:
        details = _rule_details(a, b) if a.meaning() != b.meaning() else []
        if None not in (old_rx.get(a), new_rx.get(b)) and old_rx.get(a) != new_rx.get(b):
            details.append(Detail("receiver", old_rx[a], new_rx[b]))
        if details:
            out.append(Change(_section(b), "changed", b.title, _note(b, new_rx.get(b)), tuple(details)))
    return out


def _section(rule: Rule) -> str:
    return ALERTS if rule.kind == "alert" else RECORDING


def _note(rule: Rule, receiver: str | None) -> str:
    severity = dict(rule.labels).get("severity")
    parts = [severity] if rule.kind == "alert" and severity else []
    if receiver is not None:
        parts.append(f"→ {receiver}")
    return " ".join(parts)


def _describe(rule: Rule) -> Iterator[Detail]:
    thresholds = promql.thresholds(rule.expr)
    if thresholds:
        yield Detail("threshold", None, ", ".join(dict.fromkeys(thresholds)))
    yield Detail("expr", None, promql.one_line(rule.expr))
    if rule.for_:
        yield Detail("for", None, str(rule.for_))
    for key, value in rule.labels:
        if not (rule.kind == "alert" and key == "severity"):
            yield Detail(f"label {key}", None, value)
    summary = dict(rule.annotations).get("summary")
    if summary:
        yield Detail("summary", None, summary)


def _rule_details(a: Rule, b: Rule) -> list[Detail]:
    out = promql.changes(a.expr, b.expr)
    for name, x, y in (("for", a.for_, b.for_), ("keep_firing_for", a.keep_firing_for, b.keep_firing_for),
                       ("group", a.group, b.group), ("group interval", a.interval, b.interval)):
        if x != y:
            out.append(Detail(name, None if x is None else show(x), None if y is None else show(y)))
    out += _pairs_details("label", dict(a.labels), dict(b.labels))
    out += _pairs_details("annotation", dict(a.annotations), dict(b.annotations))
    return out


def _pairs_details(prefix: str, old: dict[str, str], new: dict[str, str]) -> list[Detail]:
    return [Detail(f"{prefix} {k}", old.get(k), new.get(k))
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def test_suites_diff(old: Mapping[str, Document], new: Mapping[str, Document]) -> list[Change]:
    """Generated ``promtool test rules`` suites: how many cases changed, not every sample."""
    out = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        if RULE_TESTS not in {getattr(a, "kind", None), getattr(b, "kind", None)}:
            continue
        cases_a, cases_b = _cases(a), _cases(b)
        if a is None or b is None:
            action = "added" if a is None else "removed"
            out.append(Change(OTHER, action, path, f"{len(cases_a or cases_b)} test cases"))
        elif cases_a != cases_b:
            gone, came = len(set(cases_a) - set(cases_b)), len(set(cases_b) - set(cases_a))
            out.append(Change(OTHER, "changed", path, "promtool test suite",
                              (Detail("test cases", f"{len(cases_a)} ({gone} changed or removed)",
                                      f"{len(cases_b)} ({came} changed or added)"),)))
    return out


def _cases(doc: Document | None) -> list[str]:
    if doc is None:
        return []
    return [show(case) for content in yaml_docs(doc) for case in content.get("tests") or []]
