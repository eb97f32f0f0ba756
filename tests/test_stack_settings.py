"""The cluster section: defaults, per-env values, and errors that name key and env."""

import pytest

from foundation.settings import Settings, SettingsError, load_settings
from foundation.settings.cluster import DEFAULT_IMAGES, SUPPORTED_KUBERNETES
from stack.mocks import stack_config


def with_cluster(env, **changes):
    config = stack_config(env)
    return dict(config, cluster=dict(config.get("cluster", {}), **changes))


def parse(env, config):
    return Settings.from_config(env, config).cluster


def test_per_env_values():
    dev, prod = load_settings("dev").cluster, load_settings("prod").cluster
    assert (dev.namespace, prod.namespace) == ("monitoring-dev", "monitoring")
    assert prod.workloads["prometheus"].replicas >= 2 and prod.workloads["alertmanager"].replicas == 3
    assert prod.workloads["prometheus"].storage == "100Gi" and prod.prometheus_retention == "15d"
    assert prod.es_heap == "4g" and prod.storage_class == "fast-ssd"
    assert prod.ingress_hosts == {"grafana": "grafana.example.com", "kibana": "kibana.example.com"}
    assert dev.kubernetes_version in SUPPORTED_KUBERNETES


def test_defaults_when_section_is_absent():
    config = stack_config("dev")
    config.pop("cluster")
    cluster = parse("dev", config)
    assert cluster.namespace == "monitoring" and cluster.images == DEFAULT_IMAGES
    # Heap defaults to half the Elasticsearch memory limit (2Gi).
    assert cluster.es_heap == "1024m"


@pytest.mark.parametrize(("changes", "key", "problem"), [
    ({"namespace": "Monitoring"}, "cluster.namespace", "DNS label"),
    ({"kubernetesVersion": "1.19.0"}, "cluster.kubernetesVersion", "expected one of"),
    ({"prometheus": {"replicas": 0}}, "cluster.prometheus.replicas", ">= 1"),
    ({"prometheus": {"retention": "a week"}}, "cluster.prometheus.retention", "duration"),
    ({"prometheus": {"storage": "10Gi", "retentionSize": "20GB"}}, "cluster.prometheus.retentionSize", "85%"),
    ({"prometheus": {"resources": {"requests": {"memory": "4Gi"}, "limits": {"memory": "2Gi"}}}},
     "cluster.prometheus.resources.requests.memory", "above the limit"),
    ({"grafana": {"resources": {"limits": {"cpu": "lots"}}}}, "cluster.grafana.resources.limits.cpu", "quantity"),
    ({"kibana": {"storage": "1Gi"}}, "cluster.kibana.storage", "keeps no state"),
    ({"grafana": {"storage": "lots"}}, "cluster.grafana.storage", "quantity"),
    ({"elasticsearch": {"heap": "3g"}}, "cluster.elasticsearch.heap", "25-50%"),
    ({"elasticsearch": {"maxMapCount": "ignore"}}, "cluster.elasticsearch.maxMapCount", "expected one of"),
    ({"images": {"grafana": "grafana/grafana:latest"}}, "cluster.images.grafana", "pinned"),
    ({"images": {"grafana": "grafana/grafana"}}, "cluster.images.grafana", "pinned"),
    ({"images": {"grafna": "grafana/grafana:10.4.2"}}, "cluster.images.grafna", "unknown key"),
    ({"ingress": {"hosts": {"grafana": "Grafana.Example.com"}}}, "cluster.ingress.hosts.grafana", "host name"),
    ({"prometheus": {"retension": "7d"}}, "cluster.prometheus.retension", "unknown key"),
])
def test_bad_values_name_key_and_env(changes, key, problem):
    with pytest.raises(SettingsError) as err:
        parse("staging", with_cluster("staging", **changes))
    assert err.value.env == "staging" and err.value.key == key, str(err.value)
    assert problem in err.value.problem


def test_pinned_digest_and_explicit_heap_accepted():
    image = "docker.io/grafana/grafana@sha256:" + "a" * 64
    cluster = parse("prod", with_cluster("prod", images={"grafana": image}))
    assert cluster.images["grafana"] == image
