"""``prometheus.yml``: scrape jobs (by job name), global settings, alerting, rule files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmmon.diff import structural
from llmmon.diff.documents import PROMETHEUS, Document, yaml_docs
from llmmon.diff.model import PROMETHEUS as SECTION
from llmmon.diff.model import Change, Detail


def config_of(tree: Mapping[str, Document]) -> Mapping[str, Any]:
    """The render's Prometheus config (the first one found), or an empty mapping."""
    docs = [yaml_docs(d)[0] for d in tree.values() if d.kind == PROMETHEUS]
    return docs[0] if docs else {}


def external_labels(tree: Mapping[str, Document]) -> dict[str, str]:
    labels = (config_of(tree).get("global") or {}).get("external_labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def diff(old: Mapping[str, Document], new: Mapping[str, Document]) -> list[Change]:
    a, b = config_of(old), config_of(new)
    if a == b:
        return []
    jobs_a = {j.get("job_name"): j for j in a.get("scrape_configs") or []}
    jobs_b = {j.get("job_name"): j for j in b.get("scrape_configs") or []}
    out = [Change(SECTION, "removed", f"scrape job {name}") for name in jobs_a if name not in jobs_b]
    for name, job in jobs_b.items():
        if name not in jobs_a:
            interval = job.get("scrape_interval") or "(global interval)"
            out.append(Change(SECTION, "added", f"scrape job {name}", details=(Detail("scrape_interval", None, interval),)))
        else:
            found = structural.details(jobs_a[name], job, limit=8)
            if found:
                out.append(Change(SECTION, "changed", f"scrape job {name}", details=tuple(found)))
    for key in sorted((set(a) | set(b)) - {"scrape_configs"}):
        found = structural.details(a.get(key), b.get(key), limit=8)
        if found:
            out.append(Change(SECTION, "changed", key, details=tuple(found)))
    return out
