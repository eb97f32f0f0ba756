"""Render every artifact for one environment: pure, deterministic, no Pulumi engine needed.

Each package contributes ``artifacts(settings) -> {relative path: content}``; the Pulumi
program reads the very same functions, so there is no second copy of any config.
"""

from __future__ import annotations

from pathlib import Path

import alerts.render
import dashboards.render
import logpipeline.render
import stack.render
from foundation.artifacts import Provider, RenderError, merge
from foundation.settings import Settings, load_settings

__all__ = ["PROVIDERS", "RenderError", "collect", "render_env", "write"]

#: Every renderer, by module name. ``stack.render`` goes last: it wraps the others' output
#: into Kubernetes objects.
PROVIDERS: tuple[tuple[str, Provider], ...] = (
    ("alerts.render", alerts.render.artifacts),
    ("dashboards.render", dashboards.render.artifacts),
    ("logpipeline.render", logpipeline.render.artifacts),
    ("stack.render", stack.render.artifacts),
)


def collect(settings: Settings, providers: tuple[tuple[str, Provider], ...] = PROVIDERS) -> dict[str, str]:
    """All artifacts of one env, sorted by path; two providers may not claim one path."""
    return merge(settings, providers)


def write(artifacts: dict[str, str], out_dir: Path) -> list[Path]:
    """Write files, stale files from a previous render of the same tree are removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {out_dir / p for p in artifacts}
    for existing in sorted(out_dir.rglob("*")):
        if existing.is_file() and existing not in wanted and _is_rendered(existing, out_dir):
            existing.unlink()
    written = []
    for rel, content in artifacts.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != content:
            path.write_text(content)
        written.append(path)
    return written


def _is_rendered(path: Path, out_dir: Path) -> bool:
    # Only prune inside the folders a render owns, never unrelated files (state.json, data/).
    top = path.relative_to(out_dir).parts[0]
    return top in {"prometheus", "alertmanager", "grafana", "kubernetes", "logstash", "filebeat", "kibana", "elasticsearch"}


def render_env(env: str, out_dir: Path) -> list[Path]:
    return write(collect(load_settings(env)), out_dir)
