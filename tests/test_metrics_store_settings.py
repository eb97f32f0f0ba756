"""metricsStore (local | thanos | remoteWrite) and grafana.database settings: parsing, the errors
that name key and env, and the cross-checks between Grafana's replicas, volume and database."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from foundation.settings import PROJECT_DIR, Settings, SettingsError, load_settings
from foundation.settings.cluster import DEFAULT_WORKLOADS
from foundation.settings.metrics_store import THANOS_WORKLOADS
from stack.mocks import stack_config


def settings(env: str = "staging", **sections) -> Settings:
    config = copy.deepcopy(stack_config(env))
    for name, value in sections.items():
        if value is None:
            config.pop(name, None)
        else:
            config[name] = value
    return Settings.from_config(env, config)


def cluster(env: str, **workloads) -> dict:
    out = copy.deepcopy(stack_config(env)["cluster"])
    for name, value in workloads.items():
        out[name] = value
    return out


def test_per_env_modes():
    assert [load_settings(e).metrics_store.mode for e in ("dev", "staging", "prod")] == ["local", "local", "thanos"]
    prod = load_settings("prod")
    assert prod.metrics_store.thanos.retention == {"raw": "30d", "fiveMinutes": "90d", "oneHour": "1y"}
    assert prod.metrics_store.secret_keys() == ["thanosObjstoreConfig"]
    assert load_settings("dev").metrics_store.secret_keys() == []


def test_remote_write_with_each_auth():
    s = settings(metricsStore={"mode": "remoteWrite", "remoteWrite": {
        "url": "https://mimir.example.com:8443/api/v1/push", "auth": "basic", "username": "prom"}})
    rw = s.metrics_store.remote_write
    assert (rw.port, rw.secret_key, s.metrics_store.secret_keys()) == (8443, "prometheusRemoteWritePassword",
                                                                       ["prometheusRemoteWritePassword"])
    bearer = settings(metricsStore={"mode": "remoteWrite", "remoteWrite": {"url": "https://vm.example.com/api/v1/write",
                                                                            "auth": "bearer", "replicaLabel": "drop"}})
    assert bearer.metrics_store.remote_write.port == 443 and bearer.metrics_store.secret_keys() == ["prometheusRemoteWriteToken"]


@pytest.mark.parametrize(("section", "key", "problem"), [
    ({"mode": "cortex"}, "metricsStore.mode", "expected one of local, thanos, remoteWrite"),
    ({"mode": "local", "thanos": {}}, "metricsStore.thanos", "only read with mode: thanos"),
    ({"mode": "remoteWrite"}, "metricsStore.remoteWrite", "missing"),
    ({"mode": "remoteWrite", "remoteWrite": {"url": "mimir:9009"}}, "metricsStore.remoteWrite.url", "http(s) URL"),
    ({"mode": "remoteWrite", "remoteWrite": {"url": "https://m.example.com/push", "auth": "basic"}},
     "metricsStore.remoteWrite.username", "basic auth needs a username"),
    ({"mode": "remoteWrite", "remoteWrite": {"url": "http://m.example.com/push", "auth": "bearer"}},
     "metricsStore.remoteWrite.url", "clear text"),
    ({"mode": "thanos", "thanos": {"retention": {"raw": "1d"}}}, "metricsStore.thanos.retention.raw",
     "before Thanos downsamples them (after 40 hours)"),
    ({"mode": "thanos", "thanos": {"retention": {"fiveMinutes": "7d"}}},
     "metricsStore.thanos.retention.fiveMinutes", "expected at least 10d"),
    ({"mode": "thanos", "thanos": {"retention": {"oneHour": "6m"}}}, "metricsStore.thanos.retention.oneHour",
     "days, weeks or years"),
    ({"mode": "thanos", "thanos": {"retension": {}}}, "metricsStore.thanos.retension", "unknown key"),
])
def test_bad_metrics_store_names_key_and_env(section, key, problem):
    with pytest.raises(SettingsError, match=rf"env 'staging', key '{key}'") as err:
        settings(metricsStore=section)
    assert problem in str(err.value)


def test_zero_retention_keeps_a_resolution_forever():
    s = settings(metricsStore={"mode": "thanos", "thanos": {"retention": {"raw": "0d"}}})
    assert s.metrics_store.thanos.retention["raw"] == "0d"


def test_compactor_and_sidecar_replicas_are_not_configurable():
    for name, why in (("thanosCompactor", "must run alone"), ("thanosSidecar", "every Prometheus pod")):
        with pytest.raises(SettingsError, match=rf"key 'cluster.{name}.replicas'.*{why}"):
            settings("prod", cluster=cluster("prod", **{name: {"replicas": 2}}))


@pytest.mark.parametrize("key", [*THANOS_WORKLOADS, "images"])
def test_sizing_or_pinning_thanos_where_none_runs_is_refused(key):
    """Prod's Thanos keys left behind after a switch to local would configure nothing."""
    config = copy.deepcopy(stack_config("prod"))
    config["metricsStore"] = {"mode": "local"}
    for other in THANOS_WORKLOADS:
        config["cluster"].pop(other, None)
    config["cluster"]["images"].pop("thanos", None)
    Settings.from_config("prod", config)  # without them: fine
    if key == "images":
        config["cluster"]["images"]["thanos"] = "quay.io/thanos/thanos:v0.42.4"
        key = "images.thanos"
    else:
        config["cluster"][key] = {"replicas": 1}
    with pytest.raises(SettingsError, match=rf"env 'prod', key 'cluster.{key}': only read with metricsStore.mode: "
                                            r"thanos; this env has mode: local"):
        Settings.from_config("prod", config)


def test_thanos_workloads_are_cluster_workloads():
    assert set(THANOS_WORKLOADS) == {k for k in DEFAULT_WORKLOADS if k.startswith("thanos")}


# -- Grafana's database ---------------------------------------------------------------------------
def test_prod_grafana_runs_two_replicas_on_postgres():
    prod = load_settings("prod")
    assert prod.grafana.database.shared and prod.cluster.workloads["grafana"].replicas == 2
    assert prod.cluster.workloads["grafana"].storage is None
    assert not load_settings("dev").grafana.database.shared


def test_several_replicas_on_sqlite_are_refused_whatever_the_delivery():
    for env in ("staging", "prod"):  # provisioning, provider
        grafana = dict(stack_config(env).get("grafana", {}), database={"type": "sqlite"})
        grafana_workload = {"replicas": 2, **({"storage": "5Gi"} if env == "prod" else {})}
        with pytest.raises(SettingsError, match=r"key 'cluster.grafana.replicas'.*own database"):
            settings(env, grafana=grafana, cluster=cluster(env, grafana=grafana_workload))


def test_provider_on_sqlite_still_needs_a_volume_and_on_postgres_refuses_one():
    grafana = dict(stack_config("prod")["grafana"], database={"type": "sqlite"})
    with pytest.raises(SettingsError, match=r"key 'cluster.grafana.storage': missing"):
        settings("prod", grafana=grafana, cluster=cluster("prod", grafana={"replicas": 1}))
    one_on_sqlite = settings("prod", grafana=grafana, cluster=cluster("prod", grafana={"storage": "5Gi"}))
    assert one_on_sqlite.cluster.workloads["grafana"].storage == "5Gi"
    with pytest.raises(SettingsError, match=r"key 'cluster.grafana.storage'.*PostgreSQL"):
        settings("prod", cluster=cluster("prod", grafana={"replicas": 2, "storage": "5Gi"}))


def test_provisioning_delivery_runs_replicas_on_postgres_too():
    s = settings("staging", grafana={"database": {"type": "postgres", "port": 6432, "sslMode": "verify-full"}},
                 cluster=cluster("staging", grafana={"replicas": 3}))
    assert (s.grafana.delivery, s.grafana.database.port, s.cluster.workloads["grafana"].replicas) == ("provisioning", 6432, 3)


@pytest.mark.parametrize(("database", "key", "problem"), [
    ({"type": "mysql"}, "grafana.database.type", "expected one of sqlite, postgres"),
    ({"type": "sqlite", "port": 5432}, "grafana.database.type", "PostgreSQL settings"),
    ({"type": "postgres", "sslMode": "prefer"}, "grafana.database.sslMode", "verify-full"),
])
def test_bad_database_names_key_and_env(database, key, problem):
    with pytest.raises(SettingsError, match=rf"key '{key}'") as err:
        settings(grafana={"database": database})
    assert problem in str(err.value)


def test_the_readme_examples_are_valid_settings():
    """README's metricsStore block (Thanos, and its commented remote-write alternative) and its
    grafana.database setting load on prod as written."""
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme[readme.index("## Long-term metrics and HA in the cluster"):]
    block = re.search(r"```yaml\n(llm-router-monitoring:metricsStore:\n.*?)```", section, re.S).group(1)
    thanos = yaml.safe_load(block)["llm-router-monitoring:metricsStore"]
    assert settings("prod", metricsStore=thanos).metrics_store.thanos.retention["oneHour"] == "1y"
    commented = "\n".join(line.replace("#", "", 1) for line in block.splitlines() if line.startswith("#  "))
    remote = yaml.safe_load(commented)
    s = settings("prod", metricsStore=remote, cluster={k: v for k, v in cluster("prod").items()
                                                       if not k.startswith("thanos") and k != "images"})
    assert (s.metrics_store.mode, s.metrics_store.remote_write.username) == ("remoteWrite", "prom")
    database = re.search(r"`grafana\.database: (\{[^`]*\})`", section).group(1)
    grafana = dict(stack_config("prod")["grafana"], database=yaml.safe_load(database))
    assert settings("prod", grafana=grafana).grafana.database.shared
