"""Artifacts this package contributes to ``llmmon render`` (filled in by its issue)."""

from __future__ import annotations

from llmmon.settings import Settings


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object."""
    return {}
