"""NVIDIA's DCGM exporter as a DaemonSet on the GPU nodes (``dcgm.mode: deploy``).

It runs in the node agents' namespace: it reads the kubelet's pod-resources socket (a hostPath) to
label each GPU with the pod it is assigned to, which makes its pods root (the socket is root's) but
nothing more: no capability (the profiling fields that need SYS_ADMIN, ``DCGM_FI_PROF_*``, are not
read), no host network or PID, a read-only root filesystem, no service-account token. Only the GPU
nodes run it (``dcgm.nodeSelector``, ``dcgm.tolerations``); the GPUs reach it through the NVIDIA
container runtime (``dcgm.runtimeClassName`` when the cluster has one). Prometheus scrapes each pod
on port 9400 (job ``dcgm-exporter``, ``alerts.scrape_jobs``; in operator mode the cluster's
Prometheus, through a PodMonitor).
"""

from __future__ import annotations

from foundation.settings import DCGM_APP
from foundation.settings.engines import DCGM_PORT
from stack import network as net
from stack import objects as k
from stack.model import Context, Service

PORT = k.Port("metrics", DCGM_PORT)
POD_RESOURCES = "/var/lib/kubelet/pod-resources"
#: The exporter's default field list (shipped in its image): every DCGM_FI_DEV_* series the stack reads.
COUNTERS = "/etc/dcgm-exporter/default-counters.csv"


def dcgm_exporter(ctx: Context) -> Service:
    d = ctx.settings.dcgm
    app = ctx.app(DCGM_APP, "metrics-exporter", "dcgmExporter", node_agent=True)
    container = k.Container(
        name=DCGM_APP, image=app.image, resources=ctx.workload("dcgmExporter").resources, ports=[PORT],
        args=["-f", COUNTERS],
        env=[k.env_value("DCGM_EXPORTER_LISTEN", f":{PORT.port}"),
             # Labels each GPU's series with the namespace/pod/container it is assigned to.
             k.env_value("DCGM_EXPORTER_KUBERNETES", "true"), k.env_field("NODE_NAME", "spec.nodeName")],
        mounts=[k.mount("pod-resources", POD_RESOURCES), k.mount("tmp", "/tmp", read_only=False)],
        liveness=k.http_probe("/health", PORT.name, initial=45), readiness=k.http_probe("/health", PORT.name),
        run_as_user=0,
    )
    extra: k.Obj = {"nodeSelector": dict(d.node_selector)}
    if d.tolerations:
        extra["tolerations"] = [dict(t) for t in d.tolerations]
    if d.runtime_class:
        extra["runtimeClassName"] = d.runtime_class
    pod = k.PodSpec(
        containers=[container], run_as_non_root=False, fs_group=None,
        volumes=[k.host_path("pod-resources", POD_RESOURCES), k.empty_dir("tmp", "64Mi")],
        extra=extra, config_checksum=k.checksum(container.args, extra),
        annotations={k.EXCEPTION_ANNOTATION: "root, read-only, for the kubelet's pod-resources socket (GPU -> pod)"},
        skips={
            "CKV_K8S_40": "reads the kubelet's root-owned pod-resources socket to label GPUs with their pods; "
                          "no capabilities, read-only root filesystem, node agents' namespace only",
            "CKV_K8S_23": "root for the kubelet's pod-resources socket (see CKV_K8S_40); no capabilities",
        },
    )
    return Service("DcgmExporter", [
        k.daemon_set(app, pod), k.pod_disruption_budget(app),
        # Our Prometheus, or in operator mode the cluster's (the PodMonitor of job dcgm-exporter).
        net.allow(app, ingress=[net.Flow([net.prometheus(ctx.namespace, ctx.cluster.operator)], [PORT])]),
    ])
