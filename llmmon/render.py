"""Render every artifact for one environment: pure, deterministic, no Pulumi engine needed.

Each package contributes ``artifacts(settings) -> {relative path: content}``; the Pulumi
program reads the very same functions, so there is no second copy of any config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from llmmon.settings import Settings, load_settings

Provider = Callable[[Settings], dict[str, str]]

#: Modules exposing ``artifacts(settings)``. ``stack.render`` goes last: it wraps the
#: others' output into Kubernetes objects.
PROVIDERS: tuple[str, ...] = (
    "alerts.render",
    "dashboards.render",
    "logpipeline.render",
    "stack.render",
)


class RenderError(RuntimeError):
    pass


def collect(settings: Settings, providers: tuple[str, ...] = PROVIDERS) -> dict[str, str]:
    """All artifacts of one env, sorted by path; two providers may not claim one path."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for module_name in providers:
        provider: Provider = importlib.import_module(module_name).artifacts
        for path, content in provider(settings).items():
            if path in owner:
                raise RenderError(f"{path} is produced by both {owner[path]} and {module_name}")
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise RenderError(f"{module_name} produced a path outside the output dir: {path}")
            owner[path] = module_name
            out[path] = content
    return dict(sorted(out.items()))


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
