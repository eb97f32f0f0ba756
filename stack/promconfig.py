"""Adapt the rendered ``prometheus.yml`` to running inside the cluster (an overlay, not a copy).

The alerts renderer owns scrape jobs, rules and external labels. In Kubernetes four things
differ: rule files live where the rules ConfigMap is mounted, Alertmanager replicas are
addressed one by one (HA Prometheus must notify every replica), each Prometheus replica
gets its own external label so their series stay distinct (Alertmanager deduplicates
because the label is dropped from alerts), and the in-cluster exporters are found by DNS;
node-exporter sits behind kube-rbac-proxy, so its job speaks TLS and sends Prometheus'
service-account token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from alerts.prometheus_config import REPLICA_LABEL, as_replica  # noqa: F401 - REPLICA_LABEL is re-exported

CONFIG_DIR = "/etc/prometheus/config"
RULES_DIR = "/etc/prometheus/rules"
#: ``ca.crt`` of the internal CA (the issuer of every internal certificate).
CA_DIR = "/etc/prometheus/ca"
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
NODE_EXPORTER = "node-exporter"
#: Jobs whose targets are in-cluster exporters: job name -> (headless Service, port).
IN_CLUSTER_JOBS = {NODE_EXPORTER: ("node-exporter", 9100), "kube-state-metrics": ("kube-state-metrics", 8080)}


def node_exporter_server_name(node_namespace: str) -> str:
    """The name kube-rbac-proxy's certificate carries (targets are node IPs, so it is set explicitly)."""
    return f"node-exporter.{node_namespace}.svc"


def _dns_job(name: str, service: str, namespace: str, port: int, scrape_interval: str | None) -> dict[str, Any]:
    """One target per pod via the headless Service's DNS records (no Kubernetes SD needed)."""
    job: dict[str, Any] = {
        "job_name": name,
        "dns_sd_configs": [{"names": [f"{service}.{namespace}.svc"], "type": "A", "port": port}],
    }
    if scrape_interval:
        job["scrape_interval"] = scrape_interval
    return job


def _behind_rbac_proxy(job: dict[str, Any], node_namespace: str) -> dict[str, Any]:
    """kube-rbac-proxy: TLS verified against the internal CA, Prometheus' token as bearer credentials."""
    return {
        **job, "scheme": "https",
        "authorization": {"type": "Bearer", "credentials_file": SERVICE_ACCOUNT_TOKEN},
        "tls_config": {"ca_file": f"{CA_DIR}/ca.crt", "server_name": node_exporter_server_name(node_namespace)},
    }


def in_cluster(prometheus_yml: str, namespace: str, node_namespace: str, alertmanagers: Sequence[str]) -> str:
    doc: dict[str, Any] = as_replica(yaml.safe_load(prometheus_yml) or {}, "${POD_NAME}")  # expand-external-labels
    doc["rule_files"] = [f"{RULES_DIR}/*.yml"]
    doc["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": list(alertmanagers)}]}]
    jobs = doc.setdefault("scrape_configs", [])
    present = {j.get("job_name"): i for i, j in enumerate(jobs)}
    for name, (service, port) in IN_CLUSTER_JOBS.items():
        old = jobs[present[name]] if name in present else {}
        if name == NODE_EXPORTER:
            job = _behind_rbac_proxy(_dns_job(name, service, node_namespace, port, old.get("scrape_interval")), node_namespace)
        else:
            job = _dns_job(name, service, namespace, port, old.get("scrape_interval"))
        if name in present:
            jobs[present[name]] = job
        else:
            jobs.append(job)
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)
