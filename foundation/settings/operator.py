"""Which Prometheus and Alertmanager the router's metrics go to: our own, or the cluster's operator.

``cluster.metricsBackend``:

* ``standalone`` (the default): the stack deploys its own Prometheus and Alertmanager.
* ``operator``: the cluster already runs the Prometheus Operator (kube-prometheus-stack); the stack
  deploys neither and instead creates PodMonitors, PrometheusRules and an AlertmanagerConfig that
  the operator's Prometheus and Alertmanager pick up. ``cluster.operator`` says where they run
  and what their selectors need::

    cluster:
      metricsBackend: operator
      operator:
        namespace: kube-prometheus-stack          # where the operator's Prometheus/Alertmanager run
        selectorLabels: {release: kube-prometheus-stack}   # what its *Selector fields match
        prometheusUrl: http://kube-prometheus-stack-prometheus.kube-prometheus-stack.svc:9090
        prometheusPodLabels: {app.kubernetes.io/name: prometheus}   # default; NetworkPolicies
        alertmanagerConfigMatcherStrategy: None   # the Alertmanager's spec.alertmanagerConfigMatcherStrategy
        namespaces: {podMonitors: ..., prometheusRules: ..., alertmanagerConfig: ...}   # default: cluster.namespace

The stack then deploys no node-exporter or kube-state-metrics either: kube-prometheus-stack runs
both (the rules and panels read their series by metric name and the router pods' labels), and a
second node-exporter would collide with its port on every node.

The operator's matcher strategy decides whether our routes see our alerts: with ``OnNamespace``
(its default) it adds ``namespace="<the AlertmanagerConfig's namespace>"`` to the config's top
route and to both sides of its inhibit rules, and the router's alerts (aggregated across pods and
namespaces) carry no such label, so none would reach our receivers: that strategy is refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from foundation.settings.reader import Reader
from foundation.settings.router import LABEL_KEY_RE, LABEL_VALUE_RE, NAMESPACE_RE

STANDALONE, OPERATOR = "standalone", "operator"
METRICS_BACKENDS = (STANDALONE, OPERATOR)
#: ``Alertmanager.spec.alertmanagerConfigMatcherStrategy.type`` of the cluster's Alertmanager.
ON_NAMESPACE, EXCEPT_ALERTMANAGER_NAMESPACE, NO_MATCHER = (
    "OnNamespace", "OnNamespaceExceptForAlertmanagerNamespace", "None")
MATCHER_STRATEGIES = (ON_NAMESPACE, EXCEPT_ALERTMANAGER_NAMESPACE, NO_MATCHER)
#: What the cluster's monitoring stack runs instead of us: settings key -> its image keys. Sizing or
#: pinning them in operator mode would configure nothing.
OPERATOR_RUN = {"prometheus": ("prometheus",), "alertmanager": ("alertmanager",),
                "nodeExporter": ("nodeExporter", "kubeRbacProxy"), "kubeStateMetrics": ("kubeStateMetrics",)}
URL_RE = re.compile(r"^https?://[^/\s]+(/\S*)?$")


@dataclass(frozen=True)
class OperatorSettings:
    #: Namespace of the cluster's Prometheus and Alertmanager (kube-prometheus-stack's namespace).
    namespace: str
    #: Labels every PodMonitor, PrometheusRule and AlertmanagerConfig carries so that the operator's
    #: ``podMonitorSelector``/``ruleSelector``/``alertmanagerConfigSelector`` pick them up.
    selector_labels: Mapping[str, str]
    #: Where Grafana queries the cluster's Prometheus (its Prometheus data source).
    prometheus_url: str
    #: Labels of the operator's Prometheus pods (the NetworkPolicies' peers).
    prometheus_pod_labels: Mapping[str, str]
    matcher_strategy: str
    pod_monitor_namespace: str
    rule_namespace: str
    alertmanager_config_namespace: str

    KEYS = frozenset({"namespace", "selectorLabels", "prometheusUrl", "prometheusPodLabels",
                      "alertmanagerConfigMatcherStrategy", "namespaces"})
    NAMESPACE_KEYS = frozenset({"podMonitors", "prometheusRules", "alertmanagerConfig"})

    @property
    def prometheus_port(self) -> int:
        """The port Grafana reaches the cluster's Prometheus on (from its URL)."""
        host = self.prometheus_url.split("://", 1)[1].split("/", 1)[0]
        _, _, port = host.rpartition(":")
        return int(port) if port.isdigit() else 443 if self.prometheus_url.startswith("https") else 80

    @classmethod
    def parse(cls, r: Reader, own_namespace: str) -> OperatorSettings:
        r.reject_unknown(cls.KEYS)
        namespace = r.str("namespace")
        if not NAMESPACE_RE.match(namespace):
            raise r.error("namespace", f"not a Kubernetes namespace name: {namespace!r}")
        if namespace == own_namespace:
            raise r.error("namespace", f"is cluster.namespace ({own_namespace}); the stack puts default-deny "
                                       "NetworkPolicies and the restricted Pod Security level on its own namespace, "
                                       "which must not hold the cluster's Prometheus: use another cluster.namespace")
        url = r.str("prometheusUrl")
        if not URL_RE.match(url):
            raise r.error("prometheusUrl", f"expected the http(s) URL of the cluster's Prometheus, got {url!r}")
        strategy = r.choice("alertmanagerConfigMatcherStrategy", MATCHER_STRATEGIES, ON_NAMESPACE)
        if strategy == ON_NAMESPACE:
            raise r.error("alertmanagerConfigMatcherStrategy", (
                "OnNamespace (the operator's default) adds namespace=\"<AlertmanagerConfig namespace>\" to the "
                "config's top route and inhibit rules, and the router's alerts (aggregated across pods and "
                "namespaces) carry no such label: none would reach these receivers. Set the cluster's Alertmanager "
                f"resource to spec.alertmanagerConfigMatcherStrategy.type: {NO_MATCHER} (or "
                f"{EXCEPT_ALERTMANAGER_NAMESPACE}, with the AlertmanagerConfig in its namespace) and say so here"))
        names = r.section("namespaces")
        names.reject_unknown(cls.NAMESPACE_KEYS)
        amc_default = namespace if strategy == EXCEPT_ALERTMANAGER_NAMESPACE else own_namespace
        amc_namespace = _namespace(names, "alertmanagerConfig", amc_default)
        if strategy == EXCEPT_ALERTMANAGER_NAMESPACE and amc_namespace != namespace:
            raise names.error("alertmanagerConfig", (
                f"with {EXCEPT_ALERTMANAGER_NAMESPACE} the operator adds a namespace matcher to every "
                f"AlertmanagerConfig outside the Alertmanager's namespace ({namespace}), which none of the router's "
                f"alerts would match: expected {namespace}"))
        return cls(
            namespace=namespace,
            selector_labels=_labels(r, "selectorLabels", None),
            prometheus_url=url,
            prometheus_pod_labels=_labels(r, "prometheusPodLabels", {"app.kubernetes.io/name": "prometheus"}),
            matcher_strategy=strategy,
            pod_monitor_namespace=_namespace(names, "podMonitors", own_namespace),
            rule_namespace=_namespace(names, "prometheusRules", own_namespace),
            alertmanager_config_namespace=amc_namespace,
        )


def _namespace(r: Reader, name: str, default: str) -> str:
    value = r.str(name, default)
    if not NAMESPACE_RE.match(value):
        raise r.error(name, f"not a Kubernetes namespace name: {value!r}")
    return value


def _labels(r: Reader, name: str, default: Mapping[str, str] | None) -> Mapping[str, str]:
    """A non-empty label set (``default`` None: required)."""
    if name not in r.data and default is not None:
        return MappingProxyType(dict(default))
    labels = r.section(name, required=True)
    if not labels.data:
        raise r.error(name, "needs at least one label (the operator's selectors match on them)")
    for key, value in labels.data.items():
        if not isinstance(key, str) or not LABEL_KEY_RE.match(key):
            raise labels.error(str(key), "not a Kubernetes label key (e.g. release)")
        if not isinstance(value, str) or not value or not LABEL_VALUE_RE.match(value):
            raise labels.error(key, f"expected a non-empty Kubernetes label value, got {value!r}")
    return MappingProxyType(dict(sorted(labels.data.items())))


def parse_backend(r: Reader, own_namespace: str) -> tuple[str, OperatorSettings | None]:
    """``cluster.metricsBackend`` and, in operator mode, ``cluster.operator``; refuses what makes no sense."""
    backend = r.choice("metricsBackend", METRICS_BACKENDS, STANDALONE)
    if backend == STANDALONE:
        if "operator" in r.data:
            raise r.error("operator", "only with metricsBackend: operator (the stack runs its own Prometheus now)")
        return backend, None
    images = r.section("images")
    for service, image_keys in OPERATOR_RUN.items():
        if service in r.data:
            raise r.error(service, f"metricsBackend: operator deploys no {service}: the cluster's monitoring stack "
                                   "runs it and sizes it; remove this key")
        for key in image_keys:
            if key in images.data:
                raise images.error(key, f"metricsBackend: operator deploys no {service}; remove this key")
    if "operator" not in r.data:
        raise r.error("operator", "missing; metricsBackend: operator needs the cluster's Prometheus Operator "
                                  "settings (namespace, selectorLabels, prometheusUrl)")
    return backend, OperatorSettings.parse(r.section("operator"), own_namespace)
