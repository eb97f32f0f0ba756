"""Merging the artifacts of several renderers: one owner per path, nothing outside the output dir.

Each domain package exposes ``artifacts(settings) -> {relative path: content}``. The render
command merges all of them and the stack merges the ones whose config it ships; both use
``merge`` so that a path claimed twice is an error wherever it happens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from foundation.settings import Settings

Provider = Callable[[Settings], dict[str, str]]


class RenderError(RuntimeError):
    pass


def merge(settings: Settings, providers: Iterable[tuple[str, Provider]]) -> dict[str, str]:
    """All artifacts of ``(name, provider)`` pairs, sorted by path; two may not claim one path."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name, provider in providers:
        for path, content in provider(settings).items():
            if path in owner:
                raise RenderError(f"{path} is produced by both {owner[path]} and {name}")
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise RenderError(f"{name} produced a path outside the output dir: {path}")
            owner[path] = name
            out[path] = content
    return dict(sorted(out.items()))
