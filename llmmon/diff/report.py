"""The diff as text for a terminal and as Markdown for a pull-request comment.

A change found identically in several environments is shown once, under the list of those
environments; changes specific to one environment follow under its name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from llmmon.diff.model import SECTIONS, Change, Detail, EnvDiff

SIGNS = {"added": "+", "removed": "-", "changed": "~"}
COLORS = {"added": "32", "removed": "31", "changed": "33"}
#: Values longer than this are shown on their own lines, old above new.
INLINE = 60


def grouped(diffs: Sequence[EnvDiff]) -> list[tuple[list[str], list[Change]]]:
    """(environments, changes found in exactly those environments), widest group first."""
    envs_of: dict[Change, list[str]] = {}
    for d in diffs:
        for change in d.changes:
            envs_of.setdefault(change, []).append(d.env)
    groups: dict[tuple[str, ...], list[Change]] = {}
    for change, envs in envs_of.items():
        groups.setdefault(tuple(envs), []).append(change)
    order = [d.env for d in diffs]
    return [(list(envs), changes) for envs, changes in
            sorted(groups.items(), key=lambda g: (-len(g[0]), [order.index(e) for e in g[0]]))]


def summary(diffs: Sequence[EnvDiff]) -> str:
    if not any(d.changes for d in diffs):
        return f"no change for on-call in {_envs([d.env for d in diffs])}"
    parts = []
    for d in diffs:
        counts = Counter(c.action for c in d.changes)
        text = ", ".join(f"{counts[a]} {a}" for a in ("added", "removed", "changed") if counts[a]) or "no change"
        parts.append(f"{d.env}: {text}")
    return "; ".join(parts)


def _envs(envs: Iterable[str]) -> str:
    return ", ".join(envs)


def _by_section(changes: Iterable[Change]) -> list[tuple[str, list[Change]]]:
    changes = list(changes)
    return [(s, [c for c in changes if c.section == s]) for s in SECTIONS if any(c.section == s for c in changes)]


# --- terminal ---------------------------------------------------------------------------

def text(diffs: Sequence[EnvDiff], old_label: str, new_label: str, color: bool = False) -> str:
    def paint(action: str, s: str) -> str:
        return f"\033[{COLORS[action]}m{s}\033[0m" if color else s

    lines = [f"llmmon diff: {old_label} → {new_label}"]
    for envs, changes in grouped(diffs):
        lines += ["", f"== {_envs(envs)} =="]
        for section, items in _by_section(changes):
            lines.append(section)
            for c in items:
                note = f"  ({c.note})" if c.note else ""
                lines.append(paint(c.action, f"  {SIGNS[c.action]} {c.subject}") + note)
                lines += [f"      {line}" for d in c.details for line in _detail_lines(d, c.action)]
    for d in diffs:
        lines += [f"note ({d.env}): {n}" for n in d.notes]
    lines += ["", summary(diffs)]
    return "\n".join(lines) + "\n"


def _detail_lines(d: Detail, action: str) -> list[str]:
    if d.old is None and d.new is None:
        return [d.field]
    if action == "added":
        return [f"{d.field}: {d.new}"]
    old, new = d.old if d.old is not None else "(none)", d.new if d.new is not None else "(none)"
    if len(old) + len(new) <= INLINE:
        return [f"{d.field}: {old} → {new}"]
    return [f"{d.field}:", f"  - {old}", f"  + {new}"]


# --- Markdown ---------------------------------------------------------------------------

def markdown(diffs: Sequence[EnvDiff], old_label: str, new_label: str) -> str:
    lines = [f"### llmmon diff: {_code(old_label)} → {_code(new_label)}", ""]
    if not any(d.changes for d in diffs):
        lines.append(f"No change for on-call in {_envs(d.env for d in diffs)}.")
    for envs, changes in grouped(diffs):
        lines += [f"#### {_envs(envs)}", ""]
        for section, items in _by_section(changes):
            lines += [f"**{section}**", ""]
            for c in items:
                note = f" — {c.note}" if c.note else ""
                lines.append(f"- **{c.action}** {_code(c.subject)}{note}")
                for d in c.details:
                    lines += [f"  {line}" for line in _md_detail(d, c.action)]
            lines.append("")
    for d in diffs:
        lines += [f"> note ({d.env}): {n}" for n in d.notes]
    lines += ["", f"_{summary(diffs)}_"]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _md_detail(d: Detail, action: str) -> list[str]:
    if d.old is None and d.new is None:
        return [f"- {d.field}"]
    if action == "added":
        return [f"- {d.field}: {_code(d.new or '')}"]
    old = _code(d.old) if d.old is not None else "_(none)_"
    new = _code(d.new) if d.new is not None else "_(none)_"
    if len(d.old or "") + len(d.new or "") <= INLINE:
        return [f"- {d.field}: {old} → {new}"]
    body = [f"- {d.old}"] if d.old is not None else []
    body += [f"+ {d.new}"] if d.new is not None else []
    return [f"- {d.field}:", "", "  ```diff", *(f"  {b}" for b in body), "  ```", ""]


def _code(value: str) -> str:
    """Inline code that survives backticks inside the value."""
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"
