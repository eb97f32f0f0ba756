"""Where the router runs, how Prometheus finds each instance, and which label values it may expose.

In Kubernetes every router pod is discovered and scraped on its own (``kubernetes``): scraping
a Service address would land each scrape on a random pod. Outside Kubernetes (and in the local
stack) the router is a list of static ``host:port`` targets. An env gives one or the other::

    router:
      podNamespaces: [llm-router-prod]
      kubernetes:
        podLabels: {app.kubernetes.io/name: llm-router}   # every label must match
        port: metrics                                      # container port name, or its number
      queueCapacity: 64                                    # optional: queue alerts relative to it
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from foundation.settings.reader import Reader

#: Kubernetes label keys (optional DNS-subdomain prefix and a name) and values.
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
LABEL_KEY_RE = re.compile(rf"^([a-z0-9]([-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_LABEL_NAME}$")
LABEL_VALUE_RE = re.compile(rf"^({_LABEL_NAME})?$")
PORT_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class PodDiscovery:
    """Router pods: in ``RouterSettings.pod_namespaces``, carrying every one of ``pod_labels``."""

    pod_labels: Mapping[str, str]
    #: The metrics port: a container port name (str) or number (int).
    port: str | int
    metrics_path: str = "/metrics"

    KEYS = frozenset({"podLabels", "port", "metricsPath"})

    @classmethod
    def parse(cls, r: Reader) -> PodDiscovery:
        r.reject_unknown(cls.KEYS)
        labels = r.section("podLabels", required=True)
        if not labels.data:
            raise r.error("podLabels", "needs at least one label that only these pods carry")
        for key, value in labels.data.items():
            if not isinstance(key, str) or not LABEL_KEY_RE.match(key):
                raise labels.error(str(key), "not a Kubernetes label key (e.g. app.kubernetes.io/name)")
            if not isinstance(value, str) or not value or not LABEL_VALUE_RE.match(value):
                raise labels.error(key, f"expected a non-empty Kubernetes label value, got {value!r}")
        port = r.data.get("port")
        if isinstance(port, bool) or not (
            (isinstance(port, int) and 1 <= port <= 65535) or (isinstance(port, str) and PORT_NAME_RE.match(port))
        ):
            raise r.error("port", f"expected a container port name (e.g. metrics) or a number 1-65535, got {port!r}")
        path = r.str("metricsPath", "/metrics")
        if not path.startswith("/"):
            raise r.error("metricsPath", f"expected an absolute URL path, got {path!r}")
        return cls(MappingProxyType(dict(sorted(labels.data.items()))), port, path)


@dataclass(frozen=True)
class RouterSettings:
    #: Static scrape targets of the router (host:port); empty when ``kubernetes`` discovers pods.
    targets: tuple[str, ...]
    #: Namespaces of the router's pods: discovered there (router and annotated pods), logs shipped from there.
    pod_namespaces: tuple[str, ...]
    scrape_interval: str
    scrape_timeout: str
    #: Allow-lists for open-ended label values; anything else is exposed as ``other``.
    models: tuple[str, ...]
    backends: tuple[str, ...]
    strategies: tuple[str, ...]
    #: Router pods found by Kubernetes service discovery, one scrape target each.
    kubernetes: PodDiscovery | None = None
    #: Requests the router's queue holds before it refuses more; queue alerts are relative to it.
    queue_capacity: int | None = None

    KEYS = frozenset({"targets", "podNamespaces", "scrapeInterval", "scrapeTimeout", "models", "backends",
                      "strategies", "kubernetes", "queueCapacity"})

    @classmethod
    def parse(cls, r: Reader) -> RouterSettings:
        r.reject_unknown(cls.KEYS)
        if ("targets" in r.data) == ("kubernetes" in r.data):
            raise r.error("targets", "give either 'targets' (static host:port list, routers outside Kubernetes) "
                                     "or 'kubernetes' (discover every router pod), not both and not neither")
        settings = cls(
            targets=r.str_list("targets", ()),
            pod_namespaces=r.str_list("podNamespaces", ("llm-router",)),
            scrape_interval=r.duration("scrapeInterval", "10s"),
            scrape_timeout=r.duration("scrapeTimeout", "8s"),
            models=r.str_list("models"),
            backends=r.str_list("backends"),
            strategies=r.str_list("strategies"),
            kubernetes=PodDiscovery.parse(r.section("kubernetes")) if "kubernetes" in r.data else None,
            queue_capacity=r.int("queueCapacity", minimum=1) if "queueCapacity" in r.data else None,
        )
        if "targets" in r.data and not settings.targets:
            raise r.error("targets", "expected at least one host:port")
        for i, target in enumerate(settings.targets):
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit():
                raise r.error(f"targets[{i}]", f"expected host:port, got {target!r}")
        if not settings.pod_namespaces:
            raise r.error("podNamespaces", "expected at least one namespace")
        for i, namespace in enumerate(settings.pod_namespaces):
            if not NAMESPACE_RE.match(namespace):
                raise r.error(f"podNamespaces[{i}]", f"not a Kubernetes namespace name: {namespace!r}")
        return settings
