"""Scrape jobs over Kubernetes pods, defined once: the router's, each serving engine's, the DCGM exporter's.

A :class:`PodScrapeJob` says which pods (namespaces, pod labels, container port, path) and which
labels each target keeps; its relabelling steps come from ``alerts.relabel``. ``scrape_config`` turns
it into a ``prometheus.yml`` job (Kubernetes pod discovery, one target per pod, never a Service VIP),
``static_config`` into a job with a fixed address (the local stack, which has no cluster), and
``alerts.operator.pod_monitor`` into a Prometheus Operator PodMonitor with the same steps.

* ``llm-router``: the router's pods (``router.kubernetes``); targets keep ``namespace``, ``pod``,
  ``container``, ``node``.
* ``engine-<backend>``: one job per engine of ``engines`` (router backend -> engine pods). Targets keep
  ``namespace``, ``pod``, ``container``, ``node``, and get ``backend`` (and, for TGI, ``model_name``).
* ``dcgm-exporter``: the exporter's pods; targets keep ``node`` only and honour the series' own
  labels, because the exporter labels each GPU with the pod it is assigned to (``namespace``/``pod``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.definitions import ROUTER_JOB
from alerts.relabel import (
    META,
    POD_TARGET_LABELS,
    Relabel,
    pod_job_steps,
    pods_in_namespaces,
    pods_with_labels,
)
from foundation.engine_metrics import BACKEND_LABEL, MODEL_LABEL
from foundation.settings import Settings
from foundation.settings.engines import ENGINE_JOBS, PodTargets

DCGM_JOB = "dcgm-exporter"
__all__ = ["DCGM_JOB", "ENGINE_JOBS", "PodScrapeJob", "StaticTarget", "backend_jobs", "pod_jobs", "router_job",
           "shared_namespace_drops"]

NODE_LABEL: Mapping[str, str] = {"node": f"{META}pod_node_name"}


@dataclass(frozen=True)
class StaticTarget:
    """One pod of a pod job without a cluster (the local stack): where its series come from."""

    address: str
    metrics_path: str
    #: Stand-ins for the labels discovery would give (``pod``, ``namespace``, ``node``).
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodScrapeJob:
    name: str
    targets: PodTargets
    #: Labels each target keeps from its pod's metadata: label -> meta label.
    target_labels: Mapping[str, str] = field(default_factory=lambda: dict(POD_TARGET_LABELS))
    #: Fixed labels every series of the job gets.
    static_labels: Mapping[str, str] = field(default_factory=dict)
    #: Keep the series' own labels where they clash with the target's.
    honor_labels: bool = False

    @property
    def pod_labels(self) -> Mapping[str, str]:
        return self.targets.discovery.pod_labels

    @property
    def port(self) -> str | int:
        return self.targets.discovery.port

    @property
    def metrics_path(self) -> str:
        return self.targets.discovery.metrics_path

    def relabel_steps(self) -> list[Relabel]:
        """Written once (``alerts.relabel``): the ``prometheus.yml`` job and the PodMonitor both use them."""
        return pod_job_steps(self.pod_labels, self.port, self.target_labels, self.static_labels)

    def drop_from_shared_namespaces(self) -> Relabel:
        """Drop this job's pods from a job that also discovers their namespaces (``kubernetes-pods``).

        The router's pods by their labels in any namespace, the others in their own namespaces only.
        """
        if self.name == ROUTER_JOB:
            return pods_with_labels(self.pod_labels, "drop")
        return pods_in_namespaces(self.targets.namespaces, self.pod_labels, "drop")

    def _common(self, scrape: Mapping[str, Any]) -> dict[str, Any]:
        job: dict[str, Any] = {"job_name": self.name, **scrape}
        if self.honor_labels:
            job["honor_labels"] = True
        return job

    def scrape_config(self, **scrape: Any) -> dict[str, Any]:
        return {
            **self._common(scrape),
            "metrics_path": self.metrics_path,
            "kubernetes_sd_configs": [{
                "role": "pod",
                "namespaces": {"names": list(self.targets.namespaces)},
                # The API server filters by label: Prometheus watches these pods only.
                "selectors": [{"role": "pod", "label": ",".join(f"{k}={v}" for k, v in self.pod_labels.items())}],
            }],
            "relabel_configs": [r.prometheus() for r in self.relabel_steps()],
        }

    def static_config(self, targets: Sequence[StaticTarget], **scrape: Any) -> dict[str, Any]:
        """One static target per pod stand-in (each its own path: ``__metrics_path__``)."""
        def labels(t: StaticTarget) -> dict[str, str]:
            return dict(sorted({**t.labels, **self.static_labels, "__metrics_path__": t.metrics_path}.items()))

        return {**self._common(scrape), "static_configs": [{"targets": [t.address], "labels": labels(t)}
                                                           for t in targets]}


def engine_jobs(settings: Settings) -> list[PodScrapeJob]:
    out = []
    for engine in settings.engines.engines:
        static = {BACKEND_LABEL: engine.name, **({MODEL_LABEL: engine.model_name} if engine.model_name else {})}
        out.append(PodScrapeJob(engine.job, engine.targets, static_labels=static))
    return out


def dcgm_job(settings: Settings) -> PodScrapeJob | None:
    targets = settings.dcgm_targets
    if targets is None:
        return None
    return PodScrapeJob(DCGM_JOB, targets, target_labels=dict(NODE_LABEL), honor_labels=True)


def router_job(settings: Settings) -> PodScrapeJob | None:
    """The router's pods (``router.kubernetes``), or None when the env scrapes static targets."""
    d = settings.router.kubernetes
    return PodScrapeJob(ROUTER_JOB, PodTargets(settings.router.pod_namespaces, d)) if d is not None else None


def pod_jobs(settings: Settings) -> list[PodScrapeJob]:
    """Every job over pods of its own: the router's (when discovered), the engines', the DCGM exporter's."""
    router = router_job(settings)
    return [*([router] if router else []), *backend_jobs(settings)]


def shared_namespace_drops(namespaces: Sequence[str], jobs: Sequence[PodScrapeJob]) -> list[Relabel]:
    """For the annotated-pods job over ``namespaces``: drop the pods of every job that shares them,
    else they would be scraped twice and double every sum."""
    return [job.drop_from_shared_namespaces() for job in jobs if set(job.targets.namespaces) & set(namespaces)]


def backend_jobs(settings: Settings) -> list[PodScrapeJob]:
    """The engines' jobs, then the DCGM exporter's: every pod job besides the router's."""
    dcgm = dcgm_job(settings)
    return [*engine_jobs(settings), *([dcgm] if dcgm else [])]

