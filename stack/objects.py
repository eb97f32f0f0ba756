"""Small pure builders of Kubernetes object dicts shared by every service.

Each returns plain ``apiVersion/kind/metadata/...`` dicts with camelCase keys (the wire
format), so the same dict is dumped to YAML by ``llmmon render`` and handed to
``pulumi_kubernetes`` by the stack layer. Hardening lives here once: every container gets
resources, probes, a non-root security context without capabilities, and every pod a
RuntimeDefault seccomp profile.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from foundation.settings.cluster import ClusterSettings, Resources

Obj = dict[str, Any]

PART_OF = "llm-router-monitoring"
CHECKSUM_ANNOTATION = "checksum/config"
#: Annotation documenting why a workload needs an exception to a hardening policy.
EXCEPTION_ANNOTATION = "llm-router-monitoring/policy-exception"
#: checkov reads ``checkov.io/skip<N>: <CHECK_ID>=<reason>`` from an object's own annotations.
SCANNER_SKIP_PREFIX = "checkov.io/skip"
IMAGE_DIGEST_CHECK = "CKV_K8S_43"
DEFAULT_UID = 65534  # nobody
#: Short-lived helpers (setup Jobs, config-copy init containers) only run curl/cp.
HELPER_RESOURCES = Resources("50m", "64Mi", "500m", "256Mi")


def labels(name: str, component: str, version: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": PART_OF,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/version": version,
    }


def selector(name: str) -> dict[str, str]:
    """Stable subset of the labels: selectors must never change between releases."""
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": PART_OF}


def image_version(image: str) -> str:
    return image.rpartition("@")[0].rpartition(":")[2] if "@" in image else image.rpartition(":")[2]


def pinned_by_digest(image: str) -> bool:
    return "@sha256:" in image


def scanner_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """checkov skip annotations, one per check id, each with the reason it does not apply."""
    out = {}
    for i, (check, reason) in enumerate(sorted(reasons.items()), start=1):
        if not reason.strip() or "=" in reason:
            raise ValueError(f"skip of {check} needs a reason without '=' (checkov splits on it): {reason!r}")
        out[f"{SCANNER_SKIP_PREFIX}{i}"] = f"{check}={reason}"
    return out


def meta(name: str, namespace: str | None, lbls: Mapping[str, str], annotations: Mapping[str, str] | None = None) -> Obj:
    out: Obj = {"name": name, "labels": dict(lbls)}
    if namespace is not None:
        out["namespace"] = namespace
    if annotations:
        out["annotations"] = dict(annotations)
    return out


def checksum(*contents: Any) -> str:
    """Hash of config the pods read: a change rolls the pods (annotation on the pod template)."""
    blob = json.dumps(contents, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class App:
    """One workload's identity: name, component label, image and the namespace it runs in."""

    name: str
    component: str
    image: str
    namespace: str

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.name, self.component, image_version(self.image))

    def meta(self, name: str | None = None, annotations: Mapping[str, str] | None = None) -> Obj:
        return meta(name or self.name, self.namespace, self.labels, annotations)

    @property
    def selector(self) -> dict[str, str]:
        return selector(self.name)


def config_map(app: App, name: str, data: Mapping[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": app.meta(name), "data": dict(sorted(data.items()))}


def secret(app: App, name: str, string_data: Mapping[str, Any]) -> Obj:
    """Values are Pulumi Outputs (deploy) or a redaction marker (render): never literals."""
    return {
        "apiVersion": "v1", "kind": "Secret", "metadata": app.meta(name), "type": "Opaque",
        "stringData": dict(sorted(string_data.items())),
    }


def service_account(app: App) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": app.meta(), "automountServiceAccountToken": False}


@dataclass(frozen=True)
class Port:
    name: str
    #: A number; in a NetworkPolicy also a container port's name (pods outside the stack).
    port: int | str
    protocol: str = "TCP"


def service(app: App, ports: Sequence[Port], name: str | None = None, headless: bool = False, sticky: bool = False) -> Obj:
    spec: Obj = {
        "selector": app.selector,
        "ports": [{"name": p.name, "port": p.port, "targetPort": p.name, "protocol": p.protocol} for p in ports],
    }
    if headless:
        # Peers find each other before they are ready (cluster formation needs that).
        spec.update(clusterIP="None", publishNotReadyAddresses=True)
    if sticky:
        # Replicas hold slightly different data (HA pairs): one client keeps seeing one replica.
        spec["sessionAffinity"] = "ClientIP"
    return {"apiVersion": "v1", "kind": "Service", "metadata": app.meta(name), "spec": spec}


def http_probe(path: str, port: str, initial: int = 10, period: int = 10, failures: int = 3) -> Obj:
    return {
        "httpGet": {"path": path, "port": port}, "initialDelaySeconds": initial,
        "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": failures,
    }


def tcp_probe(port: str, initial: int = 10, period: int = 10, failures: int = 3) -> Obj:
    return {
        "tcpSocket": {"port": port}, "initialDelaySeconds": initial,
        "periodSeconds": period, "timeoutSeconds": 5, "failureThreshold": failures,
    }


def exec_probe(command: Sequence[str], initial: int = 10, period: int = 10, failures: int = 3) -> Obj:
    return {
        "exec": {"command": list(command)}, "initialDelaySeconds": initial,
        "periodSeconds": period, "timeoutSeconds": 10, "failureThreshold": failures,
    }


def security_context(read_only: bool = True, run_as_user: int | None = DEFAULT_UID) -> Obj:
    ctx: Obj = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only,
    }
    if run_as_user is not None:
        ctx.update(runAsNonRoot=run_as_user != 0, runAsUser=run_as_user)
    return ctx


@dataclass
class Container:
    name: str
    image: str
    resources: Resources
    ports: Sequence[Port] = ()
    args: Sequence[str] = ()
    command: Sequence[str] = ()
    env: Sequence[Obj] = ()
    mounts: Sequence[Obj] = ()
    liveness: Obj | None = None
    readiness: Obj | None = None
    read_only: bool = True
    run_as_user: int | None = DEFAULT_UID

    def build(self) -> Obj:
        c: Obj = {
            # A digest cannot move: the node's copy is the image. A tag can: check it on every start.
            "name": self.name, "image": self.image,
            "imagePullPolicy": "IfNotPresent" if pinned_by_digest(self.image) else "Always",
            "resources": self.resources.to_k8s(),
            "securityContext": security_context(self.read_only, self.run_as_user),
        }
        optional = {
            "command": list(self.command), "args": list(self.args), "env": list(self.env),
            "ports": [{"name": p.name, "containerPort": p.port, "protocol": p.protocol} for p in self.ports],
            "volumeMounts": list(self.mounts), "livenessProbe": self.liveness, "readinessProbe": self.readiness,
        }
        c.update({k: v for k, v in optional.items() if v})
        return c


def env_value(name: str, value: str) -> Obj:
    return {"name": name, "value": value}


def env_field(name: str, path: str) -> Obj:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}


def env_secret(name: str, secret_name: str, key: str) -> Obj:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def mount(name: str, path: str, read_only: bool = True, sub_path: str | None = None) -> Obj:
    m: Obj = {"name": name, "mountPath": path, "readOnly": read_only}
    if sub_path:
        m["subPath"] = sub_path
    return m


def config_volume(name: str, config_map_name: str) -> Obj:
    return {"name": name, "configMap": {"name": config_map_name}}


def secret_volume(name: str, secret_name: str, keys: Sequence[str] = ()) -> Obj:
    src: Obj = {"secretName": secret_name, "defaultMode": 0o440}
    if keys:
        src["items"] = [{"key": k, "path": k} for k in keys]
    return {"name": name, "secret": src}


def empty_dir(name: str, size: str = "256Mi") -> Obj:
    return {"name": name, "emptyDir": {"sizeLimit": size}}


def host_path(name: str, path: str, kind: str = "Directory") -> Obj:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


@dataclass
class PodSpec:
    containers: Sequence[Container]
    volumes: Sequence[Obj] = ()
    init_containers: Sequence[Obj] = ()
    service_account: str | None = None
    fs_group: int | None = DEFAULT_UID
    run_as_non_root: bool = True
    extra: Obj = field(default_factory=dict)
    #: Hash of the config the pods read (ConfigMap contents).
    config_checksum: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: checkov check id -> why it does not apply to this workload (annotated on the workload).
    skips: Mapping[str, str] = field(default_factory=dict)

    def images(self) -> list[str]:
        return [c.image for c in self.containers] + [c["image"] for c in self.init_containers]

    def workload_annotations(self) -> dict[str, str]:
        """The scanner skips, plus the digest check for images pinned by tag only."""
        reasons = dict(self.skips)
        tags = sorted({image_version(i) for i in self.images() if not pinned_by_digest(i)})
        if tags:
            reasons[IMAGE_DIGEST_CHECK] = (
                f"pinned by tag ({', '.join(tags)}) and pulled Always; "
                "an env pins digests with cluster.images.<key>: <repo>:<tag>@sha256:<digest>")
        return scanner_skips(reasons)

    def template(self, app: App) -> Obj:
        security: Obj = {"seccompProfile": {"type": "RuntimeDefault"}, "runAsNonRoot": self.run_as_non_root}
        if self.fs_group is not None:
            security["fsGroup"] = self.fs_group
        spec: Obj = {
            "securityContext": security,
            "automountServiceAccountToken": self.service_account is not None,
            "containers": [c.build() for c in self.containers],
            "terminationGracePeriodSeconds": 30,
        }
        if self.service_account:
            spec["serviceAccountName"] = self.service_account
        if self.init_containers:
            spec["initContainers"] = list(self.init_containers)
        if self.volumes:
            spec["volumes"] = sorted(self.volumes, key=lambda v: v["name"])
        spec.update(self.extra)
        annotations = dict(self.annotations)
        if self.config_checksum:
            annotations[CHECKSUM_ANNOTATION] = self.config_checksum
        metadata: Obj = {"labels": app.labels}
        if annotations:
            metadata["annotations"] = dict(sorted(annotations.items()))
        return {"metadata": metadata, "spec": spec}


def pvc_template(name: str, size: str, storage_class: str | None) -> Obj:
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec}


def deployment(app: App, replicas: int, pod: PodSpec) -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": app.meta(annotations=pod.workload_annotations()),
        "spec": {
            "replicas": replicas, "revisionHistoryLimit": 5,
            "selector": {"matchLabels": app.selector}, "template": pod.template(app),
        },
    }


def stateful_set(app: App, replicas: int, pod: PodSpec, service_name: str, claims: Sequence[Obj] = ()) -> Obj:
    spec: Obj = {
        "replicas": replicas, "serviceName": service_name, "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": app.selector}, "template": pod.template(app),
    }
    if claims:
        spec["volumeClaimTemplates"] = list(claims)
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": app.meta(annotations=pod.workload_annotations()),
            "spec": spec}


def daemon_set(app: App, pod: PodSpec) -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": app.meta(annotations=pod.workload_annotations()),
        "spec": {
            "selector": {"matchLabels": app.selector}, "template": pod.template(app),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        },
    }


def setup_job(app: App, container: Container, volumes: Sequence[Obj], config: Any, fs_group: int,
              skips: Mapping[str, str] | None = None) -> Obj:
    """A one-shot helper Job (API calls after a service starts) retried until it succeeds.

    Jobs are immutable: the name carries a hash of what the Job applies, so changed
    config runs a new Job instead of failing to update the old one.
    """
    digest = checksum(config)
    pod = PodSpec(containers=[container], volumes=volumes, fs_group=fs_group, config_checksum=digest,
                  extra={"restartPolicy": "OnFailure"}, skips=skips or {})
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": app.meta(f"{app.name}-{digest[:10]}", annotations=pod.workload_annotations()),
        "spec": {"backoffLimit": 20, "template": pod.template(app)},
    }


def pod_disruption_budget(app: App) -> Obj:
    # maxUnavailable (not minAvailable) so a single replica never blocks a node drain forever.
    return {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": app.meta(),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": app.selector}},
    }


def cluster_role(app: App, rules: Sequence[Obj]) -> Obj:
    # Cluster-scoped: the namespace in the name keeps two envs in one cluster apart.
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": meta(f"{app.namespace}-{app.name}", None, app.labels), "rules": list(rules),
    }


def cluster_role_binding(app: App) -> Obj:
    name = f"{app.namespace}-{app.name}"
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": meta(name, None, app.labels),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": app.name, "namespace": app.namespace}],
    }


def rbac(app: App, rules: Sequence[Obj]) -> list[Obj]:
    """ServiceAccount + ClusterRole + binding (discovery, metadata enrichment, token reviews)."""
    return [service_account(app), cluster_role(app, rules), cluster_role_binding(app)]


def read_rule(groups: Iterable[str], resources: Iterable[str]) -> Obj:
    return {"apiGroups": list(groups), "resources": list(resources), "verbs": ["get", "list", "watch"]}


def ingresses(app: App, port: str, cluster: ClusterSettings) -> list[Obj]:
    """The service's Ingress when the env configures a host for it (else none)."""
    host = cluster.ingress_hosts.get(app.name)
    return [ingress(app, app.name, port, host, cluster.ingress_class, cluster.ingress_annotations)] if host else []


def ingress(app: App, service_name: str, port: str, host: str, class_name: str | None,
            annotations: Mapping[str, str]) -> Obj:
    """HTTPS only: the certificate Secret ``<name>-tls`` is issued (cert-manager) or provided."""
    spec: Obj = {
        "tls": [{"hosts": [host], "secretName": f"{app.name}-tls"}],
        "rules": [{"host": host, "http": {"paths": [{
            "path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": service_name, "port": {"name": port}}},
        }]}}],
    }
    if class_name:
        spec["ingressClassName"] = class_name
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": app.meta(annotations=annotations), "spec": spec}


def spread(app: App, required: bool = False) -> Obj:
    """Replicas on different nodes so one node failure keeps a replica alive.

    Preferred by default (small clusters still schedule everything); required where losing
    two replicas to one node is worse than a pod left Pending (Elasticsearch masters in prod).
    """
    term: Obj = {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": app.selector}}
    if required:
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": term}]}}
