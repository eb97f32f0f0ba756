"""The Pulumi program: settings and secrets from stack config, then one component per service."""

from __future__ import annotations

import pulumi

from foundation.settings import PROJECT, SECTIONS, Settings, SettingsError
from stack.build import build_services, endpoints, upstream_artifacts
from stack.components import MonitoringService
from stack.credentials import required_secret_keys, secret_problem


def read_settings(config: pulumi.Config, env: str) -> Settings:
    raw = {section: value for section in sorted(SECTIONS) if (value := config.get_object(section)) is not None}
    return Settings.from_config(env, raw)


def read_secrets(config: pulumi.Config, env: str, keys: list[str]) -> dict[str, pulumi.Output[str]]:
    missing = [key for key in keys if config.get_secret(key) is None]
    if missing:
        commands = "; ".join(f"pulumi config set --secret {key} -s {env}" for key in missing)
        raise SettingsError(env, missing[0], f"missing Pulumi secret(s) {', '.join(missing)}; set with: {commands}")
    return {key: config.require_secret(key).apply(lambda v, key=key: _checked(env, key, v)) for key in keys}


def _checked(env: str, key: str, value: str) -> str:
    problem = secret_problem(key, value)
    if problem:
        raise SettingsError(env, key, f"Pulumi secret {problem}")
    return value


def main() -> list[MonitoringService]:
    env = pulumi.get_stack()
    config = pulumi.Config(PROJECT)
    settings = read_settings(config, env)
    artifacts = upstream_artifacts(settings)
    secrets = read_secrets(config, env, required_secret_keys(artifacts))
    services = build_services(settings, secrets, artifacts)
    namespace = MonitoringService(services[0])
    components = [namespace, *(MonitoringService(s, pulumi.ResourceOptions(depends_on=[namespace])) for s in services[1:])]
    for name, url in endpoints(settings).items():
        pulumi.export(name, url)
    pulumi.export("namespace", settings.cluster.namespace)
    return components
