"""cluster.metricsBackend: standalone by default everywhere; operator mode refuses what makes no sense."""

import pytest
import yaml

from foundation.settings import Settings, SettingsError, available_envs, load_settings
from foundation.settings.operator import EXCEPT_ALERTMANAGER_NAMESPACE
from tests.operator_support import KPS, OPERATOR, operator_config, operator_settings

ENVS = available_envs()


@pytest.mark.parametrize("env", ENVS)
def test_every_env_is_standalone_by_default_and_can_switch(env):
    standalone = load_settings(env).cluster
    assert (standalone.metrics_backend, standalone.operator, standalone.runs_prometheus) == ("standalone", None, True)
    cluster = operator_settings(env).cluster
    assert cluster.metrics_backend == "operator" and not cluster.runs_prometheus
    o = cluster.operator
    assert (o.namespace, dict(o.selector_labels), o.prometheus_url, o.prometheus_port) == (
        KPS, {"release": KPS}, OPERATOR["prometheusUrl"], 9090)
    # Our objects default to our namespace; the operator's Prometheus pods by their usual label.
    assert o.pod_monitor_namespace == o.rule_namespace == o.alertmanager_config_namespace == standalone.namespace
    assert dict(o.prometheus_pod_labels) == {"app.kubernetes.io/name": "prometheus"}


def test_namespaces_and_labels_from_settings():
    o = operator_settings("prod", namespaces={"podMonitors": "mon-a", "prometheusRules": "mon-b",
                                              "alertmanagerConfig": "mon-c"},
                          prometheusPodLabels={"prometheus": "k8s"}, prometheusUrl="https://prom.internal").cluster.operator
    assert (o.pod_monitor_namespace, o.rule_namespace, o.alertmanager_config_namespace) == ("mon-a", "mon-b", "mon-c")
    assert dict(o.prometheus_pod_labels) == {"prometheus": "k8s"} and o.prometheus_port == 443


def test_except_alertmanager_namespace_puts_the_config_beside_the_alertmanager():
    o = operator_settings("prod", alertmanagerConfigMatcherStrategy=EXCEPT_ALERTMANAGER_NAMESPACE).cluster.operator
    assert o.alertmanager_config_namespace == KPS


def _refused(config, key, *fragments, env="prod"):
    with pytest.raises(SettingsError) as err:
        Settings.from_config(env, config)
    message = str(err.value)
    assert f"env '{env}', key '{key}'" in message, message
    for fragment in fragments:
        assert fragment in message, message


def _with(changes, drop=()):
    config = operator_config("prod")
    for key in drop:
        config["cluster"]["operator"].pop(key)
    config["cluster"]["operator"].update(changes)
    return config


@pytest.mark.parametrize(("changes", "drop", "key", "fragments"), [
    ({}, ("namespace",), "cluster.operator.namespace", ["missing"]),
    ({}, ("selectorLabels",), "cluster.operator.selectorLabels", ["missing"]),
    ({}, ("prometheusUrl",), "cluster.operator.prometheusUrl", ["missing"]),
    ({"selectorLabels": {}}, (), "cluster.operator.selectorLabels", ["at least one label"]),
    ({"selectorLabels": {"release": "has space"}}, (), "cluster.operator.selectorLabels.release", ["label value"]),
    ({"prometheusUrl": "prometheus:9090"}, (), "cluster.operator.prometheusUrl", ["http(s) URL"]),
    ({"namespace": "monitoring"}, (), "cluster.operator.namespace", ["is cluster.namespace", "default-deny"]),
    ({"namespace": "Bad_NS"}, (), "cluster.operator.namespace", ["namespace name"]),
    # The operator's default strategy would hide every alert from our receivers.
    ({"alertmanagerConfigMatcherStrategy": "OnNamespace"}, (), "cluster.operator.alertmanagerConfigMatcherStrategy",
     ["carry no such label", "None"]),
    ({}, ("alertmanagerConfigMatcherStrategy",), "cluster.operator.alertmanagerConfigMatcherStrategy",
     ["OnNamespace (the operator's default)"]),
    ({"alertmanagerConfigMatcherStrategy": EXCEPT_ALERTMANAGER_NAMESPACE, "namespaces": {"alertmanagerConfig": "x"}},
     (), "cluster.operator.namespaces.alertmanagerConfig", [f"expected {KPS}"]),
    ({"namespaces": {"rules": "x"}}, (), "cluster.operator.namespaces.rules", ["unknown key"]),
    ({"replicas": 2}, (), "cluster.operator.replicas", ["unknown key"]),
])
def test_bad_operator_settings_name_the_key(changes, drop, key, fragments):
    _refused(_with(changes, drop), key, *fragments)


@pytest.mark.parametrize(("section", "key"), [
    ("prometheus", "cluster.prometheus"), ("alertmanager", "cluster.alertmanager"),
    ("nodeExporter", "cluster.nodeExporter"), ("kubeStateMetrics", "cluster.kubeStateMetrics"),
])
def test_sizing_what_the_operator_runs_is_refused(section, key):
    config = operator_config("prod")
    config["cluster"][section] = {"replicas": 2}
    _refused(config, key, "deploys no", "remove this key")


@pytest.mark.parametrize("image", ["prometheus", "alertmanager", "nodeExporter", "kubeStateMetrics", "kubeRbacProxy"])
def test_pinning_an_image_the_stack_does_not_run_is_refused(image):
    config = operator_config("prod")
    config["cluster"].setdefault("images", {})[image] = "quay.io/x/y:v1.0.0"
    _refused(config, f"cluster.images.{image}", "deploys no")


def test_operator_section_only_with_operator_backend_and_vice_versa():
    config = operator_config("prod")
    config["cluster"]["metricsBackend"] = "standalone"
    _refused(config, "cluster.operator", "only with metricsBackend: operator")
    config = operator_config("prod")
    del config["cluster"]["operator"]
    _refused(config, "cluster.operator", "missing")
    config["cluster"]["metricsBackend"] = "thanos"
    _refused(config, "cluster.metricsBackend", "standalone, operator")


def test_static_router_targets_cannot_be_pod_monitored():
    config = operator_config("prod")
    router = {k: v for k, v in config["router"].items() if k != "kubernetes"}
    config["router"] = dict(router, targets=["10.0.0.1:9090"])
    _refused(config, "cluster.metricsBackend", "router.kubernetes")


@pytest.mark.parametrize(("store", "where"), [
    ({"mode": "thanos"}, "spec.thanos"),
    ({"mode": "remoteWrite", "remoteWrite": {"url": "https://mimir.example.com/api/v1/push"}}, "spec.remoteWrite"),
])
def test_a_long_term_store_of_ours_is_refused_beside_the_operators_prometheus(store, where):
    """Sidecars and remote_write would belong to a Prometheus this mode does not deploy."""
    config = operator_config("prod")
    config["metricsStore"] = store
    _refused(config, "metricsStore.mode", f"got {store['mode']}", where, "cluster.operator.prometheusUrl")
    config["metricsStore"] = {"mode": "local"}
    assert Settings.from_config("prod", config).metrics_store.mode == "local"


def test_grafana_ha_on_postgres_is_kept_in_operator_mode():
    """Grafana stays ours in operator mode: prod's replicas on PostgreSQL carry over."""
    s = operator_settings("prod")
    assert s.grafana.database.shared and s.cluster.workloads["grafana"].replicas == 2


def test_the_readme_example_is_valid_settings():
    """README's operator-mode block, applied to prod's cluster section, loads as written."""
    import re

    from foundation.settings import PROJECT_DIR

    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme[readme.index("### Prometheus Operator mode"):]
    block = re.search(r"```yaml\n(llm-router-monitoring:cluster:\n.*?)```", section, re.S).group(1)
    cluster = yaml.safe_load(block)["llm-router-monitoring:cluster"]
    config = operator_config("prod")
    config["cluster"] = {k: v for k, v in config["cluster"].items() if k != "operator"} | cluster
    o = Settings.from_config("prod", config).cluster.operator
    assert o.namespace == KPS and o.matcher_strategy == "None"
    assert o.alertmanager_config_namespace == cluster["namespace"] == o.pod_monitor_namespace
