"""Filebeat: DaemonSet reading container logs from the node, enriched with Kubernetes metadata."""

from __future__ import annotations

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
    app = ctx.app(NAME, "logs-shipper", "filebeat")
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
            k.mount("data", "/usr/share/filebeat/data", read_only=False),
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
        ],
        annotations={k.EXCEPTION_ANNOTATION: "runs as root to read root-owned container log files on the node"},
        config_checksum=k.checksum(config),
        extra={"tolerations": [{"operator": "Exists"}]},
    )
    return Service("Filebeat", [
        *k.rbac(app, METADATA_RULES),
        k.config_map(app, "filebeat-config", config),
        k.daemon_set(app, pod),
        k.pod_disruption_budget(app),
        net.allow(app, egress=[
            net.Flow(net.apps("logstash"), [k.Port("beats", ctx.settings.logging.beats_port)]),
            net.Flow(net.anywhere(), net.API_PORTS),
        ]),
    ])
