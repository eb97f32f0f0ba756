"""Grafana: admin password from a Secret, no anonymous access or sign-up.

Content is provisioned from files (``grafana.delivery: provisioning``) or created through the
API by the Pulumi Grafana provider (``provider``: ``stack.grafana_api``); then Grafana keeps it
in its database, on a volume (``cluster.grafana.storage``) so that a restart loses nothing.
"""

from __future__ import annotations

import yaml

from dashboards.datasources import DASHBOARDS_MOUNT
from dashboards.render import DASHBOARDS_DIR, DATASOURCES_FILE, PROVIDER_FILE
from foundation.settings.grafana import DATABASE_SECRET
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.services import thanos
from stack.services.elasticsearch import CA_DIR, ES_PORT, ca_volume
from stack.services.grafana_content import READER_SECRET, SECRETS_DIR, provisioning_document

NAME = "grafana"
PORT = k.Port("http", 3000)
#: Not the image's uid 472: the image keeps its writable dirs world-writable and ours are emptyDirs
#: or a volume owned by fsGroup, so it runs as nobody like kube-prometheus runs it (checkov: uids
#: below 10000 may be host users).
UID = k.DEFAULT_UID
PROVISIONING = "/etc/grafana/provisioning"
DATA_DIR = "/var/lib/grafana"


#: Unified alerting's gossip between replicas (shared silences and notification state).
GOSSIP = [k.Port("gossip-tcp", 9094), k.Port("gossip-udp", 9094, "UDP")]
ALERTING_PEERS = "grafana-alerting"


def ha_env(ctx: Context) -> list[k.Obj]:
    """Replicas on one PostgreSQL (users, sessions, dashboards, alert rules) whose alertmanagers
    gossip like Alertmanager's own cluster, so each alert notification is sent once."""
    db = ctx.settings.grafana.database
    return [
        k.env_value("GF_DATABASE_TYPE", "postgres"),
        k.env_value("GF_DATABASE_URL__FILE", f"{SECRETS_DIR}/database-url"),
        k.env_value("GF_DATABASE_SSL_MODE", db.ssl_mode),
        k.env_field("POD_IP", "status.podIP"),
        k.env_value("GF_UNIFIED_ALERTING_HA_LISTEN_ADDRESS", f"$(POD_IP):{GOSSIP[0].port}"),
        k.env_value("GF_UNIFIED_ALERTING_HA_ADVERTISE_ADDRESS", f"$(POD_IP):{GOSSIP[0].port}"),
        k.env_value("GF_UNIFIED_ALERTING_HA_PEERS", f"{ALERTING_PEERS}.{ctx.namespace}.svc:{GOSSIP[0].port}"),
    ]


def prometheus_flow(ctx: Context) -> net.Flow:
    """Grafana's Prometheus data source: the Thanos Querier when the env runs Thanos."""
    if ctx.settings.metrics_store.thanos_enabled:
        return net.Flow(net.apps(thanos.QUERY), [thanos.HTTP])
    return net.Flow(net.apps("prometheus"), [k.Port("prometheus", 9090)])


def _datasources(ctx: Context, text: str) -> str:
    """The rendered data sources with in-cluster Elasticsearch access: TLS and a read-only user.

    Grafana expands ``$__file{}`` at provisioning time, so the password stays in the Secret.
    """
    doc = provisioning_document(ctx.settings, yaml.safe_load(text))
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def _provisioning(ctx: Context) -> tuple[list[k.Obj], list[k.Obj], list[k.Obj]]:
    """(ConfigMaps, mounts, volumes) of the provisioning files; none when the API delivers content."""
    if ctx.settings.grafana.uses_provider:
        return [], [], []
    app = ctx.app(NAME, "dashboards", "grafana")
    sources = {"datasources.yaml": _datasources(ctx, ctx.artifacts[DATASOURCES_FILE])} if DATASOURCES_FILE in ctx.artifacts else {}
    providers = {"dashboards.yaml": ctx.artifacts[PROVIDER_FILE]} if PROVIDER_FILE in ctx.artifacts else {}
    maps = [
        k.config_map(app, "grafana-datasources", sources),
        k.config_map(app, "grafana-dashboard-providers", providers),
        k.config_map(app, "grafana-dashboards", ctx.under(DASHBOARDS_DIR + "/")),
    ]
    mounts = [
        k.mount("datasources", f"{PROVISIONING}/datasources"),
        k.mount("providers", f"{PROVISIONING}/dashboards"),
        k.mount("dashboards", DASHBOARDS_MOUNT),
    ]
    volumes = [
        k.config_volume("datasources", "grafana-datasources"),
        k.config_volume("providers", "grafana-dashboard-providers"),
        k.config_volume("dashboards", "grafana-dashboards"),
    ]
    return maps, mounts, volumes


def _metrics_backend(ctx: Context) -> list[net.Flow]:
    """Our Prometheus (or Thanos Querier) and Alertmanager, or in operator mode the cluster's Prometheus pods."""
    o = ctx.cluster.operator
    if o is None:
        return [prometheus_flow(ctx), net.Flow(net.apps("alertmanager"), [k.Port("alertmanager", 9093)])]
    return [net.Flow([net.prometheus(ctx.namespace, o)], [k.Port("prometheus", o.prometheus_port)])]


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "dashboards", "grafana")
    w, c = ctx.workload("grafana"), ctx.cluster
    maps, provisioning_mounts, provisioning_volumes = _provisioning(ctx)
    # Data sources read the reader password and the CA from files only when provisioned.
    file_secrets = {} if ctx.settings.grafana.uses_provider else {"es-reader-password": ctx.secret(READER_SECRET)}
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
    database = ctx.settings.grafana.database
    if database.shared:
        env += ha_env(ctx)
        file_secrets["database-url"] = ctx.secret(DATABASE_SECRET)
    ca = [k.mount("es-ca", CA_DIR)] if not ctx.settings.grafana.uses_provider else []
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[PORT, *(GOSSIP if database.shared else [])], env=env,
        run_as_user=UID,
        mounts=[
            k.mount("data", DATA_DIR, read_only=False),
            k.mount("tmp", "/tmp", read_only=False),
            *provisioning_mounts,
            k.mount("secrets", SECRETS_DIR),
            *ca,
        ],
        liveness=k.http_probe("/api/health", PORT.name, initial=30),
        readiness=k.http_probe("/api/health", PORT.name, initial=5),
    )
    persistent = w.storage is not None
    pod = k.PodSpec(
        containers=[container], fs_group=UID,
        config_checksum=k.checksum(*(m["data"] for m in maps)),
        extra={"affinity": k.spread(app)} if database.shared else {},
        volumes=[
            *([] if persistent else [k.empty_dir("data", "1Gi")]), k.empty_dir("tmp"),
            *provisioning_volumes,
            k.secret_volume("secrets", "grafana"),
            *([ca_volume(ctx, "es-ca")] if ca else []),
        ],
    )
    workload = (
        k.stateful_set(app, w.replicas, pod, NAME, [k.pvc_template("data", w.storage, c.storage_class)])
        if w.storage is not None else k.deployment(app, w.replicas, pod)
    )
    objects = [
        k.secret(app, "grafana", {"admin-password": ctx.secret("grafanaAdminPassword"), **file_secrets}),
        *maps,
        k.service(app, [PORT]),
        *([k.service(app, GOSSIP, name=ALERTING_PEERS, headless=True)] if database.shared else []),
        workload,
        k.pod_disruption_budget(app),
        net.allow(
            app,
            ingress=[net.Flow(net.ingress_controller(app, c.ingress_hosts, c.ingress_namespace), [PORT]),
                     *([net.Flow(net.apps(NAME), GOSSIP)] if database.shared else [])],
            egress=[
                *_metrics_backend(ctx),
                *([net.Flow(net.apps(NAME), GOSSIP), net.Flow(net.anywhere(), [k.Port("postgres", database.port)])]
                  if database.shared else []),
                net.Flow(net.apps("elasticsearch"), [ES_PORT]),
                net.Flow(net.apps("jaeger-query"), [k.Port("jaeger", 16686)]),
            ],
        ),
    ]
    objects += k.ingresses(app, PORT.name, c)
    return Service("Grafana", objects)
