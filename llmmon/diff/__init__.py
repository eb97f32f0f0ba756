"""``llmmon diff``: what changes for the people on call between two renders.

Each artifact kind has its own module (rules, alertmanager, prometheus, dashboards,
kubernetes, logpipeline); all of them compare parsed documents (``documents.py``), so
reformatting, reordering keys or moving a rule to another file reports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from llmmon.diff import alertmanager, dashboards, kubernetes, logpipeline, prometheus, rules
from llmmon.diff.documents import ALERTMANAGER, Document, load_tree, of_kind
from llmmon.diff.model import SECTIONS, Change, EnvDiff
from llmmon.diff.routing import MissingTool, Router, RoutingError


def diff_trees(env: str, old_root: Path, new_root: Path) -> EnvDiff:
    """Every change between two render folders of one environment, in report order."""
    old, new = load_tree(old_root), load_tree(new_root)
    notes: list[str] = []
    changes = rules.diff(old, new, _routes(old_root, old, "old", notes), _routes(new_root, new, "new", notes))
    changes += rules.test_suites_diff(old, new)
    changes += prometheus.diff(old, new)
    changes += alertmanager.diff(old, new)
    changes += dashboards.diff(old, new)
    changes += kubernetes.diff(old, new)
    changes += logpipeline.diff(old, new)
    return EnvDiff(env, tuple(sorted(changes, key=lambda c: SECTIONS.index(c.section))), tuple(dict.fromkeys(notes)))


def _routes(root: Path, tree: Mapping[str, Document], side: str, notes: list[str]) -> rules.RouteLookup:
    """Receivers of alerts per amtool under this render's Alertmanager config (None: unknown)."""
    configs = of_kind(tree, ALERTMANAGER)
    if not configs:
        return lambda alerts: [None] * len(alerts)
    router = Router(root / configs[0].path, prometheus.external_labels(tree))

    def lookup(alerts: list[rules.Rule]) -> list[str | None]:
        try:
            return list(router.receivers([router.labels_for(a.name, dict(a.labels)) for a in alerts]))
        except (MissingTool, RoutingError) as exc:
            notes.append(f"receivers not evaluated for the {side} render: {exc}")
            return [None] * len(alerts)

    return lookup


__all__ = ["Change", "EnvDiff", "diff_trees"]
