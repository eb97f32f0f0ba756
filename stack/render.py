"""``llmmon render`` output of the stack: every Kubernetes object as YAML, Secret values redacted.

The same ``build_services`` feeds the Pulumi program, so GitOps users and reviewers diff
exactly what ``pulumi up`` would create; only Secret values differ (a redaction marker here).
"""

from __future__ import annotations

import re

import yaml

import dashboards.render
from foundation.settings import Settings
from stack.build import build_services, upstream_artifacts
from stack.credentials import required_secret_keys
from stack.model import REDACTED, Service
from stack.services.grafana_content import content

#: What the Grafana provider creates (``grafana.delivery: provider``), for reviewers and diffs.
GRAFANA_API_FILE = "grafana/api/content.yaml"


def file_name(index: int, service: Service) -> str:
    slug = re.sub(r"(?<!^)(?=[A-Z])", "-", service.component).lower()
    return f"kubernetes/{index:02d}-{slug}.yaml"


def to_yaml(service: Service) -> str:
    return yaml.safe_dump_all(service.objects, sort_keys=True, default_flow_style=False, explicit_start=True)


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object."""
    upstream = upstream_artifacts(settings)
    secrets = dict.fromkeys(required_secret_keys(settings, upstream), REDACTED)
    services = build_services(settings, secrets, upstream)
    out = {file_name(i, s): to_yaml(s) for i, s in enumerate(services)}
    if settings.grafana.uses_provider:
        spec = content(settings, dashboards.render.datasources_document(settings), upstream)
        out[GRAFANA_API_FILE] = yaml.safe_dump(spec.summary(), sort_keys=True, default_flow_style=False)
    return out
