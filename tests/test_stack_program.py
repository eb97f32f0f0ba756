"""The real Pulumi program under mocks, config from the real Pulumi.<env>.yaml files."""

from functools import cache

import pytest

from foundation.settings import SettingsError, load_settings
from stack.mocks import SECRET_SIG, fake_secrets, run_program, stack_config

ENVS = ("dev", "staging", "prod")
COMPONENTS = {
    "Namespace", "Prometheus", "Alertmanager", "Grafana", "Elasticsearch", "Logstash", "Kibana",
    "Filebeat", "Tracing", "NodeExporter", "KubeStateMetrics",
}


@cache
def resources(env):
    return tuple(run_program(env, fake_secrets(env)))


def by_kind(env, kind):
    return {r.name: r.inputs for r in resources(env) if r.custom and r.typ.endswith(f":{kind}")}


@pytest.mark.parametrize("env", ENVS)
def test_every_component_is_a_component_resource(env):
    components = {r.name for r in resources(env) if not r.custom}
    api = {"GrafanaContent"} if load_settings(env).grafana.uses_provider else set()
    thanos = {"Thanos"} if load_settings(env).metrics_store.thanos_enabled else set()
    gpus = {"DcgmExporter"} if load_settings(env).dcgm.mode == "deploy" else set()
    assert components == COMPONENTS | api | thanos | gpus
    assert all(r.typ == f"llm-router-monitoring:stack:{r.name}" for r in resources(env) if not r.custom)


@pytest.mark.parametrize("env", ENVS)
def test_namespace_from_config(env):
    """Node agents (host access) in their own namespace; everything else in the monitoring one."""
    c = load_settings(env).cluster
    assert sorted(by_kind(env, "Namespace")) == sorted([c.namespace, c.node_namespace])
    assert {o["metadata"]["namespace"] for o in by_kind(env, "DaemonSet").values()} == {c.node_namespace}
    node_agents = {"filebeat", "node-exporter", "elasticsearch-node-tuning", "dcgm-exporter"}
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "ConfigMap", "Secret", "Service", "NetworkPolicy"):
        for name, obj in by_kind(env, kind).items():
            agent = obj["metadata"]["labels"]["app.kubernetes.io/name"] in node_agents
            assert obj["metadata"].get("namespace") in ((c.node_namespace,) if agent else (c.namespace, c.node_namespace)), name
            if kind != "NetworkPolicy":  # the namespace baseline (deny, DNS) exists in both
                assert obj["metadata"]["namespace"] == (c.node_namespace if agent else c.namespace), f"{kind} {name}"


@pytest.mark.parametrize(("env", "prometheus", "alertmanager", "elasticsearch"), [
    ("dev", 1, 1, 1), ("staging", 2, 2, 3), ("prod", 2, 3, 3),
])
def test_replicas_per_env(env, prometheus, alertmanager, elasticsearch):
    sts = by_kind(env, "StatefulSet")
    assert sts["prometheus"]["spec"]["replicas"] == prometheus
    assert sts["alertmanager"]["spec"]["replicas"] == alertmanager
    assert sts["elasticsearch"]["spec"]["replicas"] == elasticsearch


@pytest.mark.parametrize("env", ENVS)
def test_alertmanager_replicas_form_one_gossip_cluster(env):
    """Every replica peers with all of them; a single instance gossips with nobody (no duplicate notifications)."""
    am = by_kind(env, "StatefulSet")["alertmanager"]["spec"]
    replicas = int(am["replicas"])  # mocked inputs carry numbers as floats
    args, ns = am["template"]["spec"]["containers"][0]["args"], load_settings(env).cluster.namespace
    peers = [a for a in args if a.startswith("--cluster.peer=")]
    expected = [f"--cluster.peer=alertmanager-{i}.alertmanager-headless.{ns}.svc:9094" for i in range(replicas)]
    assert peers == (expected if replicas > 1 else [])
    assert ("--cluster.listen-address=" in args) == (replicas == 1)


def test_prod_is_highly_available():
    sts, deploys = by_kind("prod", "StatefulSet"), by_kind("prod", "Deployment")
    assert sts["prometheus"]["spec"]["replicas"] >= 2
    assert sts["alertmanager"]["spec"]["replicas"] == 3
    args = sts["alertmanager"]["spec"]["template"]["spec"]["containers"][0]["args"]
    peers = [a for a in args if a.startswith("--cluster.peer=")]
    assert peers == [f"--cluster.peer=alertmanager-{i}.alertmanager-headless.monitoring.svc:9094" for i in range(3)]
    headless = by_kind("prod", "Service")["alertmanager-headless"]["spec"]
    assert headless["clusterIP"] == "None"
    assert deploys["jaeger-collector"]["spec"]["replicas"] == 2


@pytest.mark.parametrize("env", ENVS)
def test_stateful_services_have_pvcs_sized_from_config(env):
    cluster = load_settings(env).cluster
    for name, key in (("prometheus", "prometheus"), ("alertmanager", "alertmanager"),
                      ("elasticsearch", "elasticsearch"), ("logstash", "logstash")):
        claims = by_kind(env, "StatefulSet")[name]["spec"]["volumeClaimTemplates"]
        assert claims[0]["spec"]["resources"]["requests"]["storage"] == cluster.workloads[key].storage
        if cluster.storage_class:
            assert claims[0]["spec"]["storageClassName"] == cluster.storage_class


@pytest.mark.parametrize("env", ENVS)
def test_prometheus_retention_and_discovery_rbac(env):
    cluster = load_settings(env).cluster
    args = by_kind(env, "StatefulSet")["prometheus"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--storage.tsdb.retention.time={cluster.prometheus_retention}" in args
    assert f"--storage.tsdb.retention.size={cluster.prometheus_retention_size}" in args
    role = by_kind(env, "ClusterRole")[f"{cluster.namespace}-prometheus"]
    resources = {r for rule in role["rules"] for r in rule.get("resources", [])}
    assert {"pods", "endpoints", "services", "nodes"} <= resources
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in role["rules"])


@pytest.mark.parametrize("env", ENVS)
def test_secrets_are_secret_outputs_and_referenced_not_inlined(env):
    secrets = by_kind(env, "Secret")
    assert secrets, "no Kubernetes Secret created"
    for name, obj in secrets.items():
        assert obj["stringData"][SECRET_SIG] == "1b47061264138c4ac30d75fd1eb44270", f"{name} stringData is not secret"
    workloads = {**by_kind(env, "Deployment"), **by_kind(env, "StatefulSet")}
    grafana = workloads["grafana"]["spec"]["template"]["spec"]
    env_vars = {e["name"]: e for e in grafana["containers"][0]["env"]}
    assert env_vars["GF_SECURITY_ADMIN_PASSWORD__FILE"]["value"].startswith("/etc/grafana/secrets/")
    assert env_vars["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "false"
    assert env_vars["GF_USERS_ALLOW_SIGN_UP"]["value"] == "false"
    assert {"name": "secrets", "secret": {"secretName": "grafana", "defaultMode": 0o440}} in grafana["volumes"]
    kibana = by_kind(env, "Deployment")["kibana"]["spec"]["template"]["spec"]["containers"][0]["env"]
    password = next(e for e in kibana if e["name"] == "ELASTICSEARCH_PASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": "kibana", "key": "kibana-system-password"}


@pytest.mark.parametrize("env", ENVS)
def test_elasticsearch_security_tls_heap(env):
    cluster = load_settings(env).cluster
    pod = by_kind(env, "StatefulSet")["elasticsearch"]["spec"]["template"]["spec"]
    es_env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert es_env["xpack.security.enabled"] == "true"
    assert es_env["xpack.security.http.ssl.enabled"] == es_env["xpack.security.transport.ssl.enabled"] == "true"
    assert es_env["ES_JAVA_OPTS"] == f"-Xms{cluster.es_heap} -Xmx{cluster.es_heap}"
    # The sysctl is a node DaemonSet's job (node agents' namespace), never a container of this pod.
    assert not any(c["securityContext"].get("privileged") for c in pod["containers"] + pod.get("initContainers", []))
    assert ("elasticsearch-node-tuning" in by_kind(env, "DaemonSet")) == (cluster.es_max_map_count == "nodeDaemonSet")
    assert (es_env.get("node.store.allow_mmap") == "false") == (cluster.es_max_map_count == "disableMmap")


@pytest.mark.parametrize("env", ENVS)
def test_filebeat_daemonset_with_rbac(env):
    ds = by_kind(env, "DaemonSet")
    assert {"filebeat", "node-exporter"} <= set(ds)
    assert ds["filebeat"]["spec"]["template"]["spec"]["serviceAccountName"] == "filebeat"
    assert f"{load_settings(env).cluster.node_namespace}-filebeat" in by_kind(env, "ClusterRoleBinding")


def test_missing_secret_names_key_and_env():
    secrets = fake_secrets("staging")
    del secrets["grafanaAdminPassword"]
    with pytest.raises(SettingsError) as err:
        run_program("staging", secrets)
    assert "'staging'" in str(err.value) and "grafanaAdminPassword" in str(err.value)
    assert "pulumi config set --secret grafanaAdminPassword -s staging" in str(err.value)


def test_malformed_cluster_config_names_key_and_env():
    config = stack_config("prod")
    config["cluster"] = dict(config["cluster"], prometheus=dict(config["cluster"]["prometheus"], retentionSize="lots"))
    with pytest.raises(SettingsError, match=r"env 'prod', key 'cluster.prometheus.retentionSize'"):
        run_program("prod", fake_secrets("prod"), config)


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("elasticPassword", 'has"quote-and-more', "letters, digits and punctuation"),
    ("kibanaEncryptionKey", "too-short-key", "at least 32 characters"),
    ("grafanaAdminPassword", "admin-pw", "at least 12 characters"),
])
def test_unusable_secret_names_key_and_env_not_value(key, value, problem):
    secrets = dict(fake_secrets("dev"), **{key: value})
    with pytest.raises(Exception) as err:
        run_program("dev", secrets)
    message = str(err.value)
    assert f"env 'dev', key '{key}'" in message and problem in message
    assert value not in message


def test_ingresses_only_for_configured_hosts_and_https():
    ingresses = by_kind("prod", "Ingress")
    assert set(ingresses) == {"grafana", "kibana"}  # Prometheus/Alertmanager have no auth: not exposed
    spec = ingresses["grafana"]["spec"]
    assert spec["tls"] == [{"hosts": ["grafana.example.com"], "secretName": "grafana-tls"}]
    assert ingresses["grafana"]["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}


def test_preview_registers_the_same_resources():
    """``pulumi preview`` has unknown outputs: the program must not depend on resolved values."""
    preview = run_program("prod", fake_secrets("prod"), preview=True)
    assert sorted((r.typ, r.name) for r in preview) == sorted((r.typ, r.name) for r in resources("prod"))


def test_entry_point_runs_like_the_pulumi_cli():
    """``Pulumi.yaml`` has ``main: stack/``: running the folder registers the same resources."""
    via_cli = run_program("dev", fake_secrets("dev"), entry_point=True)
    assert sorted((r.typ, r.name) for r in via_cli) == sorted((r.typ, r.name) for r in resources("dev"))
