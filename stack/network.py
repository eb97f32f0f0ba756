"""NetworkPolicies: deny everything in the namespace, then allow each service's real flows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stack.objects import PART_OF, App, Obj, Port, labels, meta, selector

ANYWHERE = "0.0.0.0/0"
#: The Kubernetes API server has no pod selector; reach it by port.
API_PORTS = (Port("https", 443), Port("apiserver", 6443))


@dataclass(frozen=True)
class Peer:
    """Exactly one of: a service of ours (by app name), a whole namespace, or a CIDR."""

    app: str | None = None
    namespace: str | None = None
    cidr: str | None = None

    def build(self) -> Obj:
        if self.app:
            return {"podSelector": {"matchLabels": selector(self.app)}}
        if self.namespace:
            return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": self.namespace}}}
        return {"ipBlock": {"cidr": self.cidr or ANYWHERE}}


@dataclass(frozen=True)
class Flow:
    peers: Sequence[Peer]
    ports: Sequence[Port]

    def build(self, direction: str) -> Obj:
        rule: Obj = {"from" if direction == "ingress" else "to": [p.build() for p in self.peers]}
        if self.ports:  # no ports: every port
            rule["ports"] = [{"port": p.port, "protocol": p.protocol} for p in self.ports]
        return rule


def apps(*names: str) -> list[Peer]:
    return [Peer(app=n) for n in names]


def anywhere() -> list[Peer]:
    return [Peer(cidr=ANYWHERE)]


def allow(app: App, ingress: Sequence[Flow] = (), egress: Sequence[Flow] = ()) -> Obj:
    spec: Obj = {"podSelector": {"matchLabels": app.selector}, "policyTypes": ["Ingress", "Egress"]}
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


def namespace_object(namespace: str, version: str) -> Obj:
    # Pod Security Admission: restricted everywhere except where a DaemonSet needs host access.
    lbls = {
        **labels(PART_OF, "namespace", version),
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta(namespace, None, lbls)}
