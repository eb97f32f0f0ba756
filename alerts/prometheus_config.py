"""``prometheus.yml`` as a dict: the seed's scrape jobs, external labels per env, rules, Alertmanager.

``prometheus_config(settings, ...)`` builds the env's config. Keyword overrides exist for
other deployments of the same config (the local live stack, tests)::

    prometheus_config(
        settings,
        router_targets=["127.0.0.1:8081"],      # job "llm-router" static targets
        alertmanagers=["127.0.0.1:9093"],       # Alertmanager addresses (host:port)
        rule_files=["/tmp/x/rules/*.yml"],      # paths or globs, relative to the config file
        node_exporter_targets=[],               # [] drops the node-exporter job
        kubernetes=False,                       # drop the kubernetes-pods discovery job
        self_target="127.0.0.1:9090",           # the "prometheus" job's own address
        interval="1s",                          # global scrape + evaluation interval
    )

Jobs: ``llm-router`` (static targets, the env's scrape interval/timeout),
``kubernetes-pods`` (pods annotated ``prometheus.io/scrape: "true"``, with
``prometheus.io/path`` and ``prometheus.io/port`` relabelling), ``node-exporter`` and
``prometheus`` (self). External labels: ``env`` and ``cluster``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from alerts.definitions import ROUTER_JOB
from foundation.settings import Settings

DEFAULT_ALERTMANAGERS = ("alertmanager:9093",)
DEFAULT_NODE_EXPORTERS = ("node-exporter:9100",)
DEFAULT_RULE_FILES = ("rules/*.yml",)
DEFAULT_INTERVAL = "15s"
#: External label that tells the replicas of an HA Prometheus pair apart.
REPLICA_LABEL = "prometheus_replica"


def _pod_discovery(namespaces: Sequence[str]) -> dict[str, Any]:
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    return {
        "job_name": "kubernetes-pods",
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": list(namespaces)}}],
        "relabel_configs": [
            {"source_labels": [f"{annotation}scrape"], "action": "keep", "regex": "true"},
            {"source_labels": [f"{annotation}path"], "action": "replace", "target_label": "__metrics_path__",
             "regex": "(.+)"},
            {"source_labels": ["__address__", f"{annotation}port"], "action": "replace",
             "regex": "([^:]+)(?::\\d+)?;(\\d+)", "replacement": "$1:$2", "target_label": "__address__"},
            # Dashboards and alerts group by namespace/pod; keep them as labels.
            {"source_labels": ["__meta_kubernetes_namespace"], "action": "replace", "target_label": "namespace"},
            {"source_labels": ["__meta_kubernetes_pod_name"], "action": "replace", "target_label": "pod"},
        ],
    }


def _static(job: str, targets: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"job_name": job, **extra, "static_configs": [{"targets": list(targets)}]}


def prometheus_config(
    settings: Settings,
    *,
    router_targets: Sequence[str] | None = None,
    alertmanagers: Sequence[str] | None = None,
    rule_files: Sequence[str] | None = None,
    node_exporter_targets: Sequence[str] | None = None,
    kubernetes: bool = True,
    self_target: str = "localhost:9090",
    interval: str | None = None,
) -> dict[str, Any]:
    r = settings.router
    router_interval = interval or r.scrape_interval
    router_timeout = r.scrape_timeout if interval is None else interval
    jobs = [
        _static(ROUTER_JOB, router_targets if router_targets is not None else r.targets,
                scrape_interval=router_interval, scrape_timeout=router_timeout, metrics_path="/metrics"),
    ]
    if kubernetes:
        jobs.append(_pod_discovery(r.pod_namespaces))
    node_exporters = DEFAULT_NODE_EXPORTERS if node_exporter_targets is None else node_exporter_targets
    if node_exporters:
        jobs.append(_static("node-exporter", node_exporters))
    jobs.append(_static("prometheus", [self_target]))
    return {
        "global": {
            "scrape_interval": interval or DEFAULT_INTERVAL,
            "evaluation_interval": interval or DEFAULT_INTERVAL,
            "external_labels": {"cluster": f"llm-router-{settings.env}", "env": settings.env},
        },
        "rule_files": list(rule_files if rule_files is not None else DEFAULT_RULE_FILES),
        "alerting": {"alertmanagers": [{"static_configs": [
            {"targets": list(alertmanagers if alertmanagers is not None else DEFAULT_ALERTMANAGERS)}]}]},
        "scrape_configs": jobs,
    }


def without_kubernetes_discovery(config: dict[str, Any]) -> dict[str, Any]:
    """A copy without Kubernetes-discovered jobs, for ``promtool check config`` builds that lack
    Kubernetes service discovery (Debian's promtool 2.42). Check those jobs' structure separately."""
    jobs = [j for j in config.get("scrape_configs", []) if "kubernetes_sd_configs" not in j]
    return {**config, "scrape_configs": jobs}


def as_replica(config: dict[str, Any], replica: str) -> dict[str, Any]:
    """``config`` for one replica of an HA pair (same rules and targets).

    Its own ``prometheus_replica`` external label keeps the replicas' series apart (Thanos
    Querier deduplicates on it); alerts drop it, so both replicas send Alertmanager the same
    alert and Alertmanager notifies once.
    """
    out = copy.deepcopy(config)
    out.setdefault("global", {}).setdefault("external_labels", {})[REPLICA_LABEL] = replica
    alerting = out.setdefault("alerting", {})
    alerting["alert_relabel_configs"] = [*alerting.get("alert_relabel_configs", []),
                                         {"action": "labeldrop", "regex": REPLICA_LABEL}]
    return out
