"""Render every artifact for one environment: pure, deterministic, no Pulumi engine needed.

Each package contributes ``artifacts(settings) -> {relative path: content}``; the Pulumi
program reads the very same functions, so there is no second copy of any config.
"""

from __future__ import annotations

import json
from pathlib import Path

import alerts.render
import dashboards.render
import logpipeline.render
import stack.render
from foundation.artifacts import Provider, RenderError, merge
from foundation.settings import Settings, load_settings

__all__ = ["MANIFEST", "PROVIDERS", "RenderError", "check_target", "collect", "render_env", "write"]

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


#: What the last render into a folder wrote (relative paths); the only files a render may delete.
MANIFEST = ".llmmon-render.json"


def check_target(out_dir: Path) -> None:
    """Refuse output folders a render must never write into (RenderError, one line)."""
    target = out_dir.expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise RenderError(f"{out_dir} is a file, not a folder; pass a folder to render into")
    home = Path.home().resolve()
    if target == Path(target.anchor) or target == home or target in home.parents:
        what = "the filesystem root" if target == Path(target.anchor) else "your home folder or one that holds it"
        raise RenderError(f"refusing to render into {target}: it is {what}; pass a folder of its own, "
                          f"e.g. {out_dir / 'llmmon-out'}")


def write(artifacts: dict[str, str], out_dir: Path) -> list[Path]:
    """Write the artifacts; delete what the previous render here wrote and this one does not.

    Only files listed in the folder's manifest are ever deleted: a user's own files next to
    the render (extra rules, notes, manifests) stay, and so does anything of ``llmmon up``.
    """
    if MANIFEST in artifacts:
        raise RenderError(f"{MANIFEST} is the render's manifest, not an artifact")
    check_target(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for rel in sorted(read_manifest(out_dir) - set(artifacts)):
        _prune(out_dir, rel)
    written = []
    for rel, content in artifacts.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != content:
            path.write_text(content)
        written.append(path)
    manifest = out_dir / MANIFEST
    manifest.write_text(json.dumps({"written_by": "llmmon render", "files": sorted(artifacts)}, indent=1) + "\n")
    return written


def read_manifest(out_dir: Path) -> set[str]:
    """Relative paths of the previous render; an unreadable or foreign manifest names nothing."""
    try:
        files = json.loads((out_dir / MANIFEST).read_text()).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {f for f in files if isinstance(f, str) and f and not Path(f).is_absolute() and ".." not in Path(f).parts}


def _prune(out_dir: Path, rel: str) -> None:
    """Delete a file the previous render wrote, then the folders it leaves empty (never ``out_dir``)."""
    path = out_dir / rel
    if path.is_symlink() or not path.is_file() or out_dir.resolve() not in path.resolve().parents:
        return
    path.unlink()
    for folder in path.parents:
        if folder == out_dir or out_dir not in folder.parents or any(folder.iterdir()):
            break
        folder.rmdir()


def render_env(env: str, out_dir: Path) -> list[Path]:
    return write(collect(load_settings(env)), out_dir)
