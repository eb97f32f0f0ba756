"""The thin Pulumi layer: one ComponentResource per Service, one typed resource per object dict."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from stack.model import Service
from stack.objects import Obj

TYPE_PREFIX = "llm-router-monitoring:stack"

#: (apiVersion, kind) -> pulumi_kubernetes resource class.
KINDS: dict[tuple[str, str], type[pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
}
#: Jobs wait for Elasticsearch/Kibana to come up first.
SLOW_KINDS = {"Job": "20m", "StatefulSet": "20m"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resource_args(obj: Obj) -> dict[str, Any]:
    """Top-level fields as the resource class's keyword arguments; nested dicts keep wire names."""
    return {_snake(key): value for key, value in obj.items() if key not in ("apiVersion", "kind")}


def logical_names(objects: list[Obj]) -> list[str]:
    """Pulumi resource names, unique per kind: metadata.name, namespace-prefixed for a repeat.

    The namespace baseline (default-deny, DNS) exists in both namespaces under one component;
    the first occurrence keeps the bare name so existing resources keep their URNs.
    """
    seen: set[tuple[str, str]] = set()
    out = []
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        out.append(f"{obj['metadata'].get('namespace')}-{key[1]}" if key in seen else key[1])
        seen.add(key)
    return out


#: Custom resources (Prometheus Operator objects) are created untyped, with their group's apiVersion.
CUSTOM_GROUPS = ("monitoring.coreos.com/",)


def create(obj: Obj, opts: pulumi.ResourceOptions, name: str | None = None) -> pulumi.CustomResource:
    if obj["apiVersion"].startswith(CUSTOM_GROUPS):
        return k8s.apiextensions.CustomResource(
            name or obj["metadata"]["name"], api_version=obj["apiVersion"], kind=obj["kind"],
            metadata=obj["metadata"], spec=obj["spec"], opts=opts)
    cls = KINDS.get((obj["apiVersion"], obj["kind"]))
    if cls is None:
        raise ValueError(f"no pulumi_kubernetes class for {obj['apiVersion']} {obj['kind']}")
    timeout = SLOW_KINDS.get(obj["kind"])
    if timeout:
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create=timeout, update=timeout)))
    return cls(name or obj["metadata"]["name"], **resource_args(obj), opts=opts)


class MonitoringService(pulumi.ComponentResource):
    """One monitoring service (Prometheus, Grafana, ...) and every Kubernetes object it needs."""

    def __init__(self, service: Service, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:{service.component}", service.component, None, opts)
        self.component = service.component
        child = pulumi.ResourceOptions(parent=self)
        names = logical_names(service.objects)
        self.resources = [create(obj, child, name) for obj, name in zip(service.objects, names, strict=True)]
        self.register_outputs({"objects": len(self.resources)})
