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


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object."""
    out = {f"{DASHBOARDS_DIR}/{d.uid}.json": to_json(d) for d in build_all()}
    out[DATASOURCES_FILE] = _yaml(datasources(Endpoints.from_settings(settings), settings.router.scrape_interval))
    out[PROVIDER_FILE] = _yaml(dashboard_provider())
    return out
