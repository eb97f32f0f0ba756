"""Where and how big the monitoring stack runs in Kubernetes: one typed section per env.

Every service has the same shape (replicas, resources, optional persistent storage, a
pinned image); defaults here are dev-sized and each ``Pulumi.<env>.yaml`` overrides what
it needs. Cross-field rules (requests <= limits, ES heap <= half its memory limit,
Prometheus retention size below its volume) fail with the key and env named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from foundation.settings.operator import STANDALONE, OperatorSettings, parse_backend
from foundation.settings.reader import Reader

#: Kubernetes versions whose schemas the installed kubernetes-validate bundles and we accept.
SUPPORTED_KUBERNETES = ("1.28.0", "1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0")

#: Pinned images: supported releases (README "Image versions" says how each was checked).
#: The rules and configs they load must also pass Debian's promtool 2.42 / amtool 0.25 (tests).
#: Any entry may be pinned by digest in an env (``repo:tag@sha256:...``); then pods pull
#: IfNotPresent, otherwise Always (a moved tag is noticed).
DEFAULT_IMAGES: dict[str, str] = {
    "prometheus": "quay.io/prometheus/prometheus:v3.13.2",  # 3.13 LTS
    "alertmanager": "quay.io/prometheus/alertmanager:v0.34.2",
    "grafana": "docker.io/grafana/grafana:12.4.3",
    "elasticsearch": "docker.elastic.co/elasticsearch/elasticsearch:9.3.4",
    "logstash": "docker.elastic.co/logstash/logstash:9.3.4",
    "kibana": "docker.elastic.co/kibana/kibana:9.3.4",
    "filebeat": "docker.elastic.co/beats/filebeat:9.3.4",
    "jaegerCollector": "docker.io/jaegertracing/jaeger-collector:1.76.0",
    "jaegerQuery": "docker.io/jaegertracing/jaeger-query:1.76.0",
    "nodeExporter": "quay.io/prometheus/node-exporter:v1.10.2",
    "kubeRbacProxy": "quay.io/brancz/kube-rbac-proxy:v0.20.2",
    "kubeStateMetrics": "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.17.0",
    "jaegerIndexCleaner": "docker.io/jaegertracing/jaeger-es-index-cleaner:1.76.0",
    "sysctl": "docker.io/library/busybox:1.37.0",
    "thanos": "quay.io/thanos/thanos:v0.42.4",  # sidecar, query, store and compact (metricsStore.mode: thanos)
    # NVIDIA's DCGM exporter (DCGM 4.5.3, exporter 4.8.2), deployed on GPU nodes when dcgm.mode is deploy.
    "dcgmExporter": "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless",
}

#: Service key in the config -> (replicas, cpu req, mem req, cpu limit, mem limit, storage or None).
DEFAULT_WORKLOADS: dict[str, tuple[int, str, str, str, str, str | None]] = {
    "prometheus": (1, "250m", "1Gi", "1", "2Gi", "10Gi"),
    "alertmanager": (1, "50m", "64Mi", "200m", "128Mi", "1Gi"),
    "grafana": (1, "100m", "128Mi", "500m", "256Mi", None),
    "elasticsearch": (1, "500m", "2Gi", "1", "2Gi", "10Gi"),
    "logstash": (1, "250m", "1Gi", "1", "1Gi", "5Gi"),
    "kibana": (1, "200m", "1Gi", "1", "1Gi", None),
    "filebeat": (1, "50m", "100Mi", "200m", "200Mi", None),
    "jaegerCollector": (1, "100m", "128Mi", "500m", "256Mi", None),
    "jaegerQuery": (1, "100m", "128Mi", "500m", "256Mi", None),
    # kube-prometheus' sizing: node-exporter's collectors grow with the node's disks and NICs.
    "nodeExporter": (1, "100m", "180Mi", "250m", "180Mi", None),
    "kubeStateMetrics": (1, "50m", "64Mi", "200m", "128Mi", None),
    # Thanos (metricsStore.mode: thanos). The sidecar runs in every Prometheus pod (no replicas of
    # its own); the Store Gateway keeps index headers and the Compactor its scratch space on a volume.
    "thanosSidecar": (1, "50m", "128Mi", "500m", "512Mi", None),
    "thanosQuery": (1, "100m", "256Mi", "1", "1Gi", None),
    "thanosStore": (1, "100m", "512Mi", "1", "2Gi", "10Gi"),
    "thanosCompactor": (1, "100m", "512Mi", "1", "2Gi", "50Gi"),
    # The dcgm-exporter Helm chart's sizing (one pod per GPU node).
    "dcgmExporter": (1, "100m", "128Mi", "200m", "512Mi", None),
}
#: Workloads whose replica count is not theirs to choose: the sidecar has one per Prometheus, the
#: Compactor must run alone against its bucket (docs/components/compact.md: "a singleton").
FIXED_REPLICAS = {"thanosSidecar": "it runs in every Prometheus pod (cluster.prometheus.replicas)",
                  "thanosCompactor": "the Compactor must run alone against its bucket"}

WORKLOAD_KEYS = frozenset({"replicas", "resources", "storage"})
#: Services with no state by default that may be given a volume (Grafana's database, needed when
#: its content is created through the API rather than provisioned from files).
OPTIONAL_STORAGE = frozenset({"grafana"})
SERVICE_EXTRA_KEYS: dict[str, frozenset[str]] = {
    "prometheus": frozenset({"retention", "retentionSize"}),
    "elasticsearch": frozenset({"heap", "maxMapCount", "tlsSecret", "traceRetentionDays", "spread"}),
    "logstash": frozenset({"queueMaxBytes", "tlsSecret"}),
    "filebeat": frozenset({"tlsSecret"}),
    "nodeExporter": frozenset({"tlsSecret"}),
}
#: How Elasticsearch gets vm.max_map_count: a privileged DaemonSet in the node-agents namespace
#: sets it on every node, mmap is switched off (small clusters), or the nodes already have it.
MAX_MAP_COUNT_MODES = ("nodeDaemonSet", "disableMmap", "nodePrerequisite")
#: Master-eligible Elasticsearch pods on different nodes: a preference, or a scheduling rule.
SPREAD_MODES = ("preferred", "required")
#: Only services with their own login may get an Ingress (Prometheus, Alertmanager and
#: jaeger-query have none: kubectl port-forward).
INGRESS_SERVICES = ("grafana", "kibana")

QUANTITY_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
BYTES_RE = re.compile(r"^([0-9]+)(B|KB|MB|GB|TB)$")  # Prometheus/Logstash byte sizes
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
HOST_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_FACTORS = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_BYTE_FACTORS = {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}


def quantity_value(text: str) -> float:
    """A Kubernetes quantity as a number (bytes or cores); assumes it matched QUANTITY_RE."""
    match = QUANTITY_RE.match(text)
    assert match is not None, text
    return float(match.group(1)) * _FACTORS[match.group(2)]


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def to_k8s(self) -> dict[str, dict[str, str]]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Workload:
    replicas: int
    resources: Resources
    #: PVC size per replica (None: the service keeps no state of its own).
    storage: str | None


@dataclass(frozen=True)
class ClusterSettings:
    namespace: str
    #: Pods that need host access (node-exporter, Filebeat, the sysctl DaemonSet) run here, so
    #: ``namespace`` can enforce the restricted Pod Security Standard.
    node_namespace: str
    kubernetes_version: str
    #: None: the cluster's default StorageClass.
    storage_class: str | None
    images: dict[str, str]
    workloads: dict[str, Workload]
    prometheus_retention: str
    prometheus_retention_size: str
    es_heap: str
    es_max_map_count: str
    es_spread: str
    #: TLS Secrets (``ca.crt``, ``tls.crt``, ``tls.key``) issued by one CA, e.g. one cert-manager Issuer.
    es_tls_secret: str
    logstash_tls_secret: str
    filebeat_tls_secret: str
    node_exporter_tls_secret: str
    #: Jaeger's daily span indices older than this are deleted (log retention: logging section).
    trace_retention_days: int
    logstash_queue_max_bytes: str
    ingress_class: str | None
    #: Namespace of the ingress controller, allowed through the NetworkPolicies.
    ingress_namespace: str
    ingress_hosts: dict[str, str]
    #: Added to every Ingress, e.g. ``cert-manager.io/cluster-issuer`` to issue the TLS certificates.
    ingress_annotations: dict[str, str]
    #: ``standalone`` (our Prometheus and Alertmanager) or ``operator`` (the cluster's; see ``operator.py``).
    metrics_backend: str = STANDALONE
    operator: OperatorSettings | None = None

    KEYS = frozenset({"namespace", "nodeNamespace", "kubernetesVersion", "storageClass", "images", "ingress",
                      "metricsBackend", "operator", *DEFAULT_WORKLOADS})

    @property
    def runs_prometheus(self) -> bool:
        """The stack deploys its own Prometheus and Alertmanager (else the cluster's operator runs them)."""
        return self.operator is None

    @classmethod
    def parse(cls, r: Reader) -> ClusterSettings:
        r.reject_unknown(cls.KEYS)
        namespace = _dns_name(r, "namespace", "monitoring")
        workloads = {name: _workload(r.section(name), name) for name in DEFAULT_WORKLOADS}
        prom, es, ls, ingress = r.section("prometheus"), r.section("elasticsearch"), r.section("logstash"), r.section("ingress")
        node_namespace = _dns_name(r, "nodeNamespace", f"{namespace}-node-agents")
        if node_namespace == namespace:
            raise r.error("nodeNamespace", "must differ from cluster.namespace (it allows privileged pods)")
        retention_size = _byte_size(prom, "retentionSize", "8GB")
        _check_fits(prom, "retentionSize", _bytes(retention_size), workloads["prometheus"].storage)
        queue_max = _byte_size(ls, "queueMaxBytes", "1GB")
        _check_fits(ls, "queueMaxBytes", _bytes(queue_max), workloads["logstash"].storage)
        storage_class = _dns_name(r, "storageClass", "") if r.data.get("storageClass") else None
        backend, operator = parse_backend(r, namespace)
        return cls(
            namespace=namespace,
            node_namespace=node_namespace,
            kubernetes_version=r.choice("kubernetesVersion", SUPPORTED_KUBERNETES, "1.30.0"),
            storage_class=storage_class,
            images=_images(r.section("images")),
            workloads=workloads,
            prometheus_retention=prom.duration("retention", "7d"),
            prometheus_retention_size=retention_size,
            es_heap=_heap(es, workloads["elasticsearch"].resources.memory_limit),
            es_max_map_count=es.choice("maxMapCount", MAX_MAP_COUNT_MODES, "nodeDaemonSet"),
            es_spread=es.choice("spread", SPREAD_MODES, "preferred"),
            es_tls_secret=_dns_name(es, "tlsSecret", "elasticsearch-certs"),
            logstash_tls_secret=_dns_name(ls, "tlsSecret", "logstash-certs"),
            filebeat_tls_secret=_dns_name(r.section("filebeat"), "tlsSecret", "filebeat-certs"),
            node_exporter_tls_secret=_dns_name(r.section("nodeExporter"), "tlsSecret", "node-exporter-certs"),
            trace_retention_days=es.int("traceRetentionDays", 7, minimum=1),
            logstash_queue_max_bytes=queue_max,
            ingress_class=ingress.str("className", "") or None,
            ingress_namespace=_dns_name(ingress, "controllerNamespace", "ingress-nginx"),
            ingress_hosts=_hosts(ingress),
            ingress_annotations=_annotations(ingress.section("annotations")),
            metrics_backend=backend,
            operator=operator,
        )


def _workload(r: Reader, service: str) -> Workload:
    r.reject_unknown(WORKLOAD_KEYS | SERVICE_EXTRA_KEYS.get(service, frozenset()))
    replicas, cpu_req, mem_req, cpu_lim, mem_lim, storage = DEFAULT_WORKLOADS[service]
    res = r.section("resources")
    res.reject_unknown(frozenset({"requests", "limits"}))
    requests, limits = res.section("requests"), res.section("limits")
    for part in (requests, limits):
        part.reject_unknown(frozenset({"cpu", "memory"}))
    resources = Resources(
        cpu_request=_quantity(requests, "cpu", cpu_req),
        memory_request=_quantity(requests, "memory", mem_req),
        cpu_limit=_quantity(limits, "cpu", cpu_lim),
        memory_limit=_quantity(limits, "memory", mem_lim),
    )
    for kind in ("cpu", "memory"):
        req, lim = getattr(resources, f"{kind}_request"), getattr(resources, f"{kind}_limit")
        if quantity_value(req) > quantity_value(lim):
            raise requests.error(kind, f"request {req} is above the limit {lim}")
    if storage is None and "storage" in r.data and service not in OPTIONAL_STORAGE:
        raise r.error("storage", f"{service} keeps no state; remove this key")
    size = _quantity(r, "storage", storage) if storage is not None or "storage" in r.data else None
    count = r.int("replicas", replicas, minimum=1)
    if service in FIXED_REPLICAS and count != 1:
        raise r.error("replicas", f"expected 1 or nothing: {FIXED_REPLICAS[service]}")
    return Workload(replicas=count, resources=resources, storage=size)


def _quantity(r: Reader, name: str, default: str) -> str:
    value = r.data.get(name, default)
    value = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    if not isinstance(value, str) or not QUANTITY_RE.match(value):
        raise r.error(name, f"expected a Kubernetes quantity like 500m, 2, 512Mi or 10Gi, got {value!r}")
    return value


def _matching(r: Reader, name: str, default: str, pattern: re.Pattern[str], expected: str) -> str:
    value = r.str(name, default)
    if not pattern.match(value):
        raise r.error(name, f"expected {expected}, got {value!r}")
    return value


def _byte_size(r: Reader, name: str, default: str) -> str:
    return _matching(r, name, default, BYTES_RE, "a size like 512MB or 8GB")


def _bytes(size: str) -> float:
    match = BYTES_RE.match(size)
    assert match is not None
    return int(match.group(1)) * _BYTE_FACTORS[match.group(2)]


def _check_fits(r: Reader, name: str, size: float, volume: str | None) -> None:
    """The data this bounds must fit in its volume with headroom (WAL, compaction)."""
    if volume is not None and size > 0.85 * quantity_value(volume):
        raise r.error(name, f"must stay below 85% of the {volume} volume (storage key)")


def _heap(r: Reader, memory_limit: str) -> str:
    """JVM heap: half the memory limit by default (the rest is page cache and off-heap)."""
    limit_mib = quantity_value(memory_limit) / 2**20
    default = f"{int(limit_mib // 2)}m"
    value = r.str("heap", default)
    match = re.match(r"^([0-9]+)([mg])$", value)
    if not match:
        raise r.error("heap", f"expected a JVM size like 512m or 1g, got {value!r}")
    heap_mib = int(match.group(1)) * (1024 if match.group(2) == "g" else 1)
    if not 0.25 * limit_mib <= heap_mib <= 0.5 * limit_mib:
        raise r.error("heap", f"{value} must be 25-50% of the memory limit {memory_limit}")
    return value


def _dns_name(r: Reader, name: str, default: str) -> str:
    return _matching(r, name, default, DNS_LABEL_RE, "a DNS label (lowercase letters, digits, '-')")


def _images(r: Reader) -> dict[str, str]:
    r.reject_unknown(frozenset(DEFAULT_IMAGES))
    images = dict(DEFAULT_IMAGES)
    for name in sorted(r.data):
        image = r.str(name)
        repo, _, tag = image.rpartition(":")
        if "@sha256:" not in image and (not repo or "/" in tag or tag in ("", "latest")):
            raise r.error(name, f"image must be pinned to a tag or digest (not latest), got {image!r}")
        images[name] = image
    return images


def _hosts(r: Reader) -> dict[str, str]:
    r.reject_unknown(frozenset({"className", "controllerNamespace", "hosts", "annotations"}))
    hosts = r.section("hosts")
    for name in sorted(set(hosts.data) - set(INGRESS_SERVICES)):
        raise hosts.error(name, f"{name} has no login of its own and gets no Ingress (use kubectl port-forward); "
                                f"hosts may name: {', '.join(INGRESS_SERVICES)}")
    out = {}
    for name in sorted(hosts.data):
        host = hosts.str(name)
        if not HOST_RE.match(host):
            raise hosts.error(name, f"expected a lowercase DNS host name, got {host!r}")
        out[name] = host
    return out



def _annotations(r: Reader) -> dict[str, str]:
    return {name: r.str(name) for name in sorted(r.data)}
