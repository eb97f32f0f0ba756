"""node-exporter (DaemonSet on every node) and kube-state-metrics (cluster object state).

node-exporter runs as kube-prometheus runs it: on the host network in the node agents'
namespace, listening on the node's loopback only, reached through kube-rbac-proxy on the
node IP, which serves TLS (a certificate from the internal CA) and lets in only callers whose
token may ``get`` the ``/metrics`` URL (Prometheus' ClusterRole grants that).
"""

from __future__ import annotations

from foundation.settings.cluster import Resources
from stack import flows
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.promconfig import NODE_EXPORTER

HTTPS = k.Port("https", flows.NODE_EXPORTER_PORT)
LOOPBACK = "127.0.0.1"
TLS_DIR = "/etc/kube-rbac-proxy/tls"
#: kube-prometheus' sizing of the proxy sidecar.
PROXY_RESOURCES = Resources("10m", "20Mi", "20m", "40Mi")
#: kube-rbac-proxy reviews each caller's token and asks whether it may GET /metrics.
AUTH_DELEGATION_RULES = (
    {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
    {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
)
KSM_METRICS, KSM_TELEMETRY = k.Port("metrics", 8080), k.Port("telemetry", 8081)
#: What kube-state-metrics reports on, by API group. Never Secrets: their metadata is not worth
#: a token that can list every Secret in the cluster.
KSM_RESOURCES = {
    "": ["configmaps", "nodes", "pods", "services", "resourcequotas", "replicationcontrollers",
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
    app = ctx.app(NODE_EXPORTER, "metrics-exporter", "nodeExporter", node_agent=True)
    exporter = k.Container(
        name=NODE_EXPORTER, image=app.image, resources=ctx.workload("nodeExporter").resources,
        args=["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root",
              # Loopback only: the node network reaches it through the proxy.
              f"--web.listen-address={LOOPBACK}:{HTTPS.port}"],
        mounts=[k.mount("proc", "/host/proc"), k.mount("sys", "/host/sys"),
                {**k.mount("root", "/host/root"), "mountPropagation": "HostToContainer"}],
        liveness=loopback_probe(), readiness=loopback_probe(initial=5),
    )
    proxy = k.Container(
        name="kube-rbac-proxy", image=ctx.cluster.images["kubeRbacProxy"], resources=PROXY_RESOURCES, ports=[HTTPS],
        args=[f"--secure-listen-address=[$(IP)]:{HTTPS.port}", f"--upstream=http://{LOOPBACK}:{HTTPS.port}/",
              "--allow-paths=/metrics", "--tls-min-version=VersionTLS12",
              f"--tls-cert-file={TLS_DIR}/tls.crt", f"--tls-private-key-file={TLS_DIR}/tls.key"],
        env=[k.env_field("IP", "status.podIP")], mounts=[k.mount("tls", TLS_DIR)],
        liveness=k.tcp_probe(HTTPS.name), readiness=k.tcp_probe(HTTPS.name, initial=5),
    )
    pod = k.PodSpec(
        containers=[exporter, proxy], service_account=app.name,
        volumes=[k.host_path("proc", "/proc"), k.host_path("sys", "/sys"), k.host_path("root", "/"),
                 k.secret_volume("tls", ctx.cluster.node_exporter_tls_secret, ["tls.crt", "tls.key"])],
        # Host network and PID namespace: node metrics, not the pod's own.
        extra={"hostNetwork": True, "hostPID": True, "tolerations": [{"operator": "Exists"}]},
        annotations={k.EXCEPTION_ANNOTATION: "host network, PID namespace and read-only host paths for node metrics"},
        config_checksum=k.checksum(exporter.args, proxy.args),
        skips={
            "CKV_K8S_17": "node metrics (processes) need the host PID namespace; node agents' namespace only",
            "CKV_K8S_19": "node metrics (network devices) need the host network; bound to loopback behind the proxy",
            "CKV_K8S_38": "kube-rbac-proxy sends TokenReviews and SubjectAccessReviews to the API server",
        },
    )
    return Service("NodeExporter", [
        *k.rbac(app, AUTH_DELEGATION_RULES),
        k.service(app, [HTTPS], headless=True), k.daemon_set(app, pod), k.pod_disruption_budget(app),
        net.allow(
            app,
            ingress=[net.Flow([net.Peer(app="prometheus", namespace=ctx.namespace)], [HTTPS])],
            egress=[net.Flow(net.anywhere(), net.API_PORTS)],
        ),
    ])


def loopback_probe(initial: int = 10) -> k.Obj:
    """The kubelet runs on the node: on the host network, the node's loopback is the pod's."""
    probe = k.http_probe("/", "unused", initial=initial)
    probe["httpGet"] = {"host": LOOPBACK, "path": "/", "port": HTTPS.port}
    return probe


def kube_state_metrics(ctx: Context) -> Service:
    app = ctx.app("kube-state-metrics", "metrics-exporter", "kubeStateMetrics")
    w = ctx.workload("kubeStateMetrics")
    rules = [{"apiGroups": [g], "resources": r, "verbs": ["list", "watch"]} for g, r in KSM_RESOURCES.items()]
    container = k.Container(
        name="kube-state-metrics", image=app.image, resources=w.resources, ports=[KSM_METRICS, KSM_TELEMETRY],
        # Exactly the resources its role may list (the default set includes Secrets).
        args=[f"--port={KSM_METRICS.port}", f"--telemetry-port={KSM_TELEMETRY.port}",
              "--resources=" + ",".join(sorted(r for group in KSM_RESOURCES.values() for r in group))],
        liveness=k.http_probe("/healthz", KSM_METRICS.name), readiness=k.http_probe("/", KSM_TELEMETRY.name, initial=5),
    )
    pod = k.PodSpec(containers=[container], service_account=app.name, config_checksum=k.checksum(container.args, rules),
                    skips={"CKV_K8S_38": "lists and watches cluster objects through the API server"})
    return Service("KubeStateMetrics", [
        *k.rbac(app, rules), k.service(app, [KSM_METRICS], headless=True), k.deployment(app, w.replicas, pod),
        k.pod_disruption_budget(app),
        net.allow(app, ingress=[net.Flow(net.apps("prometheus"), [KSM_METRICS])], egress=[net.Flow(net.anywhere(), net.API_PORTS)]),
    ])
