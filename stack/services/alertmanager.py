"""Alertmanager: a gossip cluster (peers over a headless Service), receiver credentials from a Secret."""

from __future__ import annotations

import posixpath

from stack import network as net
from stack import objects as k
from stack.credentials import ALERTMANAGER_CONFIG, alertmanager_secret_files
from stack.model import Context, Service

NAME = "alertmanager"
HEADLESS = "alertmanager-headless"
WEB = k.Port("web", 9093)
MESH_TCP = k.Port("mesh-tcp", 9094)
MESH_UDP = k.Port("mesh-udp", 9094, "UDP")
CONFIG_DIR = "/etc/alertmanager/config"
#: Receivers talk to webhooks, chat and mail servers outside the cluster.
RECEIVER_PORTS = (k.Port("https", 443), k.Port("smtp", 25), k.Port("smtps", 465), k.Port("submission", 587))


def peer_addresses(namespace: str, replicas: int, port: int) -> list[str]:
    """Stable per-pod DNS names of the StatefulSet (HA Prometheus notifies every replica)."""
    return [f"{NAME}-{i}.{HEADLESS}.{namespace}.svc:{port}" for i in range(replicas)]


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "alerting", "alertmanager")
    w, c = ctx.workload("alertmanager"), ctx.cluster
    config = {"alertmanager.yml": ctx.artifacts[ALERTMANAGER_CONFIG]} if ALERTMANAGER_CONFIG in ctx.artifacts else {}
    files = alertmanager_secret_files(ctx.artifacts)
    secret_dirs = sorted({posixpath.dirname(p) for p in files.values()})
    args = [f"--config.file={CONFIG_DIR}/alertmanager.yml", "--storage.path=/alertmanager"]
    if w.replicas > 1:
        args += [
            f"--cluster.listen-address=0.0.0.0:{MESH_TCP.port}",
            f"--cluster.advertise-address=$(POD_IP):{MESH_TCP.port}",
            *(f"--cluster.peer={p}" for p in peer_addresses(ctx.namespace, w.replicas, MESH_TCP.port)),
        ]
    else:
        args.append("--cluster.listen-address=")  # a single instance gossips with nobody
    mounts = [k.mount("config", CONFIG_DIR), k.mount("data", "/alertmanager", read_only=False)]
    volumes = [k.config_volume("config", "alertmanager-config")]
    for i, directory in enumerate(secret_dirs):
        keys = [posixpath.basename(p) for p in files.values() if posixpath.dirname(p) == directory]
        mounts.append(k.mount(f"secrets-{i}", directory))
        volumes.append(k.secret_volume(f"secrets-{i}", "alertmanager-receivers", keys))
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[WEB, MESH_TCP, MESH_UDP], args=args,
        env=[k.env_field("POD_IP", "status.podIP")], mounts=mounts,
        liveness=k.http_probe("/-/healthy", WEB.name), readiness=k.http_probe("/-/ready", WEB.name, initial=5),
    )
    pod = k.PodSpec(
        containers=[container], volumes=volumes, config_checksum=k.checksum(config, sorted(files)),
        extra={"affinity": k.spread(app)},
    )
    objects = [
        k.config_map(app, "alertmanager-config", config),
        k.service(app, [WEB]),
        k.service(app, [WEB, MESH_TCP, MESH_UDP], name=HEADLESS, headless=True),
        k.stateful_set(app, w.replicas, pod, HEADLESS, [k.pvc_template("data", w.storage or "1Gi", c.storage_class)]),
        k.pod_disruption_budget(app),
        net.allow(
            app,
            ingress=[
                # No Ingress and no login: Prometheus and Grafana only (people use kubectl port-forward).
                net.Flow(net.apps("prometheus", "grafana"), [WEB]),
                net.Flow(net.apps(NAME), [MESH_TCP, MESH_UDP]),
            ],
            egress=[net.Flow(net.apps(NAME), [MESH_TCP, MESH_UDP]), net.Flow(net.anywhere(), RECEIVER_PORTS)],
        ),
    ]
    if files:
        objects.insert(0, k.secret(app, "alertmanager-receivers", {
            posixpath.basename(path): ctx.secret(key) for key, path in files.items()
        }))
    return Service("Alertmanager", objects)
