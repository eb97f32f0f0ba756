"""The whole stack as pure data: every Service (component) with its Kubernetes objects, in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import alerts.render
import dashboards.render
import logpipeline.render
from foundation.artifacts import merge
from foundation.settings import Settings
from stack import network as net
from stack.model import Context, Service
from stack.objects import image_version
from stack.services import (
    alertmanager,
    elasticsearch,
    exporters,
    filebeat,
    gpus,
    grafana,
    kibana,
    logstash,
    operator_monitoring,
    prometheus,
    thanos,
    tracing,
)

#: The renderers whose config the stack ships (``stack.render`` itself is not one of them).
UPSTREAM = (
    ("alerts.render", alerts.render.artifacts),
    ("dashboards.render", dashboards.render.artifacts),
    ("logpipeline.render", logpipeline.render.artifacts),
)

BUILDERS: tuple[Callable[[Context], Service], ...] = (
    prometheus.build, alertmanager.build, grafana.build, elasticsearch.build, logstash.build,
    kibana.build, filebeat.build, tracing.build, exporters.node_exporter, exporters.kube_state_metrics,
    thanos.build, gpus.dcgm_exporter,
)
#: Where each UI/API is reached inside the cluster: (service name, port).
ENDPOINTS = {
    "grafana": ("grafana", 3000), "prometheus": ("prometheus", 9090),
    "alertmanager": ("alertmanager", 9093), "kibana": ("kibana", 5601),
}


def upstream_artifacts(settings: Settings) -> dict[str, str]:
    return merge(settings, UPSTREAM)


def namespace_service(settings: Settings) -> Service:
    """The monitoring namespace (restricted Pod Security) and the node agents' one (privileged)."""
    version = image_version(settings.cluster.images["prometheus"])
    c = settings.cluster
    return Service("Namespace", [
        net.namespace_object(c.namespace, version, net.RESTRICTED), *net.namespace_baseline(c.namespace, version),
        net.namespace_object(c.node_namespace, version, net.PRIVILEGED), *net.namespace_baseline(c.node_namespace, version),
    ])


#: What the cluster's Prometheus Operator stack runs in operator mode (``cluster.metricsBackend``).
OPERATOR_RUN = (prometheus.build, alertmanager.build, exporters.node_exporter, exporters.kube_state_metrics)


def builders(settings: Settings) -> tuple[Callable[[Context], Service], ...]:
    """The components this env deploys: no Grafana when an external one gets the content, Thanos
    only with ``metricsStore.mode: thanos``, the DCGM exporter only when the env asks the stack to
    deploy it; in operator mode the objects the cluster's operator picks up instead of our
    Prometheus, Alertmanager and exporters (the DCGM exporter stays: kube-prometheus-stack runs none)."""
    skipped = {grafana.build: not settings.grafana.deploys_grafana, thanos.build: not settings.metrics_store.thanos_enabled,
               gpus.dcgm_exporter: settings.dcgm.mode != "deploy"}
    chosen = tuple(b for b in BUILDERS if not skipped.get(b, False))
    if settings.cluster.runs_prometheus:
        return chosen
    return (*(b for b in chosen if b not in OPERATOR_RUN), operator_monitoring.build)


def build_services(settings: Settings, secrets: Mapping[str, Any], artifacts: Mapping[str, str]) -> list[Service]:
    """The namespace first, then one Service per monitoring component."""
    ctx = Context(settings, artifacts, secrets)
    return [namespace_service(settings), *(build(ctx) for build in builders(settings))]


def endpoints(settings: Settings) -> dict[str, str]:
    """Stack outputs: the ingress URL when a host is configured, else the in-cluster URL."""
    c = settings.cluster
    out = {}
    for name, (service, port) in ENDPOINTS.items():
        host = c.ingress_hosts.get(name)
        out[f"{name}Url"] = f"https://{host}" if host else f"http://{service}.{c.namespace}.svc:{port}"
    if c.operator is not None:  # the cluster's; its Alertmanager is reached through the operator's stack
        out["prometheusUrl"] = c.operator.prometheus_url
        del out["alertmanagerUrl"]
    if settings.grafana.url:
        out["grafanaUrl"] = settings.grafana.url
    out["otlpHttpEndpoint"] = f"http://jaeger-collector.{c.namespace}.svc:4318"
    out["otlpGrpcEndpoint"] = f"http://jaeger-collector.{c.namespace}.svc:4317"
    return out
