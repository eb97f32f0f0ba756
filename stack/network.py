"""NetworkPolicies: deny everything in each namespace, then allow each service's real flows.

``stack/flows.py`` is the table of who may reach what; tests check every rendered policy against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from foundation.settings.operator import OperatorSettings
from stack.objects import PART_OF, App, Obj, Port, labels, meta, selector

ANYWHERE = "0.0.0.0/0"
#: The Kubernetes API server has no pod selector; reach it by port.
API_PORTS = (Port("https", 443), Port("apiserver", 6443))


@dataclass(frozen=True)
class Peer:
    """A service of ours (by app name; in another namespace when both are set), a whole namespace, pods of
    a namespace by their labels (``pods``: pods outside the stack, such as engines), or a CIDR."""

    app: str | None = None
    namespace: str | None = None
    cidr: str | None = None
    #: Pods of someone else's (engines, the cluster's Prometheus), by their own labels.
    pods: tuple[tuple[str, str], ...] = ()

    def build(self) -> Obj:
        out: Obj = {}
        if self.namespace:
            out["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}}
        if self.app:
            out["podSelector"] = {"matchLabels": selector(self.app)}
        elif self.pods:
            out["podSelector"] = {"matchLabels": dict(self.pods)}
        return out or {"ipBlock": {"cidr": self.cidr or ANYWHERE}}


@dataclass(frozen=True)
class Flow:
    peers: Sequence[Peer]
    ports: Sequence[Port]

    def build(self, direction: str) -> Obj:
        rule: Obj = {"from" if direction == "ingress" else "to": [p.build() for p in self.peers]}
        if self.ports:  # no ports: every port
            rule["ports"] = [{"port": p.port, "protocol": p.protocol} for p in self.ports]
        return rule


def ingress_controller(app: App, hosts: dict[str, str], namespace: str) -> list[Peer]:
    """The ingress controller's namespace, only for a service that has an Ingress."""
    return [Peer(namespace=namespace)] if app.name in hosts else []


def apps(*names: str) -> list[Peer]:
    return [Peer(app=n) for n in names]


def prometheus(namespace: str, operator: OperatorSettings | None) -> Peer:
    """The Prometheus that scrapes and queries: ours (in ``namespace``), or in operator mode the cluster's pods."""
    if operator is None:
        return Peer(app="prometheus", namespace=namespace)
    return Peer(namespace=operator.namespace, pods=tuple(operator.prometheus_pod_labels.items()))


def anywhere() -> list[Peer]:
    return [Peer(cidr=ANYWHERE)]


def allow(app: App, ingress: Sequence[Flow] = (), egress: Sequence[Flow] = ()) -> Obj:
    spec: Obj = {"podSelector": {"matchLabels": app.selector}, "policyTypes": ["Ingress", "Egress"]}
    # A rule with an empty peer list would allow every source: flows without peers are dropped.
    ingress, egress = [f for f in ingress if f.peers], [f for f in egress if f.peers]
    if ingress:
        spec["ingress"] = [f.build("ingress") for f in ingress]
    if egress:
        spec["egress"] = [f.build("egress") for f in egress]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": app.meta(), "spec": spec}


def namespace_baseline(namespace: str, version: str) -> list[Obj]:
    """Default deny for every pod, plus DNS for every pod (all services resolve names)."""
    lbls = labels("network-policy", "network", version)
    deny = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": meta("default-deny-all", namespace, lbls),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    dns = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": meta("allow-dns", namespace, lbls),
        "spec": {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{
                "to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
            }],
        },
    }
    return [deny, dns]


#: Pod Security Admission label -> level, per kind of namespace.
RESTRICTED = {"enforce": "restricted", "warn": "restricted", "audit": "restricted"}
#: Host network, host PID and hostPath for node agents; the audit log still names each pod that needs it.
PRIVILEGED = {"enforce": "privileged", "audit": "baseline"}


def namespace_object(namespace: str, version: str, levels: dict[str, str]) -> Obj:
    lbls = {**labels(PART_OF, "namespace", version),
            **{f"pod-security.kubernetes.io/{mode}": level for mode, level in levels.items()}}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace, None, lbls)}
