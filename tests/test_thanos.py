"""Thanos, remote write and Grafana HA in the stack: the real Pulumi program under mocks, every
flag checked against Thanos' own ``--help`` (vendored), Thanos' alerts through promtool."""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from alerts import thanos as thanos_alerts
from alerts.render import artifacts as alert_artifacts
from alerts.render import rule_files
from foundation.settings import PROJECT_DIR, SettingsError, load_settings
from foundation.standards import thanos_reference
from llmmon.checkers import promtool_check_config, promtool_test_rules, require
from stack.credentials import secret_problem
from stack.mocks import SECRET_SIG, fake_plain_config, fake_secrets, run_program, stack_config, unwrap_secret

ENVS = ("dev", "staging", "prod")


@cache
def resources(env: str, override: tuple[tuple[str, str], ...] = ()) -> tuple:
    config = copy.deepcopy(stack_config(env))
    secrets = fake_secrets(env)
    for section, text in override:
        config[section] = yaml.safe_load(text)
    extra = {"prometheusRemoteWritePassword": "TEST-rw-password-Zq9x"} if override else {}
    return tuple(run_program(env, {**secrets, **extra}, config))


def of(env: str, kind: str, override: tuple = ()) -> dict:
    return {r.name: r.inputs for r in resources(env, override) if r.custom and r.typ.endswith(f":{kind}")}


def containers(workload: dict) -> dict:
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


def flags(args: list[str]) -> list[str]:
    return [a[2:].split("=", 1)[0] for a in args if a.startswith("--")]


@pytest.mark.parametrize("env", ENVS)
def test_thanos_components_only_where_the_env_enables_them(env):
    enabled = load_settings(env).metrics_store.thanos_enabled
    names = {r.name for r in resources(env)}
    assert ({"thanos-query", "thanos-store", "thanos-compactor", "thanos-objstore"} <= names) == enabled
    assert ("thanos-sidecar" in containers(of(env, "StatefulSet")["prometheus"])) == enabled
    assert ("Thanos" in names) == enabled  # one ComponentResource for Thanos


def test_prod_prometheus_runs_a_sidecar_that_uploads_its_blocks():
    sts = of("prod", "StatefulSet")["prometheus"]
    c = containers(sts)
    prom, sidecar = c["prometheus"]["args"], c["thanos-sidecar"]["args"]
    # Equal block durations switch Prometheus' compaction off: the sidecar uploads blocks as written.
    assert "--storage.tsdb.min-block-duration=2h" in prom and "--storage.tsdb.max-block-duration=2h" in prom
    assert sidecar[0] == "sidecar" and "--tsdb.path=/prometheus" in sidecar
    assert "--prometheus.url=http://localhost:9090" in sidecar
    assert "--objstore.config-file=/etc/thanos/objstore/objstore.yml" in sidecar
    mounts = {m["mountPath"]: m for m in c["thanos-sidecar"]["volumeMounts"]}
    assert mounts["/prometheus"]["name"] == "data" and not mounts["/prometheus"]["readOnly"]
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    assert volumes["objstore"]["secret"]["secretName"] == "thanos-objstore"
    assert c["thanos-sidecar"]["securityContext"]["runAsNonRoot"] is True
    assert c["thanos-sidecar"]["resources"]["limits"]["memory"]
    # The Querier finds each sidecar by DNS SRV: the headless Service names its gRPC port "grpc".
    ports = {p["name"]: p["port"] for p in of("prod", "Service")["prometheus-headless"]["spec"]["ports"]}
    assert ports["grpc"] == 10901


def test_prod_querier_deduplicates_the_replicas_and_reads_sidecars_and_store():
    query = of("prod", "Deployment")["thanos-query"]
    args = containers(query)["thanos-query"]["args"]
    assert args[0] == "query"
    assert "--query.replica-label=prometheus_replica" in args and "--query.auto-downsampling" in args
    assert query["spec"]["replicas"] == load_settings("prod").cluster.workloads["thanosQuery"].replicas == 2
    endpoints = yaml.safe_load(of("prod", "ConfigMap")["thanos-query-endpoints"]["data"]["endpoints.yml"])
    assert endpoints == {"endpoints": [{"address": "dnssrv+_grpc._tcp.prometheus-headless.monitoring.svc"},
                                       {"address": "dnssrv+_grpc._tcp.thanos-store.monitoring.svc"}]}


def test_prod_compactor_is_alone_and_applies_the_retention_per_resolution():
    sts = of("prod", "StatefulSet")
    compactor = sts["thanos-compactor"]
    assert compactor["spec"]["replicas"] == 1
    args = containers(compactor)["thanos-compactor"]["args"]
    retention = load_settings("prod").metrics_store.thanos.retention
    assert args[:2] == ["compact", "--wait"]
    assert {"--retention.resolution-raw=" + retention["raw"], "--retention.resolution-5m=" + retention["fiveMinutes"],
            "--retention.resolution-1h=" + retention["oneHour"]} <= set(args)
    for name, size in (("thanos-compactor", "100Gi"), ("thanos-store", "20Gi")):
        claim = sts[name]["spec"]["volumeClaimTemplates"][0]["spec"]
        assert claim["resources"]["requests"]["storage"] == size and claim["storageClassName"] == "fast-ssd"


def test_objstore_config_is_a_pulumi_secret_mounted_never_inlined():
    secret = of("prod", "Secret")["thanos-objstore"]
    assert secret["stringData"][SECRET_SIG]
    assert unwrap_secret(secret["stringData"])["objstore.yml"] == fake_secrets("prod")["thanosObjstoreConfig"]
    mounted = [name for name, sts in of("prod", "StatefulSet").items()
               if any(v.get("secret", {}).get("secretName") == "thanos-objstore" for v in sts["spec"]["template"]["spec"]["volumes"])]
    assert sorted(mounted) == ["prometheus", "thanos-compactor", "thanos-store"]


def test_every_flag_given_to_thanos_is_in_its_help_at_the_pinned_release():
    reference = thanos_reference()
    assert load_settings("prod").cluster.images["thanos"].endswith(f":v{reference['thanos_version']}")
    given = {"sidecar": containers(of("prod", "StatefulSet")["prometheus"])["thanos-sidecar"]["args"],
             "query": containers(of("prod", "Deployment")["thanos-query"])["thanos-query"]["args"],
             "store": containers(of("prod", "StatefulSet")["thanos-store"])["thanos-store"]["args"],
             "compact": containers(of("prod", "StatefulSet")["thanos-compactor"])["thanos-compactor"]["args"]}
    for component, args in given.items():
        assert args[0] == component
        unknown = sorted(set(flags(args)) - set(reference["flags"][component]))
        assert unknown == [], f"thanos {component} has no flag(s) {unknown}"
    endpoints = yaml.safe_load(of("prod", "ConfigMap")["thanos-query-endpoints"]["data"]["endpoints.yml"])
    assert set(endpoints) <= set(reference["endpoint_config"]["top"])
    assert {k for e in endpoints["endpoints"] for k in e} <= set(reference["endpoint_config"]["endpoint"])


def test_the_flag_check_catches_a_misspelt_or_removed_flag():
    reference = thanos_reference()["flags"]
    assert "store" not in reference["query"] and "endpoint.sd-config-file" in reference["query"]
    assert set(flags(["query", "--query.replica-labels=x", "--store=dnssrv+x"])) - set(reference["query"]) == {
        "query.replica-labels", "store"}


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("thanosObjstoreConfig", "bucket: x", "a mapping with 'type' and a 'config' mapping"),
    ("thanosObjstoreConfig", "type: MINIO\nconfig: {bucket: x}", "type must be one of"),
    ("grafanaDatabaseUrl", "mysql://g:p@db:3306/grafana", "postgres://user:password@host:port/database"),
    ("grafanaDatabaseUrl", "postgres://g:p@db/grafana", "must name the port"),
])
def test_unusable_structured_secrets(key, value, problem):
    assert problem in (secret_problem(key, value) or "")
    assert secret_problem(key, fake_secrets("prod")[key]) is None


def test_database_url_on_another_port_than_the_policy_allows_fails_the_deploy():
    secrets = dict(fake_secrets("prod"), grafanaDatabaseUrl="postgres://g:TEST-pw-Zq9x@db.example.com:6543/grafana")
    with pytest.raises(Exception) as err:
        run_program("prod", secrets)
    assert "key 'grafanaDatabaseUrl'" in str(err.value) and "grafana.database.port allows 5432" in str(err.value)
    assert "TEST-pw-Zq9x" not in str(err.value)


def test_grafana_queries_the_querier_in_prod_and_prometheus_elsewhere():
    (prom,) = [r.inputs for r in resources("prod") if r.typ == "grafana:oss/dataSource:DataSource"
               and r.inputs["uid"] == "prometheus"]
    assert prom["url"] == "http://thanos-query:10902"
    assert '"prometheusType": "Thanos"' in prom["jsonDataEncoded"].replace(":", ": ").replace(":  ", ": ")
    staging = yaml.safe_load(of("staging", "ConfigMap")["grafana-datasources"]["data"]["datasources.yaml"])
    assert next(d for d in staging["datasources"] if d["uid"] == "prometheus")["url"] == "http://prometheus:9090"


def test_prod_grafana_replicas_share_postgres_and_gossip_their_alerting_state():
    grafana = of("prod", "Deployment")["grafana"]
    env = {e["name"]: e.get("value") for e in containers(grafana)["grafana"]["env"]}
    assert env["GF_DATABASE_TYPE"] == "postgres" and env["GF_DATABASE_URL__FILE"] == "/etc/grafana/secrets/database-url"
    assert env["GF_DATABASE_SSL_MODE"] == "require"
    assert env["GF_UNIFIED_ALERTING_HA_PEERS"] == "grafana-alerting.monitoring.svc:9094"
    assert env["GF_UNIFIED_ALERTING_HA_LISTEN_ADDRESS"] == "$(POD_IP):9094"
    names = [e["name"] for e in containers(grafana)["grafana"]["env"]]
    assert names.index("POD_IP") < names.index("GF_UNIFIED_ALERTING_HA_LISTEN_ADDRESS")  # $(VAR) needs it first
    headless = of("prod", "Service")["grafana-alerting"]["spec"]
    assert headless["clusterIP"] == "None" and {p["protocol"] for p in headless["ports"]} == {"TCP", "UDP"}
    secret = unwrap_secret(of("prod", "Secret")["grafana"]["stringData"])
    assert secret["database-url"] == fake_secrets("prod")["grafanaDatabaseUrl"]


REMOTE_WRITE = (("metricsStore", "{mode: remoteWrite, remoteWrite: {url: 'https://mimir.example.com/api/v1/push', "
                                 "auth: basic, username: prom, replicaLabel: drop}}"),)


def test_remote_write_mode_writes_to_the_endpoint_with_a_secret_password(tmp_path):
    sts = of("staging", "StatefulSet", REMOTE_WRITE)["prometheus"]
    assert set(containers(sts)) == {"prometheus"}  # no sidecar
    config = yaml.safe_load(of("staging", "ConfigMap", REMOTE_WRITE)["prometheus-config"]["data"]["prometheus.yml"])
    (rw,) = config["remote_write"]
    assert rw["url"] == "https://mimir.example.com/api/v1/push"
    assert rw["basic_auth"] == {"username": "prom", "password_file": "/etc/prometheus/remote-write/password"}
    assert rw["write_relabel_configs"] == [{"action": "labeldrop", "regex": "prometheus_replica"}]
    secret = of("staging", "Secret", REMOTE_WRITE)["prometheus-remote-write"]
    assert unwrap_secret(secret["stringData"]) == {"password": "TEST-rw-password-Zq9x"}
    # promtool accepts it (the password file stands in for the mounted Secret).
    (tmp_path / "password").write_text("stand-in\n")
    rw["basic_auth"]["password_file"] = str(tmp_path / "password")
    config["rule_files"] = []
    config["scrape_configs"] = [j for j in config["scrape_configs"] if "kubernetes_sd_configs" not in j
                                and "authorization" not in j]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    promtool_check_config(tmp_path / "prometheus.yml").raise_for_failure()


def test_remote_write_password_must_be_set():
    config = copy.deepcopy(stack_config("staging"))
    config["metricsStore"] = yaml.safe_load(REMOTE_WRITE[0][1])
    with pytest.raises(SettingsError, match="prometheusRemoteWritePassword"):
        run_program("staging", fake_secrets("staging"), config, plain=fake_plain_config("staging"))


def test_grafana_ha_with_provisioning_delivery():
    override = (("grafana", "{database: {type: postgres}}"),
                ("cluster", yaml.safe_dump({**stack_config("staging")["cluster"], "grafana": {"replicas": 2}})))
    secrets = dict(fake_secrets("staging"), grafanaDatabaseUrl="postgres://g:TEST-pw-Zq9x@db.example.com:5432/grafana")
    config = copy.deepcopy(stack_config("staging"))
    for section, text in override:
        config[section] = yaml.safe_load(text)
    created = {r.name: r.inputs for r in run_program("staging", secrets, config) if r.typ.endswith(":Deployment")}
    grafana = created["grafana"]
    assert grafana["spec"]["replicas"] == 2
    mounts = {m["mountPath"] for m in containers(grafana)["grafana"]["volumeMounts"]}
    assert "/etc/grafana/provisioning/datasources" in mounts  # still provisioned from files
    assert "GF_DATABASE_URL__FILE" in {e["name"] for e in containers(grafana)["grafana"]["env"]}


# -- Thanos' alerts ---------------------------------------------------------------------------------
def test_thanos_rules_only_where_thanos_runs_and_never_in_the_local_stack():
    for env in ENVS:
        rendered = alert_artifacts(load_settings(env))
        assert ("prometheus/rules/thanos-alerts.yml" in rendered) == load_settings(env).metrics_store.thanos_enabled
    assert "thanos-alerts.yml" not in rule_files(load_settings("prod"), profile="test")  # llmmon up loads these


def test_thanos_alerts_cover_the_three_failures_with_runbooks():
    rules = {r["alert"]: r for g in yaml.safe_load(thanos_alerts.rule_file(load_settings("prod")))["groups"]
             for r in g["rules"]}
    assert rules["ThanosCompactHalted"]["expr"] == 'thanos_compact_halted{job="thanos-compact"} == 1'
    assert "thanos_objstore_bucket_operation_failures_total" in rules["ThanosSidecarBucketOperationsFailed"]["expr"]
    assert rules["ThanosStoreIsDown"]["expr"] == 'absent(up{job="thanos-store"} == 1)'
    assert rules["ThanosSidecarBucketOperationsFailed"]["labels"]["severity"] == "critical"
    assert all(r["for"] == "5m" and r["labels"]["service"] == "thanos" for r in rules.values())
    headings = {line[3:].strip().lower() for line in (PROJECT_DIR / "docs" / "runbooks.md").read_text().splitlines()
                if line.startswith("## ")}
    assert {r["annotations"]["runbook_url"].rsplit("#", 1)[1] for r in rules.values()} <= headings
    # The stack scrapes each component under the job its alerts select.
    jobs = {j["job_name"] for j in yaml.safe_load(of("prod", "ConfigMap")["prometheus-config"]["data"]["prometheus.yml"])
            ["scrape_configs"]}
    assert set(thanos_alerts.JOBS.values()) <= jobs


def _suite(tmp_path: Path, rules_text: str) -> Path:
    require("promtool")
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "tests").mkdir(exist_ok=True)
    (tmp_path / "rules" / thanos_alerts.RULE_FILE).write_text(rules_text)
    (tmp_path / "tests" / thanos_alerts.TEST_FILE).write_text(thanos_alerts.rule_tests(load_settings("prod")))
    return tmp_path / "tests" / thanos_alerts.TEST_FILE


def test_thanos_suite_passes_and_catches_drift(tmp_path):
    original = thanos_alerts.rule_file(load_settings("prod"))
    suite = _suite(tmp_path, original)
    assert promtool_test_rules([suite]).ok
    names = [c["name"] for c in yaml.safe_load(suite.read_text())["tests"]]
    assert len(names) == 3 * len(thanos_alerts.ALERTS) + 2 * 4  # fire, quiet, before 'for'; absent: 2 more
    # No 'for': every "before 'for'" case fails.
    result = promtool_test_rules([_suite(tmp_path, re.sub(r"^ +for: .*\n", "", original, flags=re.M))])
    assert not result.ok and all(f"{a.name} does not fire before 'for'" in result.output for a in thanos_alerts.ALERTS)
    # A threshold that tolerates failures: the sidecar's firing case fails.
    result = promtool_test_rules([_suite(tmp_path, original.replace("[5m])) > 0", "[5m])) > 0.1"))])
    assert not result.ok and "ThanosSidecarBucketOperationsFailed fires" in result.output
    # A store alert that fires on one replica down instead of all: the "one replica up" case fails.
    result = promtool_test_rules([_suite(tmp_path, original.replace('absent(up{job="thanos-store"} == 1)',
                                                                    'up{job="thanos-store"} == 0'))])
    assert not result.ok and "ThanosStoreIsDown stays quiet while one replica is up" in result.output
