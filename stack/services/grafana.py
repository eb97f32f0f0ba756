"""Grafana: admin password from a Secret, no anonymous access or sign-up, everything provisioned."""

from __future__ import annotations

from typing import Any

import yaml

from dashboards.datasources import DASHBOARDS_MOUNT, ELASTICSEARCH_UID
from dashboards.render import DASHBOARDS_DIR, DATASOURCES_FILE, PROVIDER_FILE
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.services.elasticsearch import CA_DIR, ES_PORT, HTTPS_URL, ca_volume

NAME = "grafana"
PORT = k.Port("http", 3000)
#: Not the image's uid 472: the image keeps its writable dirs world-writable and ours are emptyDirs,
#: so it runs as nobody like kube-prometheus runs it (checkov: uids below 10000 may be host users).
UID = k.DEFAULT_UID
SECRETS_DIR = "/etc/grafana/secrets"
PROVISIONING = "/etc/grafana/provisioning"
READER_USER = "grafana_reader"


def datasources(text: str) -> str:
    """The rendered datasources with in-cluster Elasticsearch access: TLS and a read-only user.

    Grafana expands ``$__file{}`` at provisioning time, so the password stays in the Secret.
    """
    doc: dict[str, Any] = yaml.safe_load(text)
    for ds in doc.get("datasources", []):
        if ds.get("uid") == ELASTICSEARCH_UID:
            ds.update(url=HTTPS_URL, basicAuth=True, basicAuthUser=READER_USER)
            ds.setdefault("jsonData", {})["tlsAuthWithCACert"] = True
            ds["secureJsonData"] = {
                "basicAuthPassword": f"$__file{{{SECRETS_DIR}/es-reader-password}}",
                "tlsCACert": f"$__file{{{CA_DIR}/ca.crt}}",
            }
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "dashboards", "grafana")
    w, c = ctx.workload("grafana"), ctx.cluster
    sources = {"datasources.yaml": datasources(ctx.artifacts[DATASOURCES_FILE])} if DATASOURCES_FILE in ctx.artifacts else {}
    providers = {"dashboards.yaml": ctx.artifacts[PROVIDER_FILE]} if PROVIDER_FILE in ctx.artifacts else {}
    boards = ctx.under(DASHBOARDS_DIR + "/")
    env = [
        k.env_value("GF_SECURITY_ADMIN_USER", "admin"),
        k.env_value("GF_SECURITY_ADMIN_PASSWORD__FILE", f"{SECRETS_DIR}/admin-password"),
        k.env_value("GF_AUTH_ANONYMOUS_ENABLED", "false"),
        k.env_value("GF_USERS_ALLOW_SIGN_UP", "false"),
        k.env_value("GF_ANALYTICS_REPORTING_ENABLED", "false"),
        k.env_value("GF_ANALYTICS_CHECK_FOR_UPDATES", "false"),
        k.env_value("GF_LOG_MODE", "console"),
        k.env_value("GF_PATHS_PROVISIONING", PROVISIONING),
    ]
    if NAME in c.ingress_hosts:
        env.append(k.env_value("GF_SERVER_ROOT_URL", f"https://{c.ingress_hosts[NAME]}/"))
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[PORT], env=env, run_as_user=UID,
        mounts=[
            k.mount("data", "/var/lib/grafana", read_only=False),
            k.mount("tmp", "/tmp", read_only=False),
            k.mount("datasources", f"{PROVISIONING}/datasources"),
            k.mount("providers", f"{PROVISIONING}/dashboards"),
            k.mount("dashboards", DASHBOARDS_MOUNT),
            k.mount("secrets", SECRETS_DIR),
            k.mount("es-ca", CA_DIR),
        ],
        liveness=k.http_probe("/api/health", PORT.name, initial=30),
        readiness=k.http_probe("/api/health", PORT.name, initial=5),
    )
    pod = k.PodSpec(
        containers=[container], fs_group=UID, config_checksum=k.checksum(sources, providers, boards),
        volumes=[
            k.empty_dir("data", "1Gi"), k.empty_dir("tmp"),
            k.config_volume("datasources", "grafana-datasources"),
            k.config_volume("providers", "grafana-dashboard-providers"),
            k.config_volume("dashboards", "grafana-dashboards"),
            k.secret_volume("secrets", "grafana"),
            ca_volume(ctx, "es-ca"),
        ],
    )
    objects = [
        k.secret(app, "grafana", {
            "admin-password": ctx.secret("grafanaAdminPassword"),
            "es-reader-password": ctx.secret("grafanaReaderPassword"),
        }),
        k.config_map(app, "grafana-datasources", sources),
        k.config_map(app, "grafana-dashboard-providers", providers),
        k.config_map(app, "grafana-dashboards", boards),
        k.service(app, [PORT]),
        k.deployment(app, w.replicas, pod),
        k.pod_disruption_budget(app),
        net.allow(
            app,
            ingress=[net.Flow(net.ingress_controller(app, c.ingress_hosts, c.ingress_namespace), [PORT])],
            egress=[
                net.Flow(net.apps("prometheus"), [k.Port("prometheus", 9090)]),
                net.Flow(net.apps("alertmanager"), [k.Port("alertmanager", 9093)]),
                net.Flow(net.apps("elasticsearch"), [ES_PORT]),
                net.Flow(net.apps("jaeger-query"), [k.Port("jaeger", 16686)]),
            ],
        ),
    ]
    objects += k.ingresses(app, PORT.name, c)
    return Service("Grafana", objects)
