"""Logstash: StatefulSet whose persistent queue lives on a PVC; pipeline and settings from ConfigMaps."""

from __future__ import annotations

from typing import Any

import yaml

from foundation.settings.cluster import quantity_value
from logpipeline import logstash as pipeline
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.services.elasticsearch import CA_DIR, ES_PORT, ca_volume

NAME = "logstash"
UID = 1000
API = k.Port("api", 9600)
HOME = pipeline.CONTAINER_CONFIG_DIR
SETTINGS_FILES = ("logstash.yml", "pipelines.yml")
PIPELINE_PREFIX = "logstash/pipeline/"


def jvm_heap(memory_limit: str) -> str:
    """Half the container memory: the persisted queue and direct buffers need the rest."""
    return f"{int(quantity_value(memory_limit) / 2**20 // 2)}m"


def settings_files(ctx: Context) -> dict[str, str]:
    """The rendered settings; the queue bound follows the PVC sized in the cluster section."""
    out = {name: ctx.artifacts[f"logstash/{name}"] for name in SETTINGS_FILES if f"logstash/{name}" in ctx.artifacts}
    if "pipelines.yml" in out:
        pipelines: list[dict[str, Any]] = yaml.safe_load(out["pipelines.yml"]) or []
        for p in pipelines:
            p["queue.max_bytes"] = ctx.cluster.logstash_queue_max_bytes.lower()
        out["pipelines.yml"] = yaml.safe_dump(pipelines, sort_keys=True, default_flow_style=False)
    return out


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "logs-pipeline", "logstash")
    w, c = ctx.workload("logstash"), ctx.cluster
    beats = k.Port("beats", ctx.settings.logging.beats_port)
    settings, pipelines = settings_files(ctx), ctx.under(PIPELINE_PREFIX)
    # The image's config dir (jvm.options, log4j2) plus ours, copied into a writable emptyDir
    # so the root filesystem stays read-only.
    init = k.Container(
        name="config", image=app.image, resources=k.HELPER_RESOURCES, run_as_user=UID,
        command=["/bin/bash", "-c", f"cp -a {HOME}/config/. /config/ && cp /rendered/*.yml /config/"],
        mounts=[k.mount("config", "/config", read_only=False), k.mount("settings", "/rendered")],
    ).build()
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[beats, API], run_as_user=UID,
        env=[
            k.env_value("LS_JAVA_OPTS", f"-Xms{jvm_heap(w.resources.memory_limit)} -Xmx{jvm_heap(w.resources.memory_limit)}"),
            k.env_value(pipeline.ES_USER_VAR, "logstash_writer"),
            k.env_secret(pipeline.ES_PASSWORD_VAR, "logstash", "es-password"),
            k.env_value(pipeline.ES_CA_VAR, f"{CA_DIR}/ca.crt"),
        ],
        mounts=[
            # Writable emptyDir: the image's entrypoint may rewrite logstash.yml from env vars.
            k.mount("config", f"{HOME}/config", read_only=False),
            k.mount("pipeline", f"{HOME}/{pipeline.PIPELINE_PATH.rpartition('/')[0]}"),
            k.mount("data", f"{HOME}/data", read_only=False),
            k.mount("tmp", "/tmp", read_only=False),
            k.mount("es-ca", CA_DIR), k.mount("tls", pipeline.TLS_DIR),
        ],
        liveness=k.http_probe("/", API.name, initial=60), readiness=k.http_probe("/", API.name, initial=30),
    )
    pod = k.PodSpec(
        containers=[container], init_containers=[init], fs_group=UID,
        volumes=[
            k.empty_dir("config", "16Mi"), k.empty_dir("tmp", "512Mi"),
            k.config_volume("settings", "logstash-settings"), k.config_volume("pipeline", "logstash-pipeline"),
            ca_volume(ctx, "es-ca"),
            # The beats input's server certificate (PKCS#8 key) and the CA that signs Filebeat's.
            k.secret_volume("tls", c.logstash_tls_secret, ["ca.crt", "tls.crt", "tls.key"]),
        ],
        config_checksum=k.checksum(settings, pipelines), extra={"affinity": k.spread(app)},
        skips={
            "CKV_K8S_35": "the elasticsearch output reads ${ES_PASSWORD} from its keystore or env; "
                          "it has no password-file option (env from a Secret key, never a literal)",
            "CKV_K8S_40": "the image's logstash user (uid 1000) owns its files",
        },
    )
    return Service("Logstash", [
        k.secret(app, "logstash", {"es-password": ctx.secret("logstashWriterPassword")}),
        k.config_map(app, "logstash-settings", settings),
        k.config_map(app, "logstash-pipeline", pipelines),
        k.service(app, [beats]),
        k.service(app, [beats], name="logstash-headless", headless=True),
        k.stateful_set(app, w.replicas, pod, "logstash-headless", [k.pvc_template("data", w.storage or "5Gi", c.storage_class)]),
        k.pod_disruption_budget(app),
        net.allow(app, ingress=[net.Flow([net.Peer(app="filebeat", namespace=ctx.node_namespace)], [beats])],
                  egress=[net.Flow(net.apps("elasticsearch"), [ES_PORT])]),
    ])
