"""Prometheus: HA StatefulSet (identical replicas, own PVC each), discovery RBAC, rules from the alerts renderer."""

from __future__ import annotations

import posixpath

from foundation.settings import DCGM_APP
from foundation.settings.engines import DCGM_PORT
from stack import flows
from stack import network as net
from stack import objects as k
from stack.model import Context, Service
from stack.promconfig import CA_DIR, CONFIG_DIR, RULES_DIR, in_cluster
from stack.services import longterm
from stack.services.alertmanager import peer_addresses
from stack.services.elasticsearch import ca_volume

NAME = "prometheus"
PORT = k.Port("web", 9090)
CONFIG_FILE = "prometheus/prometheus.yml"
RULES_PREFIX = "prometheus/rules/"
DISCOVERY_RULES = (
    k.read_rule([""], ["nodes", "nodes/metrics", "services", "endpoints", "pods"]),
    k.read_rule(["discovery.k8s.io"], ["endpointslices"]),
    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
)


def rule_files(ctx: Context) -> dict[str, str]:
    """Rule files directly under prometheus/rules/ (promtool test files in subfolders stay out)."""
    return {
        name: text for name, text in ctx.under(RULES_PREFIX).items()
        if "/" not in name and posixpath.splitext(name)[1] in (".yml", ".yaml")
    }


def config_files(ctx: Context) -> dict[str, str]:
    text = ctx.artifacts.get(CONFIG_FILE)
    if text is None:
        return {}
    am = ctx.workload("alertmanager").replicas
    config = in_cluster(text, ctx.namespace, ctx.node_namespace, peer_addresses(ctx.namespace, am, 9093))
    return {"prometheus.yml": longterm.overlay(config, ctx.settings, ctx.namespace)}


def scrape_flows(ctx: Context) -> list[net.Flow]:
    """The engines' pods and the DCGM exporter's, on their metrics port only (``stack.flows``)."""
    out = [net.Flow([net.Peer(namespace=ns, pods=tuple(t.discovery.pod_labels.items())) for ns in t.namespaces],
                    [k.Port("metrics", t.discovery.port)])
           for t in flows.scrape_targets(ctx.settings).values()]
    if ctx.settings.dcgm.mode == "deploy":
        out.append(net.Flow([net.Peer(app=DCGM_APP, namespace=ctx.node_namespace)], [k.Port("dcgm", DCGM_PORT)]))
    return out


def build(ctx: Context) -> Service:
    app = ctx.app(NAME, "metrics", "prometheus")
    w, c = ctx.workload("prometheus"), ctx.cluster
    config, rules = config_files(ctx), rule_files(ctx)
    extra = longterm.prometheus_additions(ctx, app, "data", "/prometheus", PORT.port)
    container = k.Container(
        name=NAME, image=app.image, resources=w.resources, ports=[PORT],
        args=[
            f"--config.file={CONFIG_DIR}/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            f"--storage.tsdb.retention.time={c.prometheus_retention}",
            f"--storage.tsdb.retention.size={c.prometheus_retention_size}",
            # Default (and a logged no-op) since 3.0; keeps ${POD_NAME} expanded if an env pins a 2.x image.
            "--enable-feature=expand-external-labels",
            *extra.args,
        ],
        env=[k.env_field("POD_NAME", "metadata.name")],
        mounts=[k.mount("config", CONFIG_DIR), k.mount("rules", RULES_DIR), k.mount("data", "/prometheus", read_only=False),
                k.mount("ca", CA_DIR), *extra.mounts],
        liveness=k.http_probe("/-/healthy", PORT.name, initial=30),
        # WAL replay after a restart can take minutes: readiness waits, liveness does not kill.
        readiness=k.http_probe("/-/ready", PORT.name, initial=10, failures=60),
    )
    pod = k.PodSpec(
        containers=[container, *extra.containers], service_account=NAME,
        volumes=[k.config_volume("config", "prometheus-config"), k.config_volume("rules", "prometheus-rules"),
                 # The internal CA (one issuer for every internal certificate) verifies kube-rbac-proxy.
                 ca_volume(ctx, "ca"), *extra.volumes],
        config_checksum=k.checksum(config, rules),
        extra={"affinity": k.spread(app)},
        skips={"CKV_K8S_38": "service discovery and the node-exporter scrape authenticate with its API token"},
    )
    claims = [k.pvc_template("data", w.storage or "10Gi", c.storage_class)]
    objects = [
        *k.rbac(app, DISCOVERY_RULES),
        k.config_map(app, "prometheus-config", config),
        k.config_map(app, "prometheus-rules", rules),
        k.service(app, [PORT], sticky=True),
        k.service(app, [PORT, *extra.headless_ports], name="prometheus-headless", headless=True),
        k.stateful_set(app, w.replicas, pod, "prometheus-headless", claims),
        k.pod_disruption_budget(app),
        net.allow(
            app,
            # No Ingress and no login: Grafana only (people use kubectl port-forward); with Thanos
            # Grafana asks the Querier, which reads the sidecars.
            ingress=[*([] if ctx.settings.metrics_store.thanos_enabled else [net.Flow(net.apps("grafana"), [PORT])]),
                     *extra.ingress],
            egress=[
                # Router pods expose metrics on the port their annotation names: any port, those namespaces only.
                net.Flow([net.Peer(namespace=ns) for ns in flows.router_namespaces(ctx.settings)], []),
                net.Flow(net.anywhere(), net.API_PORTS),
                # node-exporter listens on node IPs (host network).
                net.Flow(net.anywhere(), [k.Port("node-exporter", flows.NODE_EXPORTER_PORT)]),
                net.Flow(net.apps("kube-state-metrics"), [k.Port("ksm", 8080)]),
                net.Flow(net.apps("alertmanager"), [k.Port("alertmanager", 9093)]),
                *scrape_flows(ctx),
                *extra.egress,
            ],
        ),
        *extra.objects,
    ]
    return Service("Prometheus", objects)

