"""Kibana: connects as the built-in ``kibana_system`` user; a Job imports the log pipeline's saved objects."""

from __future__ import annotations

from logpipeline import kibana as saved_objects
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.services.elasticsearch import (
    CA_DIR,
    CREDENTIALS,
    CURL_AUTH,
    ES_PORT,
    HTTPS_URL,
    IMAGE_USER,
    SECRETS_DIR,
    ca_volume,
)

NAME = "kibana"
UID = 1000
PORT = k.Port("http", 5601)
OBJECTS_DIR = "/etc/kibana-objects"
ENCRYPTION_KEY_VARS = (
    "XPACK_SECURITY_ENCRYPTIONKEY", "XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY", "XPACK_REPORTING_ENCRYPTIONKEY",
)
IMPORT_SCRIPT = """#!/bin/bash
set -euo pipefail
until """ + CURL_AUTH + """-sf http://kibana:5601/api/status >/dev/null; do echo "waiting for kibana"; sleep 5; done
for f in %(dir)s/*.ndjson; do
  """ + CURL_AUTH + """-sSf -H 'kbn-xsrf: true' -X POST \\
    'http://kibana:5601/api/saved_objects/_import?overwrite=true' --form "file=@$f"
  echo
done
"""


def _import_job(app: k.App, objects: dict[str, str]) -> k.Obj:
    container = k.Container(
        name="import", image=app.image, resources=k.HELPER_RESOURCES, run_as_user=UID,
        command=["/bin/bash", "-c", IMPORT_SCRIPT % {"secrets": SECRETS_DIR, "dir": OBJECTS_DIR}],
        mounts=[k.mount("objects", OBJECTS_DIR), k.mount("credentials", SECRETS_DIR)],
    )
    return k.setup_job(k.App("kibana-setup", "setup", app.image, app.namespace), container, [
        k.config_volume("objects", "kibana-saved-objects"),
        k.secret_volume("credentials", CREDENTIALS, ["elastic-password"]),
    ], objects, UID, skips={"CKV_K8S_40": IMAGE_USER})


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "logs-ui", "kibana")
    w, c = ctx.workload("kibana"), ctx.cluster
    objects = {p.rpartition("/")[2]: text for p, text in ctx.artifacts.items() if p == saved_objects.NDJSON_PATH}
    env = [
        k.env_value("SERVER_NAME", NAME),
        k.env_value("ELASTICSEARCH_HOSTS", f'["{HTTPS_URL}"]'),
        k.env_value("ELASTICSEARCH_USERNAME", "kibana_system"),
        k.env_secret("ELASTICSEARCH_PASSWORD", "kibana", "kibana-system-password"),
        # One key for all replicas: sessions and encrypted saved objects work on any of them.
        *(k.env_secret(var, "kibana", "encryption-key") for var in ENCRYPTION_KEY_VARS),
        k.env_value("ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES", f"{CA_DIR}/ca.crt"),
        # Behind a public Ingress: no status (versions, plugins) for anonymous callers.
        k.env_value("STATUS_ALLOWANONYMOUS", "false"),
        k.env_value("TELEMETRY_OPTIN", "false"),
    ]
    if NAME in c.ingress_hosts:
        env.append(k.env_value("SERVER_PUBLICBASEURL", f"https://{c.ingress_hosts[NAME]}"))
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[PORT], env=env, run_as_user=UID,
        mounts=[
            k.mount("data", "/usr/share/kibana/data", read_only=False), k.mount("tmp", "/tmp", read_only=False),
            k.mount("es-ca", CA_DIR),
        ],
        # The login page answers 200 without credentials once Kibana is ready (503 before).
        liveness=k.tcp_probe(PORT.name, initial=120), readiness=k.http_probe("/login", PORT.name, initial=30),
    )
    pod = k.PodSpec(
        containers=[container], fs_group=UID, volumes=[k.empty_dir("data"), k.empty_dir("tmp"), ca_volume(ctx, "es-ca")],
        config_checksum=k.checksum(env),
        skips={
            "CKV_K8S_35": "Kibana has no password-file setting: the kibana_system password and encryption keys "
                          "come from the kibana Secret by secretKeyRef",
            "CKV_K8S_40": IMAGE_USER,
        },
    )
    out = [
        k.secret(app, "kibana", {
            "kibana-system-password": ctx.secret("kibanaSystemPassword"),
            "encryption-key": ctx.secret("kibanaEncryptionKey"),
        }),
        k.service(app, [PORT]),
        k.deployment(app, w.replicas, pod),
        k.pod_disruption_budget(app),
        net.allow(
            app,
            ingress=[net.Flow([*net.apps("kibana-setup"), *net.ingress_controller(app, c.ingress_hosts, c.ingress_namespace)],
                              [PORT])],
            egress=[net.Flow(net.apps("elasticsearch"), [ES_PORT])],
        ),
    ]
    if objects:
        job_app = k.App("kibana-setup", "setup", app.image, app.namespace)
        out += [
            k.config_map(app, "kibana-saved-objects", objects),
            _import_job(app, objects),
            net.allow(job_app, egress=[net.Flow(net.apps(NAME), [PORT])]),
        ]
    out += k.ingresses(app, PORT.name, c)
    return Service("Kibana", out)
