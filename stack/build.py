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
    prometheus,
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
    gpus.dcgm_exporter,
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


def builders(settings: Settings) -> tuple[Callable[[Context], Service], ...]:
    """The components this env deploys: no Grafana when an external one gets the content, the DCGM
    exporter only when the env asks the stack to deploy it."""
    skipped = {grafana.build: not settings.grafana.deploys_grafana,
               gpus.dcgm_exporter: settings.dcgm.mode != "deploy"}
    return tuple(b for b in BUILDERS if not skipped.get(b, False))


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
    if settings.grafana.url:
        out["grafanaUrl"] = settings.grafana.url
    out["otlpHttpEndpoint"] = f"http://jaeger-collector.{c.namespace}.svc:4318"
    out["otlpGrpcEndpoint"] = f"http://jaeger-collector.{c.namespace}.svc:4317"
    return out
