"""One typed, validated settings object per environment, read from ``Pulumi.<env>.yaml``.

The Pulumi program and ``llmmon render`` both build their artifacts from this object, so
a deploy and a local render can never disagree about thresholds, targets or sizes.
Secret values are never read here: only the names of the ``secure:`` keys are recorded,
and the stack layer fetches the values with ``pulumi.Config.require_secret``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from foundation.settings.alerting import AlertingSettings
from foundation.settings.cluster import ClusterSettings
from foundation.settings.engines import DCGM_PORT, DcgmSettings, EnginesSettings, PodTargets
from foundation.settings.errors import SettingsError
from foundation.settings.grafana import GrafanaSettings
from foundation.settings.logs import LoggingSettings
from foundation.settings.metrics_store import THANOS_WORKLOADS, MetricsStoreSettings
from foundation.settings.reader import Reader
from foundation.settings.router import PodDiscovery, RouterSettings

PROJECT = "llm-router-monitoring"
PROJECT_DIR = Path(__file__).resolve().parents[2]
SECTIONS = frozenset({"router", "alerting", "cluster", "logging", "grafana", "engines", "dcgm", "metricsStore"})

__all__ = ["Settings", "SettingsError", "load_settings", "available_envs", "PROJECT", "PROJECT_DIR"]


@dataclass(frozen=True)
class Settings:
    env: str
    router: RouterSettings
    alerting: AlertingSettings
    cluster: ClusterSettings
    logging: LoggingSettings
    grafana: GrafanaSettings
    #: Names (without project prefix) of the keys given as Pulumi secrets.
    secret_keys: frozenset[str]
    #: The serving engines behind the router's backends, and the GPUs' DCGM exporter.
    engines: EnginesSettings = EnginesSettings()
    dcgm: DcgmSettings = DcgmSettings()
    #: Long-term metrics: Prometheus alone, Thanos, or remote write.
    metrics_store: MetricsStoreSettings = field(default_factory=MetricsStoreSettings)

    @classmethod
    def from_config(cls, env: str, config: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> Settings:
        """``config``: this project's keys with the ``llm-router-monitoring:`` prefix removed."""
        r = Reader(env, {k: v for k, v in config.items() if k not in secret_keys})
        r.reject_unknown(SECTIONS)
        return cls(
            env=env,
            router=r.parse("router", RouterSettings.parse, required=True),
            alerting=r.parse("alerting", AlertingSettings.parse),
            cluster=r.parse("cluster", ClusterSettings.parse),
            logging=r.parse("logging", LoggingSettings.parse),
            grafana=r.parse("grafana", GrafanaSettings.parse),
            secret_keys=secret_keys,
            engines=r.parse("engines", EnginesSettings.parse),
            dcgm=r.parse("dcgm", DcgmSettings.parse),
            metrics_store=r.parse("metricsStore", MetricsStoreSettings.parse),
        )._checked(config.get("cluster"))

    def _checked(self, cluster_config: Any = None) -> Settings:
        """Rules across sections (``cluster_config``: the raw ``cluster`` section, for keys given in vain)."""
        self._check_engines()
        g, workload = self.grafana, self.cluster.workloads["grafana"]
        if g.uses_provider and g.deploys_grafana and not g.url and "grafana" not in self.cluster.ingress_hosts:
            raise SettingsError(self.env, "grafana.url", "missing; the provider reaches the in-cluster Grafana "
                                "through its ingress: set grafana.url or cluster.ingress.hosts.grafana")
        if g.deploys_grafana and g.database.shared and workload.storage is not None:
            raise SettingsError(self.env, "cluster.grafana.storage", "Grafana keeps its data in PostgreSQL "
                                "(grafana.database.type: postgres); a volume per replica would hold nothing: remove it")
        if g.deploys_grafana and not g.database.shared:
            # SQLite lives in the pod: several replicas would each have their own users, sessions
            # and alerting state, and content created through the API would vanish without a volume.
            if workload.replicas != 1:
                raise SettingsError(self.env, "cluster.grafana.replicas", f"expected 1 with SQLite (each replica "
                                    f"would have its own database: sessions and alerting state not shared), got "
                                    f"{workload.replicas}; set grafana.database.type: postgres for more")
            if g.uses_provider and workload.storage is None:
                raise SettingsError(self.env, "cluster.grafana.storage", "missing; grafana.delivery: provider keeps "
                                    "dashboards in Grafana's database, which needs a volume to survive restarts "
                                    "(or grafana.database.type: postgres)")
        c = self.cluster
        if c.operator is not None and self.router.kubernetes is None:
            raise SettingsError(self.env, "cluster.metricsBackend", "operator mode scrapes the router with a PodMonitor, "
                                "which needs router.kubernetes (pod discovery), not static router.targets")
        if c.operator is not None and self.metrics_store.mode != "local":
            # Sidecars and remote_write live in the Prometheus pod and its prometheus.yml, and in
            # operator mode both belong to the cluster's Prometheus resource, not to this stack.
            where = "spec.thanos (sidecars)" if self.metrics_store.thanos_enabled else "spec.remoteWrite"
            raise SettingsError(self.env, "metricsStore.mode", (
                f"expected local (or no metricsStore) with cluster.metricsBackend: operator, got "
                f"{self.metrics_store.mode}: the cluster's Prometheus is the operator's, so set {where} on its "
                "Prometheus resource and point cluster.operator.prometheusUrl at what Grafana should query "
                "(e.g. a Thanos Querier)"))
        if not self.metrics_store.thanos_enabled and isinstance(cluster_config, Mapping):
            # Sizing or pinning Thanos where none runs configures nothing (e.g. after a switch to
            # operator mode or back to local): say so rather than ignore it.
            images = cluster_config.get("images")
            given = [f"cluster.{k}" for k in THANOS_WORKLOADS if k in cluster_config]
            given += ["cluster.images.thanos"] if isinstance(images, Mapping) and "thanos" in images else []
            if given:
                raise SettingsError(self.env, given[0], f"only read with metricsStore.mode: thanos; this env has "
                                    f"mode: {self.metrics_store.mode} and deploys no Thanos: remove this key")
        return self

    def _check_engines(self) -> None:
        router = self.router
        pods = PodTargets(router.pod_namespaces, router.kubernetes) if router.kubernetes else None
        for engine in self.engines.engines:
            if engine.name not in router.backends:
                raise SettingsError(self.env, f"engines.{engine.name}", "an engine is named by the router backend it "
                                    f"serves; router.backends: {', '.join(router.backends) or 'none'}")
            if pods is not None and engine.targets.overlaps(pods):
                raise SettingsError(self.env, f"engines.{engine.name}.podLabels", "could select the router's pods "
                                    "(router.kubernetes.podLabels in a shared namespace): a pod is one job's target")

    @property
    def dcgm_targets(self) -> PodTargets | None:
        """The DCGM exporter's pods: the env's (scrape), or the stack's DaemonSet in the node agents' namespace."""
        d = self.dcgm
        if d.mode == "scrape":
            return d.targets
        if d.mode == "deploy":
            return deployed_dcgm_targets(self.cluster.node_namespace)
        return None

    @property
    def grafana_url(self) -> str:
        """Where the Grafana provider reaches Grafana (empty with provisioning delivery)."""
        g = self.grafana
        if not g.uses_provider:
            return ""
        return g.url or f"https://{self.cluster.ingress_hosts['grafana']}"


#: The stack's dcgm-exporter pods (``stack.services.gpus``): its app labels and its metrics port.
DCGM_APP = "dcgm-exporter"


def deployed_dcgm_targets(node_namespace: str) -> PodTargets:
    labels = {"app.kubernetes.io/instance": PROJECT, "app.kubernetes.io/name": DCGM_APP}
    return PodTargets((node_namespace,), PodDiscovery(MappingProxyType(labels), DCGM_PORT))


def available_envs(project_dir: Path = PROJECT_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def split_stack_file(env: str, document: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """This project's config keys (prefix removed) and the names of those that are secrets."""
    if not isinstance(document, Mapping) or not isinstance(document.get("config", {}), Mapping):
        raise SettingsError(env, "config", "Pulumi stack file must be a mapping with a 'config' mapping")
    config: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        namespace, _, name = str(key).partition(":")
        if namespace != PROJECT or not name:
            continue  # other providers' config (kubernetes:context, ...) is not ours
        if isinstance(value, Mapping) and set(value) == {"secure"}:
            secrets.add(name)
        config[name] = value
    return config, frozenset(secrets)


def load_settings(env: str, project_dir: Path = PROJECT_DIR) -> Settings:
    path = project_dir / f"Pulumi.{env}.yaml"
    if not path.is_file():
        envs = ", ".join(available_envs(project_dir)) or "none"
        raise SettingsError(env, "<stack>", f"no stack file {path.name}; known environments: {envs}")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SettingsError(env, "<stack>", f"{path.name} is not valid YAML: {exc}") from exc
    config, secrets = split_stack_file(env, document)
    return Settings.from_config(env, config, secrets)
