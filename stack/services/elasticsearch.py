"""Elasticsearch: StatefulSet with PVCs, security and TLS on, and a setup Job for users and ILM.

TLS material is a prerequisite Secret (``cluster.elasticsearch.tlsSecret``, keys ``ca.crt``,
``tls.crt``, ``tls.key``: the layout cert-manager writes). The setup Job sets the built-in
``kibana_system`` password, creates one least-privilege user per client (Logstash, Jaeger's
writer and reader, Grafana) and applies the log pipeline's ILM policy and index template.

The root filesystem stays read-only: an init container copies the image's config/ into an
emptyDir (Elasticsearch writes its keystore there). ``vm.max_map_count`` is set on the nodes by
a privileged DaemonSet in the node agents' namespace, never by a container in this namespace.
"""

from __future__ import annotations

import json
import posixpath

from logpipeline import elasticsearch as es_api
from stack import network as net
from stack import objects as k
from stack.model import Context, Service

NAME = "elasticsearch"
HEADLESS = "elasticsearch-headless"
ES_PORT = k.Port("http", 9200)
TRANSPORT = k.Port("transport", 9300)
HTTPS_URL = f"https://{NAME}:{ES_PORT.port}"
UID = 1000  # the image's elasticsearch user
#: Where clients mount the CA certificate (only ``ca.crt`` of the TLS Secret).
CA_DIR = "/etc/elasticsearch-ca"
CERTS_DIR = "/usr/share/elasticsearch/config/certs"
CONFIG_DIR = "/usr/share/elasticsearch/config"
CREDENTIALS = "elasticsearch-credentials"
SECRETS_DIR = "/run/secrets/elasticsearch"
SETUP_DIR = "/etc/elasticsearch-setup"

#: Secret file name in the credentials Secret -> Pulumi config key.
PASSWORDS = {
    "elastic-password": "elasticPassword",
    "kibana-system-password": "kibanaSystemPassword",
    "logstash-writer-password": "logstashWriterPassword",
    "jaeger-password": "jaegerPassword",
    "jaeger-reader-password": "jaegerReaderPassword",
    "grafana-reader-password": "grafanaReaderPassword",
}
#: Clients the stack creates: user -> (role, password file).
USERS = {
    "logstash_writer": ("llm_router_logs_writer", "logstash-writer-password"),
    "jaeger": ("jaeger_writer", "jaeger-password"),
    "jaeger_reader": ("jaeger_reader", "jaeger-reader-password"),
    "grafana_reader": ("llm_router_logs_reader", "grafana-reader-password"),
}
#: Jaeger writes daily ``jaeger-span-*`` / ``jaeger-service-*`` indices.
JAEGER_INDICES = "jaeger-*"


def ca_volume(ctx: Context, name: str) -> k.Obj:
    return k.secret_volume(name, ctx.cluster.es_tls_secret, ["ca.crt"])


def roles(ctx: Context) -> dict[str, dict[str, object]]:
    logs = f"{ctx.settings.logging.index_prefix}-*"
    return {
        # What Logstash's elasticsearch output needs for ILM-managed rollover indices.
        "llm_router_logs_writer": {
            "cluster": ["monitor", "manage_ilm", "manage_index_templates"],
            "indices": [{"names": [logs], "privileges": ["write", "create", "create_index", "manage", "manage_ilm"]}],
        },
        # The collector writes and creates daily indices; the index cleaner deletes old ones.
        "jaeger_writer": {
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [{"names": [JAEGER_INDICES], "privileges": ["all"]}],
        },
        # jaeger-query only searches spans.
        "jaeger_reader": {
            "cluster": ["monitor"],
            "indices": [{"names": [JAEGER_INDICES], "privileges": ["read", "view_index_metadata"]}],
        },
        "llm_router_logs_reader": {
            "cluster": ["monitor"],
            "indices": [{"names": [logs], "privileges": ["read", "view_index_metadata"]}],
        },
    }


#: curl reads its credentials as a config file on stdin, written by bash's printf builtin: the
#: password is never in any process's argv (``ps``, /proc/<pid>/cmdline).
CURL_AUTH = """printf 'user = "elastic:%%s"\\n' "$(cat %(secrets)s/elastic-password)" | curl -K - """

SETUP_SCRIPT = """#!/bin/bash
# Idempotent: every request is a PUT/POST of the desired state.
set -euo pipefail
api() {  # METHOD PATH [BODY_FILE]
  """ + CURL_AUTH + """-sSf --cacert %(ca)s/ca.crt \\
    -H 'Content-Type: application/json' -X "$1" "%(url)s$2" ${3:+--data-binary "@$3"}
  echo
}
until api GET '/_cluster/health?wait_for_status=yellow&timeout=30s' >/dev/null; do
  echo "waiting for elasticsearch"; sleep 5
done
# Passwords go through a file in a memory-backed emptyDir, never the command line.
password_body() {  # PASSWORD_FILE [ROLE]
  if [ -n "${2:-}" ]; then
    printf '{"password":"%%s","roles":["%%s"]}' "$(cat "$1")" "$2" > /scratch/body.json
  else
    printf '{"password":"%%s"}' "$(cat "$1")" > /scratch/body.json
  fi
}
password_body %(secrets)s/kibana-system-password
api POST /_security/user/kibana_system/_password /scratch/body.json
"""


def setup_script(ctx: Context) -> str:
    lines = [SETUP_SCRIPT % {"ca": CA_DIR, "secrets": SECRETS_DIR, "url": HTTPS_URL}]
    for role in roles(ctx):
        lines.append(f"api PUT /_security/role/{role} {SETUP_DIR}/role-{role}.json")
    for user, (role, password) in USERS.items():
        lines.append(f"password_body {SECRETS_DIR}/{password} {role}")
        lines.append(f"api PUT /_security/user/{user} /scratch/body.json")
    lines.append("rm -f /scratch/body.json")
    for method, path, artifact in es_api.api_requests(ctx.settings):
        if artifact in ctx.artifacts:
            lines.append(f"api {method} {path} {SETUP_DIR}/{posixpath.basename(artifact)}")
    return "\n".join(lines) + "\n"


def setup_files(ctx: Context) -> dict[str, str]:
    files = {f"role-{name}.json": json.dumps(body, indent=2, sort_keys=True) + "\n" for name, body in roles(ctx).items()}
    for _, _, artifact in es_api.api_requests(ctx.settings):
        if artifact in ctx.artifacts:
            files[posixpath.basename(artifact)] = ctx.artifacts[artifact]
    files["setup.sh"] = setup_script(ctx)
    return files


def _node_env(ctx: Context) -> list[k.Obj]:
    c, replicas = ctx.cluster, ctx.workload("elasticsearch").replicas
    tls = {
        "key": "certs/tls.key", "certificate": "certs/tls.crt", "certificate_authorities": "certs/ca.crt",
    }
    env = [
        k.env_value("cluster.name", f"llm-router-{ctx.settings.env}"),
        k.env_field("node.name", "metadata.name"),
        k.env_value("network.host", "0.0.0.0"),
        k.env_value("ES_JAVA_OPTS", f"-Xms{c.es_heap} -Xmx{c.es_heap}"),
        k.env_value("ELASTIC_PASSWORD_FILE", f"{SECRETS_DIR}/elastic-password"),
        k.env_value("xpack.security.enabled", "true"),
        k.env_value("xpack.security.http.ssl.enabled", "true"),
        k.env_value("xpack.security.transport.ssl.enabled", "true"),
        # Pods are addressed by changing IPs; the CA, not the host name, is what is verified.
        k.env_value("xpack.security.transport.ssl.verification_mode", "certificate"),
        *(k.env_value(f"xpack.security.{layer}.ssl.{key}", path) for layer in ("http", "transport") for key, path in tls.items()),
    ]
    if replicas == 1:
        env.append(k.env_value("discovery.type", "single-node"))
    else:
        env.append(k.env_value("discovery.seed_hosts", HEADLESS))
        env.append(k.env_value("cluster.initial_master_nodes", ",".join(f"{NAME}-{i}" for i in range(replicas))))
    if c.es_max_map_count == "disableMmap":
        env.append(k.env_value("node.store.allow_mmap", "false"))
    return env


MAX_MAP_COUNT = 262144
TUNING_RESOURCES = k.Resources("5m", "8Mi", "20m", "16Mi")


def node_tuning(ctx: Context) -> list[k.Obj]:
    """vm.max_map_count on every node, from the node agents' namespace (the only privileged step).

    A privileged init container sets the sysctl; the long-running container is unprivileged and
    only reports ready while the node keeps the value, so a node that lost it shows up.
    """
    if ctx.cluster.es_max_map_count != "nodeDaemonSet":
        return []
    app = ctx.app("elasticsearch-node-tuning", "node-tuning", "sysctl", node_agent=True)
    check = k.exec_probe(["sh", "-c", f'[ "$(cat /proc/sys/vm/max_map_count)" -ge {MAX_MAP_COUNT} ]'], initial=5, period=60)
    pause = k.Container(name="pause", image=app.image, resources=TUNING_RESOURCES,
                        command=["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 3600 & wait; done"],
                        liveness=check, readiness=check)
    sysctl = k.Container(name="max-map-count", image=app.image, resources=TUNING_RESOURCES,
                         command=["sysctl", "-w", f"vm.max_map_count={MAX_MAP_COUNT}"]).build()
    # A node sysctl cannot be set otherwise: the one privileged container of the stack.
    sysctl["securityContext"] = {"privileged": True, "runAsUser": 0, "runAsNonRoot": False, "readOnlyRootFilesystem": True}
    pod = k.PodSpec(
        containers=[pause], init_containers=[sysctl], run_as_non_root=False,
        annotations={k.EXCEPTION_ANNOTATION: "privileged init container sets vm.max_map_count on the node"},
        config_checksum=k.checksum(sysctl["command"]),
        skips={check_id: f"init container sets the node sysctl vm.max_map_count ({what}); "
                         "node agents' namespace only, exits at once"
               for check_id, what in (("CKV_K8S_16", "privileged"), ("CKV_K8S_20", "privileged implies escalation"),
                                      ("CKV_K8S_28", "privileged keeps NET_RAW"),
                                      ("CKV_K8S_37", "privileged keeps every capability"))},
    )
    return [k.daemon_set(app, pod), k.pod_disruption_budget(app)]


def _setup_job(ctx: Context, app: k.App, files: dict[str, str]) -> k.Obj:
    container = k.Container(
        name="setup", image=app.image, resources=k.HELPER_RESOURCES,
        command=["/bin/bash", f"{SETUP_DIR}/setup.sh"], run_as_user=UID, mounts=[
            k.mount("setup", SETUP_DIR), k.mount("credentials", SECRETS_DIR), k.mount("ca", CA_DIR),
            k.mount("work", "/scratch", read_only=False),
        ],
    )
    return k.setup_job(k.App("elasticsearch-setup", "setup", app.image, app.namespace), container, [
        k.config_volume("setup", "elasticsearch-setup"), k.secret_volume("credentials", CREDENTIALS),
        ca_volume(ctx, "ca"), {"name": "work", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
    ], files, UID, skips={"CKV_K8S_40": IMAGE_USER})


#: checkov wants uids >= 10000; Elastic's images own their files as uid 1000.
IMAGE_USER = "the image's own user (uid 1000) owns its files; non-root, no host paths"

#: Cluster health on this node, verified against the CA (the certificate names localhost).
READINESS_SCRIPT = CURL_AUTH + "-sf --cacert " + CERTS_DIR + "/ca.crt 'https://localhost:9200/_cluster/health?local=true' >/dev/null"


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "logs-storage", "elasticsearch")
    w, c = ctx.workload("elasticsearch"), ctx.cluster
    files = setup_files(ctx)
    readiness = k.exec_probe(["/bin/bash", "-c", READINESS_SCRIPT % {"secrets": SECRETS_DIR}], initial=20)
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[ES_PORT, TRANSPORT], env=_node_env(ctx),
        run_as_user=UID,
        mounts=[
            k.mount("data", "/usr/share/elasticsearch/data", read_only=False),
            # Writable copies: the entrypoint creates the keystore in config/; logs, JNA and temp files.
            k.mount("config", CONFIG_DIR, read_only=False), k.mount("logs", "/usr/share/elasticsearch/logs", read_only=False),
            k.mount("tmp", "/tmp", read_only=False),
            k.mount("certs", CERTS_DIR), k.mount("credentials", SECRETS_DIR),
        ],
        liveness=k.tcp_probe(TRANSPORT.name, initial=90, failures=6), readiness=readiness,
    )
    copy_config = k.Container(
        name="config", image=app.image, resources=k.HELPER_RESOURCES, run_as_user=UID,
        command=["/bin/bash", "-c", f"cp -a {CONFIG_DIR}/. /config/"], mounts=[k.mount("config", "/config", read_only=False)],
    ).build()
    pod = k.PodSpec(
        containers=[container], init_containers=[copy_config], fs_group=UID,
        volumes=[
            # logs/: the image's JVM options rotate gc.log over 32 files of 64 MiB.
            k.empty_dir("config", "16Mi"), k.empty_dir("logs", "2560Mi"), k.empty_dir("tmp", "1Gi"),
            k.secret_volume("certs", c.es_tls_secret, ["ca.crt", "tls.crt", "tls.key"]),
            k.secret_volume("credentials", CREDENTIALS, ["elastic-password"]),
        ],
        config_checksum=k.checksum(_node_env(ctx)),
        extra={"affinity": k.spread(app, required=c.es_spread == "required")},
        skips={"CKV_K8S_40": IMAGE_USER},
    )
    clients = net.apps("elasticsearch-setup", "logstash", "kibana", "grafana", "jaeger-collector", "jaeger-query", "jaeger-index-cleaner")
    return Service("Elasticsearch", [
        *node_tuning(ctx),
        k.secret(app, CREDENTIALS, {name: ctx.secret(key) for name, key in PASSWORDS.items()}),
        k.config_map(app, "elasticsearch-setup", files),
        k.service(app, [ES_PORT]),
        k.service(app, [ES_PORT, TRANSPORT], name=HEADLESS, headless=True),
        k.stateful_set(app, w.replicas, pod, HEADLESS, [k.pvc_template("data", w.storage or "10Gi", c.storage_class)]),
        k.pod_disruption_budget(app),
        _setup_job(ctx, app, files),
        net.allow(
            app,
            ingress=[net.Flow(clients, [ES_PORT]), net.Flow(net.apps(NAME), [TRANSPORT])],
            egress=[net.Flow(net.apps(NAME), [TRANSPORT])],
        ),
        net.allow(
            k.App("elasticsearch-setup", "setup", app.image, app.namespace),
            egress=[net.Flow(net.apps(NAME), [ES_PORT])],
        ),
    ])
