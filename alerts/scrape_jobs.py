"""Scrape jobs over Kubernetes pods, defined once: the router's, each serving engine's, the DCGM exporter's.

A :class:`PodScrapeJob` says which pods (namespaces, pod labels, container port, path) and which
labels each target keeps; ``scrape_config`` turns it into a ``prometheus.yml`` job (Kubernetes pod
discovery, one target per pod, never a Service VIP) and ``static_config`` into a job with a fixed
address (the local stack, which has no cluster). A Prometheus Operator PodMonitor can be built from
the same fields (``targets.namespaces`` -> namespaceSelector, ``pod_labels`` -> selector, ``port``,
``metrics_path``, ``target_labels``/``static_labels`` -> relabelings, ``honor_labels``).

* ``engine-<backend>``: one job per engine of ``engines`` (router backend -> engine pods). Targets keep
  ``namespace``, ``pod``, ``container``, ``node``, and get ``backend`` (and, for TGI, ``model_name``).
* ``dcgm-exporter``: the exporter's pods; targets keep ``node`` only and honour the series' own
  labels, because the exporter labels each GPU with the pod it is assigned to (``namespace``/``pod``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.engine_metrics import BACKEND_LABEL, MODEL_LABEL
from foundation.settings import Settings
from foundation.settings.engines import ENGINE_JOB_PREFIX, PodTargets

META = "__meta_kubernetes_"
DCGM_JOB = "dcgm-exporter"
#: Labels a pod target keeps: label -> the discovery meta label it comes from.
POD_TARGET_LABELS: Mapping[str, str] = {"namespace": f"{META}namespace", "pod": f"{META}pod_name",
                                        "container": f"{META}pod_container_name", "node": f"{META}pod_node_name"}
NODE_LABEL: Mapping[str, str] = {"node": f"{META}pod_node_name"}


def meta_pod_label(key: str) -> str:
    """The discovery meta label of a pod label key (Prometheus replaces every other character by ``_``)."""
    return f"{META}pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def literal(value: str) -> str:
    """A regex matching exactly ``value`` (Kubernetes label values: letters, digits, ``-_.``)."""
    return value.replace(".", "\\.")


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

    def selects(self, action: str) -> dict[str, Any]:
        """``keep`` or ``drop`` the targets of pods that carry every one of the job's pod labels."""
        return {"source_labels": [meta_pod_label(k) for k in self.pod_labels], "action": action,
                "regex": ";".join(literal(v) for v in self.pod_labels.values())}

    def selects_in_namespaces(self, action: str) -> dict[str, Any]:
        """Like ``selects``, restricted to the job's namespaces (for another job sharing them)."""
        rule = self.selects(action)
        namespaces = "|".join(self.targets.namespaces)
        return {**rule, "source_labels": [f"{META}namespace", *rule["source_labels"]],
                "regex": f"({namespaces});{rule['regex']}"}

    def _common(self, scrape: Mapping[str, Any]) -> dict[str, Any]:
        job: dict[str, Any] = {"job_name": self.name, **scrape}
        if self.honor_labels:
            job["honor_labels"] = True
        return job

    def scrape_config(self, **scrape: Any) -> dict[str, Any]:
        port_meta = f"{META}pod_container_port_{'name' if isinstance(self.port, str) else 'number'}"
        return {
            **self._common(scrape),
            "metrics_path": self.metrics_path,
            "kubernetes_sd_configs": [{
                "role": "pod",
                "namespaces": {"names": list(self.targets.namespaces)},
                # The API server filters by label: Prometheus watches these pods only.
                "selectors": [{"role": "pod", "label": ",".join(f"{k}={v}" for k, v in self.pod_labels.items())}],
            }],
            "relabel_configs": [
                self.selects("keep"),
                # One target per pod: the container port that serves metrics.
                {"source_labels": [port_meta], "action": "keep", "regex": literal(str(self.port))},
                {"source_labels": [f"{META}pod_container_init"], "action": "drop", "regex": "true"},
                # Finished pods (evicted, completed) would read as down forever.
                {"source_labels": [f"{META}pod_phase"], "action": "drop", "regex": "Succeeded|Failed"},
                *({"source_labels": [meta], "action": "replace", "target_label": label}
                  for label, meta in self.target_labels.items()),
                *({"action": "replace", "target_label": label, "replacement": value}
                  for label, value in sorted(self.static_labels.items())),
            ],
        }

    def static_config(self, targets: Sequence[StaticTarget], **scrape: Any) -> dict[str, Any]:
        """One static target per pod stand-in (each its own path: ``__metrics_path__``)."""
        def labels(t: StaticTarget) -> dict[str, str]:
            return dict(sorted({**t.labels, **self.static_labels, "__metrics_path__": t.metrics_path}.items()))

        return {**self._common(scrape), "static_configs": [{"targets": [t.address], "labels": labels(t)}
                                                           for t in targets]}


#: Matches the name of every engine's job.
ENGINE_JOBS = f"{ENGINE_JOB_PREFIX}.+"


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


def backend_jobs(settings: Settings) -> list[PodScrapeJob]:
    """The engines' jobs, then the DCGM exporter's: every pod job besides the router's."""
    dcgm = dcgm_job(settings)
    return [*engine_jobs(settings), *([dcgm] if dcgm else [])]

