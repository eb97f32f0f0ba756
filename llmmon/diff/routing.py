"""Which Alertmanager receiver an alert reaches, answered by the real router: ``amtool``.

An alert's labels at Alertmanager are its rule's static labels, ``alertname``, and
Prometheus' ``external_labels`` (added when Prometheus sends it). Labels that come from the
series (``model``, ``instance``, ...) are unknown before the alert fires, so a route that
matches on them is not taken here: the receiver shown is the one for the static labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from llmmon.checkers import MissingTool, require, run_tool


class RoutingError(RuntimeError):
    pass


class Router:
    """Receivers for label sets under one ``alertmanager.yml``; answers are cached."""

    def __init__(self, config: Path, external_labels: Mapping[str, str]) -> None:
        self.config = config
        self.external_labels = dict(external_labels)
        self._cache: dict[tuple[tuple[str, str], ...], str] = {}

    def labels_for(self, alertname: str, rule_labels: Mapping[str, str]) -> dict[str, str]:
        return {**self.external_labels, **{k: str(v) for k, v in rule_labels.items()}, "alertname": alertname}

    def receivers(self, label_sets: list[dict[str, str]]) -> list[str]:
        """Receiver(s) of each label set, comma-separated when ``continue`` sends it to several."""
        keys = [tuple(sorted(labels.items())) for labels in label_sets]
        missing = sorted({k for k in keys if k not in self._cache})
        if missing:
            require("amtool")
            with ThreadPoolExecutor(max_workers=4) as pool:
                for key, answer in zip(missing, pool.map(self._ask, missing), strict=True):
                    self._cache[key] = answer
        return [self._cache[k] for k in keys]

    def _ask(self, key: tuple[tuple[str, str], ...]) -> str:
        argv = ["amtool", "config", "routes", "test", f"--config.file={self.config}", *(f"{k}={_quoted(v)}" for k, v in key)]
        result = run_tool("amtool config routes test", argv, timeout=30)
        if not result.ok:
            raise RoutingError(f"amtool could not route {dict(key)} with {self.config}: {result.output}")
        lines = [ln for ln in result.output.splitlines() if ln.strip() and not ln.startswith("Warning:")]
        return lines[-1].strip() if lines else ""


def _quoted(value: str) -> str:
    """A label value as amtool's matcher syntax reads it (spaces, commas, quotes intact)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["MissingTool", "Router", "RoutingError"]
