"""Relabelling steps written once and emitted in both dialects that consume them.

The standalone ``prometheus.yml`` and the Prometheus Operator's PodMonitors select and label the
same Kubernetes pod targets. Each step is a :class:`Relabel`; ``prometheus()`` gives a
``relabel_configs`` entry (snake_case), ``operator()`` a PodMonitor ``relabelings`` entry
(camelCase), so a job and its PodMonitor cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

META = "__meta_kubernetes_"
POD_ANNOTATION = f"{META}pod_annotation_prometheus_io_"
#: Labels a router pod target keeps: label -> the discovery meta label it comes from.
POD_TARGET_LABELS = {"namespace": f"{META}namespace", "pod": f"{META}pod_name",
                     "container": f"{META}pod_container_name", "node": f"{META}pod_node_name"}
#: Pods that have finished (evicted, completed) are no targets: they would read as down forever.
FINISHED_PHASES = "Succeeded|Failed"


@dataclass(frozen=True)
class Relabel:
    action: str
    source_labels: tuple[str, ...] = ()
    regex: str | None = None
    target_label: str | None = None
    replacement: str | None = None

    def _fields(self) -> list[tuple[str, str, Any]]:
        """(prometheus.yml key, PodMonitor key, value) of every field set."""
        fields = [("source_labels", "sourceLabels", list(self.source_labels) or None), ("action", "action", self.action),
                  ("regex", "regex", self.regex), ("target_label", "targetLabel", self.target_label),
                  ("replacement", "replacement", self.replacement)]
        return [f for f in fields if f[2] is not None]

    def prometheus(self) -> dict[str, Any]:
        return {key: value for key, _, value in self._fields()}

    def operator(self) -> dict[str, Any]:
        return {key: value for _, key, value in self._fields()}


def meta_pod_label(key: str) -> str:
    """The discovery meta label of a pod label key (Prometheus replaces every other character by ``_``)."""
    return f"{META}pod_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def literal(value: str) -> str:
    """A regex matching exactly ``value`` (Kubernetes label values: letters, digits, ``-_.``)."""
    return value.replace(".", "\\.")


def pods_with_labels(pod_labels: Mapping[str, str], action: str) -> Relabel:
    """``keep`` or ``drop`` the targets of pods that carry every one of ``pod_labels``."""
    return Relabel(action, tuple(meta_pod_label(k) for k in pod_labels),
                   ";".join(literal(v) for v in pod_labels.values()))


def port_filter(port: str | int) -> Relabel:
    """One target per pod: the container port that serves metrics (by name or number)."""
    meta = f"{META}pod_container_port_{'name' if isinstance(port, str) else 'number'}"
    return Relabel("keep", (meta,), literal(str(port)))


def pods_in_namespaces(namespaces: Sequence[str], pod_labels: Mapping[str, str], action: str) -> Relabel:
    """Like ``pods_with_labels``, for pods of ``namespaces`` only (another job's pods, seen from a job sharing them)."""
    rule = pods_with_labels(pod_labels, action)
    return Relabel(action, (f"{META}namespace", *rule.source_labels),
                   f"({'|'.join(literal(n) for n in namespaces)});{rule.regex}")


def pod_job_steps(pod_labels: Mapping[str, str], port: str | int,
                  target_labels: Mapping[str, str] = POD_TARGET_LABELS,
                  static_labels: Mapping[str, str] | None = None) -> list[Relabel]:
    """A pod job's relabelling: its pods (every label, literally), its metrics port, the labels each
    target keeps from its pod (``target_labels``: label -> meta label) and fixed ones (``static_labels``)."""
    return [pods_with_labels(pod_labels, "keep"), port_filter(port), *pod_target_steps(target_labels),
            *(Relabel("replace", target_label=label, replacement=value)
              for label, value in sorted((static_labels or {}).items()))]


def router_pod_steps(pod_labels: Mapping[str, str], port: str | int) -> list[Relabel]:
    """The router job's relabelling: its pods (every label, literally), its metrics port, their identity.

    A PodMonitor gets the same steps although the operator derives keep rules from its selector and
    port: the operator's label rule is a regex of the value as given (``llm.router`` would also keep
    ``llmXrouter``), ours matches it literally.
    """
    return pod_job_steps(pod_labels, port)


def pod_target_steps(target_labels: Mapping[str, str] = POD_TARGET_LABELS) -> list[Relabel]:
    """After selection: no init containers, no finished pods; the pod's identity kept as labels."""
    return [
        Relabel("drop", (f"{META}pod_container_init",), "true"),
        Relabel("drop", (f"{META}pod_phase",), FINISHED_PHASES),
        *(Relabel("replace", (meta,), target_label=label) for label, meta in target_labels.items()),
    ]


def annotated_pod_steps() -> list[Relabel]:
    """Pods annotated ``prometheus.io/scrape: "true"``, on their annotated path and port."""
    return [
        Relabel("keep", (f"{POD_ANNOTATION}scrape",), "true"),
        Relabel("drop", (f"{META}pod_phase",), FINISHED_PHASES),
        Relabel("replace", (f"{POD_ANNOTATION}path",), "(.+)", "__metrics_path__"),
        Relabel("replace", ("__address__", f"{POD_ANNOTATION}port"), "([^:]+)(?::\\d+)?;(\\d+)", "__address__",
                "$1:$2"),
        # Dashboards and alerts group by namespace/pod; keep them as labels.
        Relabel("replace", (f"{META}namespace",), target_label="namespace"),
        Relabel("replace", (f"{META}pod_name",), target_label="pod"),
    ]
