"""The Pulumi program: settings and secrets from stack config, then one component per service."""

from __future__ import annotations

import pulumi

import dashboards.render
from foundation.settings import PROJECT, SECTIONS, Settings, SettingsError
from foundation.settings.grafana import DATABASE_SECRET, ELASTICSEARCH_CA_CONFIG
from stack.build import build_services, endpoints, upstream_artifacts
from stack.components import MonitoringService
from stack.credentials import database_port_problem, required_secret_keys, secret_problem
from stack.grafana_api import GrafanaContent
from stack.services.grafana_content import content


def read_settings(config: pulumi.Config, env: str) -> Settings:
    raw = {section: value for section in sorted(SECTIONS) if (value := config.get_object(section)) is not None}
    return Settings.from_config(env, raw)


def read_secrets(config: pulumi.Config, env: str, keys: list[str],
                 settings: Settings | None = None) -> dict[str, pulumi.Output[str]]:
    missing = [key for key in keys if config.get_secret(key) is None]
    if missing:
        commands = "; ".join(f"pulumi config set --secret {key} -s {env}" for key in missing)
        raise SettingsError(env, missing[0], f"missing Pulumi secret(s) {', '.join(missing)}; set with: {commands}")
    return {key: config.require_secret(key).apply(lambda v, key=key: _checked(env, key, v, settings)) for key in keys}


def _checked(env: str, key: str, value: str, settings: Settings | None = None) -> str:
    problem = secret_problem(key, value)
    if problem is None and key == DATABASE_SECRET and settings is not None:
        problem = database_port_problem(settings, value)
    if problem:
        raise SettingsError(env, key, f"Pulumi secret {problem}")
    return value


def read_ca_certificate(config: pulumi.Config, settings: Settings) -> str:
    """The Elasticsearch CA (PEM) that API-created data sources trust; public, so plain config."""
    value = config.get(ELASTICSEARCH_CA_CONFIG)
    if not value or "BEGIN CERTIFICATE" not in value:
        ns, secret = settings.cluster.namespace, settings.cluster.es_tls_secret
        raise SettingsError(
            settings.env, ELASTICSEARCH_CA_CONFIG,
            "missing or not a PEM certificate; grafana.delivery: provider sends it to Grafana; set with: "
            f"kubectl get secret {secret} -n {ns} -o jsonpath='{{.data.ca\\.crt}}' | base64 -d "
            f"| pulumi config set {ELASTICSEARCH_CA_CONFIG} -s {settings.env}",
        )
    return value


def grafana_content(
    config: pulumi.Config, settings: Settings, secrets: dict[str, pulumi.Output[str]],
    artifacts: dict[str, str], components: list[MonitoringService],
) -> GrafanaContent:
    """Content through the API, once the Grafana we deploy (if any) is up and reachable."""
    ca = read_ca_certificate(config, settings)
    spec = content(settings, dashboards.render.datasources_document(settings), artifacts)
    grafana = [c for c in components if c.component == "Grafana"]
    return GrafanaContent(spec, secrets, ca, pulumi.ResourceOptions(depends_on=grafana))


def main() -> list[MonitoringService | GrafanaContent]:
    env = pulumi.get_stack()
    config = pulumi.Config(PROJECT)
    settings = read_settings(config, env)
    artifacts = upstream_artifacts(settings)
    secrets = read_secrets(config, env, required_secret_keys(settings, artifacts), settings)
    services = build_services(settings, secrets, artifacts)
    namespace = MonitoringService(services[0])
    components = [namespace, *(MonitoringService(s, pulumi.ResourceOptions(depends_on=[namespace])) for s in services[1:])]
    content_resources = [grafana_content(config, settings, secrets, artifacts, components)] if settings.grafana.uses_provider else []
    for name, url in endpoints(settings).items():
        pulumi.export(name, url)
    pulumi.export("namespace", settings.cluster.namespace)
    return [*components, *content_resources]
