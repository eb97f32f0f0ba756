"""Filebeat: DaemonSet reading container logs from the node, enriched with Kubernetes metadata.

It runs in the node agents' namespace (root and a hostPath) and ships to Logstash in the
monitoring namespace over mutual TLS: its client certificate and the CA come from its TLS
Secret, issued by the same CA as Elasticsearch's and Logstash's certificates.
"""

from __future__ import annotations

from logpipeline.filebeat import TLS_DIR
from stack import network as net
from stack import objects as k
from stack.model import Context, Service

NAME = "filebeat"
CONFIG = "filebeat/filebeat.yml"
HTTP = k.Port("http", 5066)
METADATA_RULES = (
    k.read_rule([""], ["pods", "namespaces", "nodes"]),
    k.read_rule(["apps"], ["replicasets"]),
    k.read_rule(["batch"], ["jobs"]),
)


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "logs-shipper", "filebeat", node_agent=True)
    w = ctx.workload("filebeat")
    config = {"filebeat.yml": ctx.artifacts[CONFIG]} if CONFIG in ctx.artifacts else {}
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[HTTP],
        # -E only adds the stats endpoint the probes use; everything else is the rendered file.
        args=["-c", "/etc/filebeat/filebeat.yml", "-e", "--path.data", "/usr/share/filebeat/data",
              "-E", "http.enabled=true", "-E", "http.host=0.0.0.0", "-E", f"http.port={HTTP.port}"],
        env=[k.env_field("NODE_NAME", "spec.nodeName")],
        # Container log files on the node are root-owned 0640: reading them needs uid 0.
        run_as_user=0,
        mounts=[
            k.mount("config", "/etc/filebeat"), k.mount("varlog", "/var/log"),
            k.mount("data", "/usr/share/filebeat/data", read_only=False), k.mount("tls", TLS_DIR),
        ],
        liveness=k.http_probe("/", HTTP.name, initial=30), readiness=k.http_probe("/", HTTP.name, initial=10),
    )
    pod = k.PodSpec(
        containers=[container], service_account=NAME, fs_group=None, run_as_non_root=False,
        volumes=[
            k.config_volume("config", "filebeat-config"),
            k.host_path("varlog", "/var/log"),
            # The registry (read offsets) survives pod restarts; one dir per env on shared nodes.
            k.host_path("data", f"/var/lib/filebeat-data/{ctx.namespace}", "DirectoryOrCreate"),
            k.secret_volume("tls", ctx.cluster.filebeat_tls_secret, ["ca.crt", "tls.crt", "tls.key"]),
        ],
        annotations={k.EXCEPTION_ANNOTATION: "runs as root to read root-owned container log files on the node"},
        config_checksum=k.checksum(config),
        extra={"tolerations": [{"operator": "Exists"}]},
        skips={
            "CKV_K8S_23": "reads the node's root-owned 0640 container log files; no capabilities, read-only root fs",
            "CKV_K8S_40": "uid 0 for the same reason (no other uid can read those files)",
            "CKV_K8S_38": "add_kubernetes_metadata reads pods, namespaces and nodes from the API server",
        },
    )
    return Service("Filebeat", [
        *k.rbac(app, METADATA_RULES),
        k.config_map(app, "filebeat-config", config),
        k.daemon_set(app, pod),
        k.pod_disruption_budget(app),
        net.allow(app, egress=[
            net.Flow([net.Peer(app="logstash", namespace=ctx.namespace)], [k.Port("beats", ctx.settings.logging.beats_port)]),
            net.Flow(net.anywhere(), net.API_PORTS),
        ]),
    ])
