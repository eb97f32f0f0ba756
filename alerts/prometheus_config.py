"""``prometheus.yml`` as a dict: the seed's scrape jobs, external labels per env, rules, Alertmanager.

``prometheus_config(settings, ...)`` builds the env's config. Keyword overrides exist for
other deployments of the same config (the local live stack, tests)::

    prometheus_config(
        settings,
        router_targets=["127.0.0.1:8081"],      # job "llm-router" scrapes these static targets
        alertmanagers=["127.0.0.1:9093"],       # Alertmanager addresses (host:port)
        rule_files=["/tmp/x/rules/*.yml"],      # paths or globs, relative to the config file
        node_exporter_targets=[],               # [] drops the node-exporter job
        kubernetes=False,                       # drop the kubernetes-pods discovery job
        self_target="127.0.0.1:9090",           # the "prometheus" job's own address
        interval="1s",                          # global scrape + evaluation interval
        pod_job_targets={"engine-vllm": [StaticTarget("127.0.0.1:8081", "/engines/vllm/metrics")]},
    )                                           # pod jobs (engines, DCGM) at fixed addresses, the others left out

Jobs: ``llm-router`` (every router pod found by Kubernetes service discovery when the env
sets ``router.kubernetes``, else the env's static targets; the env's scrape interval/timeout),
``kubernetes-pods`` (pods annotated ``prometheus.io/scrape: "true"``, with
``prometheus.io/path`` and ``prometheus.io/port`` relabelling, *minus the router's pods*: no
pod is scraped by two jobs, which would double every ``sum``), ``node-exporter`` and
``prometheus`` (self), and the engines' and the DCGM exporter's pod jobs (``alerts.scrape_jobs``).
External labels: ``env`` and ``cluster``.

Router pod targets keep ``namespace``, ``pod``, ``container`` and ``node`` as labels (what
the per-pod alerts print and what joins router pods to kube-state-metrics series); ``instance``
is the pod's ``IP:port``. Pods that have finished (``Succeeded``/``Failed``, e.g. evicted) are
targets of neither job: they would read as down forever. The relabelling steps live in
``alerts.relabel``, which also writes them into the Prometheus Operator's PodMonitors.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from alerts.definitions import ROUTER_JOB
from alerts.relabel import annotated_pod_steps
from alerts.scrape_jobs import PodScrapeJob, StaticTarget, backend_jobs, router_job, shared_namespace_drops
from foundation.settings import Settings

DEFAULT_ALERTMANAGERS = ("alertmanager:9093",)
DEFAULT_NODE_EXPORTERS = ("node-exporter:9100",)
DEFAULT_RULE_FILES = ("rules/*.yml",)
DEFAULT_INTERVAL = "15s"
#: External label that tells the replicas of an HA Prometheus pair apart.
REPLICA_LABEL = "prometheus_replica"
POD_JOB = "kubernetes-pods"


def _pod_discovery(namespaces: Sequence[str], own: Sequence[PodScrapeJob]) -> dict[str, Any]:
    # Pods with a job of their own (router, engines, DCGM) are dropped: no pod is scraped twice.
    return {
        "job_name": POD_JOB,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": list(namespaces)}}],
        "relabel_configs": [r.prometheus() for r in (*shared_namespace_drops(namespaces, own), *annotated_pod_steps())],
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
    pod_job_targets: Mapping[str, Sequence[StaticTarget]] | None = None,
) -> dict[str, Any]:
    r = settings.router
    scrape = {"scrape_interval": interval or r.scrape_interval,
              "scrape_timeout": r.scrape_timeout if interval is None else interval}
    router = router_job(settings)
    if router_targets is None and router is not None:
        jobs = [router.scrape_config(**scrape)]
    else:
        targets = router_targets if router_targets is not None else r.targets
        jobs = [_static(ROUTER_JOB, targets, **scrape, metrics_path="/metrics")]
    others = backend_jobs(settings)
    if pod_job_targets is not None:  # no cluster: the jobs given a fixed address, the others left out
        jobs += [job.static_config(pod_job_targets[job.name], **scrape) for job in others
                 if job.name in pod_job_targets]
    elif kubernetes:
        jobs += [job.scrape_config(**scrape) for job in others]
    if kubernetes:
        jobs.append(_pod_discovery(r.pod_namespaces, [*([router] if router else []), *others]))
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


def with_file_discovery(config: dict[str, Any], files: Sequence[str] = ("kubernetes-targets.json",)
                        ) -> dict[str, Any]:
    """A copy whose jobs read their targets from ``files`` (file_sd) instead of the Kubernetes API.

    Debian's promtool 2.42 is built without Kubernetes discovery; with this stand-in promtool still
    checks every other field of those jobs (relabel regexes included), and ``promtool check
    service-discovery`` runs their relabelling on targets written like Kubernetes' (the same
    ``__meta_kubernetes_*`` labels), which is how the tests check what each relabel step produces.
    """
    def swap(job: dict[str, Any]) -> dict[str, Any]:
        if "kubernetes_sd_configs" not in job:
            return job
        rest = {k: v for k, v in job.items() if k != "kubernetes_sd_configs"}
        return {**rest, "file_sd_configs": [{"files": list(files)}]}

    return {**config, "scrape_configs": [swap(j) for j in config.get("scrape_configs", [])]}


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
