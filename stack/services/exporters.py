"""node-exporter (DaemonSet on every node) and kube-state-metrics (cluster object state)."""

from __future__ import annotations

from stack import network as net
from stack import objects as k
from stack.model import Context, Service

METRICS = k.Port("metrics", 9100)
KSM_METRICS, KSM_TELEMETRY = k.Port("metrics", 8080), k.Port("telemetry", 8081)
KSM_RESOURCES = {
    "": ["configmaps", "secrets", "nodes", "pods", "services", "resourcequotas", "replicationcontrollers",
         "limitranges", "persistentvolumeclaims", "persistentvolumes", "namespaces", "endpoints"],
    "apps": ["statefulsets", "daemonsets", "deployments", "replicasets"],
    "batch": ["cronjobs", "jobs"],
    "autoscaling": ["horizontalpodautoscalers"],
    "policy": ["poddisruptionbudgets"],
    "networking.k8s.io": ["networkpolicies", "ingresses"],
    "storage.k8s.io": ["storageclasses", "volumeattachments"],
    "coordination.k8s.io": ["leases"],
}


def node_exporter(ctx: Context) -> Service:
    app = ctx.app("node-exporter", "metrics-exporter", "nodeExporter")
    container = k.Container(
        name="node-exporter", image=app.image, resources=ctx.workload("nodeExporter").resources, ports=[METRICS],
        args=["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
              f"--web.listen-address=:{METRICS.port}"],
        mounts=[k.mount("proc", "/host/proc"), k.mount("sys", "/host/sys"),
                {**k.mount("root", "/host/root"), "mountPropagation": "HostToContainer"}],
        liveness=k.http_probe("/", METRICS.name), readiness=k.http_probe("/", METRICS.name, initial=5),
    )
    pod = k.PodSpec(
        containers=[container],
        volumes=[k.host_path("proc", "/proc"), k.host_path("sys", "/sys"), k.host_path("root", "/")],
        # Host network and PID namespace: node metrics, not the pod's own.
        extra={"hostNetwork": True, "hostPID": True, "tolerations": [{"operator": "Exists"}]},
        annotations={k.EXCEPTION_ANNOTATION: "host network, PID namespace and read-only host paths for node metrics"},
        config_checksum=k.checksum(container.args),
    )
    return Service("NodeExporter", [
        k.service(app, [METRICS], headless=True), k.daemon_set(app, pod), k.pod_disruption_budget(app),
        net.allow(app, ingress=[net.Flow(net.apps("prometheus"), [METRICS])]),
    ])


def kube_state_metrics(ctx: Context) -> Service:
    app = ctx.app("kube-state-metrics", "metrics-exporter", "kubeStateMetrics")
    w = ctx.workload("kubeStateMetrics")
    rules = [{"apiGroups": [g], "resources": r, "verbs": ["list", "watch"]} for g, r in KSM_RESOURCES.items()]
    container = k.Container(
        name="kube-state-metrics", image=app.image, resources=w.resources, ports=[KSM_METRICS, KSM_TELEMETRY],
        args=[f"--port={KSM_METRICS.port}", f"--telemetry-port={KSM_TELEMETRY.port}"],
        liveness=k.http_probe("/healthz", KSM_METRICS.name), readiness=k.http_probe("/", KSM_TELEMETRY.name, initial=5),
    )
    pod = k.PodSpec(containers=[container], service_account=app.name, config_checksum=k.checksum(container.args, rules))
    return Service("KubeStateMetrics", [
        *k.rbac(app, rules), k.service(app, [KSM_METRICS], headless=True), k.deployment(app, w.replicas, pod),
        k.pod_disruption_budget(app),
        net.allow(app, ingress=[net.Flow(net.apps("prometheus"), [KSM_METRICS])], egress=[net.Flow(net.anywhere(), net.API_PORTS)]),
    ])
