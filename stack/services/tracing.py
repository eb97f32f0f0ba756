"""Tracing: Jaeger collector (OTLP from the router) and query, spans stored in Elasticsearch.

Least privilege: the collector (and the index cleaner) use the ``jaeger`` writer; jaeger-query
uses ``jaeger_reader``, which may only search ``jaeger-*``. Collector and query read their
password from a mounted file (``ES_PASSWORD_FILE``).
"""

from __future__ import annotations

from stack import flows
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.services.elasticsearch import CA_DIR, ES_PORT, HTTPS_URL, ca_volume

UID = 10001  # the Jaeger images' user
OTLP_GRPC, OTLP_HTTP = k.Port("otlp-grpc", 4317), k.Port("otlp-http", 4318)
QUERY = k.Port("query", 16686)
#: Secret name -> (Elasticsearch user, Pulumi config key of its password).
WRITER, READER = "jaeger", "jaeger-query"
CREDENTIALS = {WRITER: ("jaeger", "jaegerPassword"), READER: ("jaeger_reader", "jaegerReaderPassword")}
PASSWORD_DIR = "/etc/jaeger-es"


def _storage_env(secret: str, password_file: bool = True) -> list[k.Obj]:
    user = CREDENTIALS[secret][0]
    password = (k.env_value("ES_PASSWORD_FILE", f"{PASSWORD_DIR}/es-password") if password_file
                else k.env_secret("ES_PASSWORD", secret, "es-password"))
    return [
        k.env_value("SPAN_STORAGE_TYPE", "elasticsearch"),
        k.env_value("ES_SERVER_URLS", HTTPS_URL),
        k.env_value("ES_USERNAME", user),
        password,
        k.env_value("ES_TLS_ENABLED", "true"),
        k.env_value("ES_TLS_CA", f"{CA_DIR}/ca.crt"),
    ]


def _jaeger(ctx: Context, name: str, image_key: str, ports: list[k.Port], admin: k.Port, extra_env: list[k.Obj],
            secret: str) -> tuple[k.App, k.Obj]:
    app = ctx.app(name, "tracing", image_key)
    container = k.Container(
        name=name, image=app.image, resources=ctx.workload(image_key).resources, ports=[*ports, admin],
        env=[*_storage_env(secret), *extra_env], run_as_user=UID,
        mounts=[k.mount("es-ca", CA_DIR), k.mount("es-password", PASSWORD_DIR)],
        liveness=k.http_probe("/", admin.name), readiness=k.http_probe("/", admin.name, initial=5),
    )
    pod = k.PodSpec(containers=[container], fs_group=UID,
                    volumes=[ca_volume(ctx, "es-ca"), k.secret_volume("es-password", secret, ["es-password"])],
                    config_checksum=k.checksum(_storage_env(secret), extra_env), extra={"affinity": k.spread(app)})
    return app, k.deployment(app, ctx.workload(image_key).replicas, pod)


def _index_cleaner(ctx: Context) -> list[k.Obj]:
    """Daily deletion of span indices older than the retention (Jaeger's own tool)."""
    app = ctx.app("jaeger-index-cleaner", "tracing", "jaegerIndexCleaner")
    container = k.Container(
        name="cleaner", image=app.image, resources=k.HELPER_RESOURCES, run_as_user=UID,
        args=[str(ctx.cluster.trace_retention_days), HTTPS_URL], env=_storage_env(WRITER, password_file=False),
        mounts=[k.mount("es-ca", CA_DIR)],
    )
    pod = k.PodSpec(containers=[container], fs_group=UID, volumes=[ca_volume(ctx, "es-ca")], extra={"restartPolicy": "OnFailure"},
                    skips={"CKV_K8S_35": "the index cleaner reads its password only from ES_PASSWORD "
                                         "(env from the jaeger Secret by secretKeyRef, never a literal)"})
    cron = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": app.meta(annotations=pod.workload_annotations()),
        "spec": {"schedule": "55 23 * * *", "concurrencyPolicy": "Forbid",
                 "jobTemplate": {"spec": {"backoffLimit": 3, "template": pod.template(app)}}},
    }
    return [cron, net.allow(app, egress=[net.Flow(net.apps("elasticsearch"), [ES_PORT])])]


def build(ctx: Context) -> Service:
    collector, collector_deploy = _jaeger(
        ctx, "jaeger-collector", "jaegerCollector", [OTLP_GRPC, OTLP_HTTP], k.Port("admin", 14269),
        [k.env_value("COLLECTOR_OTLP_ENABLED", "true")], WRITER,
    )
    query, query_deploy = _jaeger(ctx, "jaeger-query", "jaegerQuery", [QUERY], k.Port("admin", 16687), [], READER)
    routers = [net.Peer(namespace=ns) for ns in flows.router_namespaces(ctx.settings)]
    to_es = [net.Flow(net.apps("elasticsearch"), [ES_PORT])]
    objects = [
        *(k.secret(collector if name == WRITER else query, name, {"es-password": ctx.secret(key)})
          for name, (_, key) in CREDENTIALS.items()),
        k.service(collector, [OTLP_GRPC, OTLP_HTTP]), collector_deploy, k.pod_disruption_budget(collector),
        net.allow(collector, ingress=[net.Flow(routers, [OTLP_GRPC, OTLP_HTTP])], egress=to_es),
        k.service(query, [QUERY]), query_deploy, k.pod_disruption_budget(query),
        # No Ingress and no login: Grafana's datasource only.
        net.allow(query, ingress=[net.Flow(net.apps("grafana"), [QUERY])], egress=to_es),
        *_index_cleaner(ctx),
    ]
    return Service("Tracing", objects)
