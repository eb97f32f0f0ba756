"""Who may reach what: the one table of allowed network flows.

Each service builds its own NetworkPolicies; tests read every rendered policy back into
(source, target, port) flows and compare them with this table in both directions, so a
widened rule (another namespace, ``0.0.0.0/0``, a missing port) or a forgotten one fails.

Endpoints are our apps by name, or one of the symbolic outside endpoints below.
"""

from __future__ import annotations

from dataclasses import dataclass

from foundation.settings import DCGM_APP, Settings
from foundation.settings.engines import DCGM_PORT, PodTargets

#: Every pod of a namespace (a policy with an empty podSelector).
ALL_PODS = "*"
#: The ingress controller's namespace: only services with an Ingress (and a login) accept it.
INGRESS_CONTROLLER = "ingress-controller"
#: The router's namespaces (router.podNamespaces and the static targets' namespaces).
ROUTERS = "routers"
#: Cluster DNS (any namespace, pods labelled k8s-app=kube-dns).
DNS = "kube-dns"
#: Operator mode: the cluster's Prometheus pods (cluster.operator.namespace, prometheusPodLabels).
OPERATOR_PROMETHEUS = "operator-prometheus"
#: An ipBlock of 0.0.0.0/0: egress only, on the listed ports (API server, node IPs, receivers).
ANYWHERE = "0.0.0.0/0"
#: No ``ports`` in the rule: every port.
ANY_PORT = 0

#: Pods on the host network: peers reach them at node IPs (ANYWHERE), and most CNIs do not apply
#: NetworkPolicies to them; their own policy documents the intent.
HOST_NETWORK = frozenset({"node-exporter"})

API_PORTS = (443, 6443)
RECEIVER_PORTS = (443, 25, 465, 587)
NODE_EXPORTER_PORT = 9100


@dataclass(frozen=True, order=True)
class Flow:
    source: str
    target: str
    #: A number, ANY_PORT, or a container port's name (pods outside the stack: engines, DCGM).
    port: int | str
    protocol: str = "TCP"

    def __str__(self) -> str:
        port = "any port" if self.port == ANY_PORT else f"{self.port}/{self.protocol}"
        return f"{self.source} -> {self.target} {port}"


def router_namespaces(settings: Settings) -> list[str]:
    """router.podNamespaces plus the namespace of every static target written ``<svc>.<namespace>.svc``."""
    out = set(settings.router.pod_namespaces)
    for target in settings.router.targets:
        parts = target.rpartition(":")[0].split(".")
        if len(parts) >= 3 and parts[2] == "svc":
            out.add(parts[1])
    return sorted(out)


def scrape_targets(settings: Settings) -> dict[str, PodTargets]:
    """Pods outside the stack that Prometheus scrapes, by table endpoint: ``engine:<backend>`` for each engine,
    ``dcgm:<namespace>`` for an existing DCGM exporter (the stack's own is the app ``dcgm-exporter``)."""
    out = {f"engine:{e.name}": e.targets for e in settings.engines.engines}
    if settings.dcgm.mode == "scrape" and settings.dcgm_targets is not None:
        out["dcgm:" + ",".join(settings.dcgm_targets.namespaces)] = settings.dcgm_targets
    return out


def _to(source: str, target: str, *ports: int | str, protocol: str = "TCP") -> list[Flow]:
    return [Flow(source, target, p, protocol) for p in ports]


def allowed_flows(settings: Settings) -> set[Flow]:
    """The complete set of flows an env's policies may allow (and must allow)."""
    c, beats = settings.cluster, settings.logging.beats_port
    es_clients = ("elasticsearch-setup", "logstash", "kibana", "grafana", "jaeger-collector", "jaeger-query",
                  "jaeger-index-cleaner")
    flows = [
        # Every pod resolves names.
        *_to(ALL_PODS, DNS, 53), *_to(ALL_PODS, DNS, 53, protocol="UDP"),
        # Prometheus scrapes the routers, the exporters and notifies Alertmanager; discovers via the API.
        *_to("prometheus", ROUTERS, ANY_PORT),
        *_to("prometheus", ANYWHERE, *API_PORTS),
        # node-exporter is on the host network: its address is a node IP, not a pod.
        *_to("prometheus", ANYWHERE, NODE_EXPORTER_PORT), *_to("prometheus", "node-exporter", NODE_EXPORTER_PORT),
        *_to("prometheus", "kube-state-metrics", 8080),
        *_to("prometheus", "alertmanager", 9093),
        # Grafana reads every datasource (Prometheus through the Thanos Querier when there is one).
        *(_to("grafana", "prometheus", 9090) if not settings.metrics_store.thanos_enabled else []),
        *_to("grafana", "alertmanager", 9093),
        *_to("grafana", "elasticsearch", 9200), *_to("grafana", "jaeger-query", 16686),
        # Alertmanager gossip and its receivers outside the cluster.
        *_to("alertmanager", "alertmanager", 9094), *_to("alertmanager", "alertmanager", 9094, protocol="UDP"),
        *_to("alertmanager", ANYWHERE, *RECEIVER_PORTS),
        # Elasticsearch: clients on HTTPS, nodes among themselves on the transport port.
        *(f for client in es_clients for f in _to(client, "elasticsearch", 9200)),
        *_to("elasticsearch", "elasticsearch", 9300),
        # Logs: Filebeat (node agents' namespace) -> Logstash over mutual TLS; Kibana's import Job.
        *_to("filebeat", "logstash", beats),
        *_to("filebeat", ANYWHERE, *API_PORTS),
        *_to("kibana-setup", "kibana", 5601),
        # Traces from the routers; kube-state-metrics and kube-rbac-proxy ask the API server.
        *_to(ROUTERS, "jaeger-collector", 4317, 4318),
        *_to("kube-state-metrics", ANYWHERE, *API_PORTS),
        *_to("node-exporter", ANYWHERE, *API_PORTS),
    ]
    # Engines and an existing DCGM exporter: their metrics port, their pods only; the stack's exporter: 9400.
    flows += [f for name, t in scrape_targets(settings).items() for f in _to("prometheus", name, t.discovery.port)]
    if settings.dcgm.mode == "deploy":
        flows += _to("prometheus", DCGM_APP, DCGM_PORT)
    if c.operator is not None:  # operator mode: no Prometheus, Alertmanager or exporters of ours
        ours = {"prometheus", "alertmanager", "node-exporter", "kube-state-metrics"}
        # The cluster's Prometheus scrapes what ours would have scraped of the stack's own pods (DCGM).
        scraped = [Flow(OPERATOR_PROMETHEUS, f.target, f.port) for f in flows
                   if f.source == "prometheus" and f.target == DCGM_APP]
        flows = [f for f in flows if not {f.source, f.target} & ours] + scraped
        flows += _to("grafana", OPERATOR_PROMETHEUS, c.operator.prometheus_port)
    flows += metrics_store_flows(settings) + grafana_ha_flows(settings)
    # The ingress controller reaches only what has an Ingress (a host configured, and a login).
    flows += [f for name, port in (("grafana", 3000), ("kibana", 5601)) if name in c.ingress_hosts
              for f in _to(INGRESS_CONTROLLER, name, port)]
    return set(flows)


THANOS_GRPC, THANOS_HTTP = 10901, 10902


def metrics_store_flows(settings: Settings) -> list[Flow]:
    """Thanos: the Querier reads sidecars and Store Gateways, three components reach the bucket,
    Prometheus scrapes them all. Remote write: Prometheus reaches the endpoint's port."""
    store = settings.metrics_store
    if store.thanos_enabled:
        bucket = store.thanos.object_store_port
        return [
            *_to("grafana", "thanos-query", THANOS_HTTP),
            *_to("thanos-query", "prometheus", THANOS_GRPC), *_to("thanos-query", "thanos-store", THANOS_GRPC),
            *(f for target in ("prometheus", "thanos-query", "thanos-store", "thanos-compactor")
              for f in _to("prometheus", target, THANOS_HTTP)),
            *(f for source in ("prometheus", "thanos-store", "thanos-compactor") for f in _to(source, ANYWHERE, bucket)),
        ]
    if store.remote_write is not None:
        return _to("prometheus", ANYWHERE, store.remote_write.port)
    return []


def grafana_ha_flows(settings: Settings) -> list[Flow]:
    """Grafana on PostgreSQL: its database outside the cluster, and alerting gossip between replicas."""
    database = settings.grafana.database
    if not (settings.grafana.deploys_grafana and database.shared):
        return []
    return [*_to("grafana", "grafana", 9094), *_to("grafana", "grafana", 9094, protocol="UDP"),
            *_to("grafana", ANYWHERE, database.port)]
