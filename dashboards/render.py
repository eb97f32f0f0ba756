"""Artifacts this package contributes to ``llmmon render``: dashboards and Grafana provisioning."""

from __future__ import annotations

import yaml

from dashboards.datasources import Endpoints, dashboard_provider, datasources
from dashboards.definitions import build_all, to_json
from foundation.settings import Settings

DASHBOARDS_DIR = "grafana/dashboards"
DATASOURCES_FILE = "grafana/provisioning/datasources/datasources.yaml"
PROVIDER_FILE = "grafana/provisioning/dashboards/llm-router.yaml"


def _yaml(document: object) -> str:
    return yaml.safe_dump(document, sort_keys=True, default_flow_style=False, allow_unicode=True)


def datasources_document(settings: Settings) -> dict[str, object]:
    """The data sources of this env, as Grafana's provisioning document."""
    return datasources(Endpoints.from_settings(settings), settings.router.scrape_interval)


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object.

    Provisioning files only where Grafana reads them: with ``grafana.delivery: provider`` the
    stack creates the same data sources and dashboards through Grafana's API instead.
    """
    out = {f"{DASHBOARDS_DIR}/{d.uid}.json": to_json(d) for d in build_all()}
    if not settings.grafana.uses_provider:
        out[DATASOURCES_FILE] = _yaml(datasources_document(settings))
        out[PROVIDER_FILE] = _yaml(dashboard_provider(settings.grafana.folder_title))
    return out
