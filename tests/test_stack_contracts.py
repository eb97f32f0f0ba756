"""The stack ships the other renderers' output unchanged (or with a documented in-cluster overlay).

Tests on a renderer that has not landed yet skip with a reason and start running once it does.
"""

import json
from pathlib import Path

import pytest
import yaml

from foundation.settings import load_settings
from llmmon.checkers import amtool_check_config, promtool_check_config
from stack.build import build_services, endpoints, upstream_artifacts
from stack.credentials import alertmanager_secret_files, required_secret_keys
from stack.model import REDACTED
from stack.promconfig import REPLICA_LABEL, RULES_DIR, in_cluster

ENVS = ("dev", "staging", "prod")


def stack(env):
    settings = load_settings(env)
    artifacts = upstream_artifacts(settings)
    secrets = dict.fromkeys(required_secret_keys(settings, artifacts), REDACTED)
    objs = {(o["kind"], o["metadata"]["name"]): o for s in build_services(settings, secrets, artifacts) for o in s.objects}
    return settings, artifacts, objs


def needs(artifacts, path):
    if path not in artifacts:
        pytest.skip(f"{path} is not rendered yet (its renderer has not landed)")


@pytest.mark.parametrize("env", ENVS)
def test_prometheus_configmap_contains_prometheus_yml_valid_in_cluster(env, tmp_path):
    settings, artifacts, objs = stack(env)
    needs(artifacts, "prometheus/prometheus.yml")
    config = objs[("ConfigMap", "prometheus-config")]["data"]["prometheus.yml"]
    rules = objs[("ConfigMap", "prometheus-rules")]["data"]
    rendered_rules = {p.rpartition("/")[2] for p in artifacts if p.startswith("prometheus/rules/") and p.count("/") == 2}
    assert set(rules) == {r for r in rendered_rules if r.endswith((".yml", ".yaml"))}
    doc = yaml.safe_load(config)
    assert doc["rule_files"] == [f"{RULES_DIR}/*.yml"]
    assert doc["global"]["external_labels"][REPLICA_LABEL] == "${POD_NAME}"
    replicas = settings.cluster.workloads["alertmanager"].replicas
    assert len(doc["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]) == replicas
    # promtool checks the config together with the rules it will load.
    (tmp_path / "rules").mkdir()
    for name, text in rules.items():
        (tmp_path / "rules" / name).write_text(text)
    doc["rule_files"] = [str(tmp_path / "rules" / "*.yml")]
    # Debian's promtool is built without Kubernetes service discovery: check the other jobs.
    doc["scrape_configs"] = [j for j in doc["scrape_configs"] if "kubernetes_sd_configs" not in j]
    _local_credential_files(doc, tmp_path)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(doc))
    promtool_check_config(tmp_path / "prometheus.yml").raise_for_failure()


def _local_credential_files(doc, tmp_path):
    """promtool checks that credential and CA files exist: point the pod's paths at local stand-ins."""
    for job in doc["scrape_configs"]:
        for section, key in (("authorization", "credentials_file"), ("tls_config", "ca_file")):
            if key in job.get(section, {}):
                stand_in = tmp_path / Path(job[section][key]).name
                stand_in.write_text("stand-in\n")
                job[section][key] = str(stand_in)


@pytest.mark.parametrize("env", ENVS)
def test_alertmanager_configmap_and_receiver_secret(env, tmp_path):
    _, artifacts, objs = stack(env)
    needs(artifacts, "alertmanager/alertmanager.yml")
    text = objs[("ConfigMap", "alertmanager-config")]["data"]["alertmanager.yml"]
    assert text == artifacts["alertmanager/alertmanager.yml"]
    (tmp_path / "alertmanager.yml").write_text(text)
    amtool_check_config(tmp_path / "alertmanager.yml").raise_for_failure()
    files = alertmanager_secret_files(artifacts)
    if files:
        secret = objs[("Secret", "alertmanager-receivers")]["stringData"]
        assert set(secret) == {Path(p).name for p in files.values()}
        mounts = objs[("StatefulSet", "alertmanager")]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert {str(Path(p).parent) for p in files.values()} <= {m["mountPath"] for m in mounts}


def test_alertmanager_credential_files_become_secret_keys():
    config = {"receivers": [{"name": "critical-alerts", "webhook_configs": [{"url_file": "/etc/alertmanager/secrets/critical_webhook_url"}]},
                            {"name": "default", "email_configs": [{"auth_password_file": "/etc/alertmanager/secrets/smtp-password"}]}]}
    files = alertmanager_secret_files({"alertmanager/alertmanager.yml": yaml.safe_dump(config)})
    assert files == {
        "alertmanagerCriticalWebhookUrl": "/etc/alertmanager/secrets/critical_webhook_url",
        "alertmanagerSmtpPassword": "/etc/alertmanager/secrets/smtp-password",
    }


@pytest.mark.parametrize("env", [e for e in ENVS if not load_settings(e).grafana.uses_provider])
def test_grafana_provisioning_from_configmaps(env):
    _, artifacts, objs = stack(env)
    needs(artifacts, "grafana/provisioning/datasources/datasources.yaml")
    boards = objs[("ConfigMap", "grafana-dashboards")]["data"]
    assert set(boards) == {p.rpartition("/")[2] for p in artifacts if p.startswith("grafana/dashboards/")}
    assert {"llm-router-overview.json", "llm-model-performance.json", "llm-router-system.json"} <= set(boards)
    assert all(json.loads(text)["uid"] == name[:-5] for name, text in boards.items())
    sources = yaml.safe_load(objs[("ConfigMap", "grafana-datasources")]["data"]["datasources.yaml"])["datasources"]
    es = next(d for d in sources if d["uid"] == "elasticsearch")
    assert es["url"].startswith("https://") and es["basicAuth"] is True
    assert es["secureJsonData"]["basicAuthPassword"].startswith("$__file{")
    assert next(d for d in sources if d["uid"] == "prometheus")["url"] == "http://prometheus:9090"
    assert ("Service", "prometheus") in objs and ("Service", "jaeger-query") in objs  # datasource URLs resolve


@pytest.mark.parametrize("env", [e for e in ENVS if load_settings(e).grafana.uses_provider])
def test_grafana_with_the_provider_mounts_no_provisioning(env):
    """Content comes through the API: no provisioning ConfigMaps, no data-source secret files in the pod."""
    _, _, objs = stack(env)
    assert not [name for kind, name in objs if kind == "ConfigMap" and name.startswith("grafana")]
    settings = load_settings(env)
    kind = "StatefulSet" if settings.cluster.workloads["grafana"].storage else "Deployment"
    pod = objs[(kind, "grafana")]["spec"]["template"]["spec"]
    assert {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]} == {"/var/lib/grafana", "/tmp", "/etc/grafana/secrets"}
    database = {"database-url"} if settings.grafana.database.shared else set()
    assert set(objs[("Secret", "grafana")]["stringData"]) == {"admin-password"} | database


@pytest.mark.parametrize("env", ENVS)
def test_logstash_pipeline_and_persistent_queue(env):
    settings, artifacts, objs = stack(env)
    needs(artifacts, "logstash/pipelines.yml")
    assert objs[("ConfigMap", "logstash-pipeline")]["data"]["llm-router.conf"] == artifacts["logstash/pipeline/llm-router.conf"]
    pipelines = yaml.safe_load(objs[("ConfigMap", "logstash-settings")]["data"]["pipelines.yml"])
    assert all(p["queue.type"] == "persisted" for p in pipelines)
    assert all(p["queue.max_bytes"] == settings.cluster.logstash_queue_max_bytes.lower() for p in pipelines)
    mounts = {m["mountPath"] for m in objs[("StatefulSet", "logstash")]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]}
    for p in pipelines:  # the pipeline file is where the settings say it is
        assert str(Path(p["path.config"]).parent) in mounts
    assert "/usr/share/logstash/data" in mounts  # the queue lives on the PVC


@pytest.mark.parametrize("env", ENVS)
def test_filebeat_and_kibana_objects_shipped(env):
    _, artifacts, objs = stack(env)
    needs(artifacts, "filebeat/filebeat.yml")
    assert objs[("ConfigMap", "filebeat-config")]["data"]["filebeat.yml"] == artifacts["filebeat/filebeat.yml"]
    needs(artifacts, "kibana/llm-router-logs.ndjson")
    assert objs[("ConfigMap", "kibana-saved-objects")]["data"]["llm-router-logs.ndjson"] == artifacts["kibana/llm-router-logs.ndjson"]


@pytest.mark.parametrize("env", ENVS)
def test_elasticsearch_setup_applies_ilm_and_creates_users(env):
    settings, artifacts, objs = stack(env)
    needs(artifacts, "elasticsearch/ilm-policy.json")
    data = objs[("ConfigMap", "elasticsearch-setup")]["data"]
    assert data["ilm-policy.json"] == artifacts["elasticsearch/ilm-policy.json"]
    alias = settings.logging.alias(env)
    script = data["setup.sh"]
    assert f"api PUT /_ilm/policy/{alias} /etc/elasticsearch-setup/ilm-policy.json" in script
    assert script.index("/_ilm/policy/") < script.index("/_index_template/")
    for user in ("logstash_writer", "jaeger", "grafana_reader"):
        assert f"/_security/user/{user} " in script
    assert "kibana_system/_password" in script
    jobs = [name for kind, name in objs if kind == "Job" and name.startswith("elasticsearch-setup-")]
    assert len(jobs) == 1


@pytest.mark.parametrize("env", ENVS)
def test_outputs(env):
    settings = load_settings(env)
    out = endpoints(settings)
    ns = settings.cluster.namespace
    assert out["prometheusUrl"] == f"http://prometheus.{ns}.svc:9090"
    assert out["alertmanagerUrl"] == f"http://alertmanager.{ns}.svc:9093"
    assert out["grafanaUrl"] == f"https://{settings.cluster.ingress_hosts['grafana']}"
    assert set(out) >= {"grafanaUrl", "prometheusUrl", "alertmanagerUrl", "kibanaUrl"}


SEED_LIKE = {
    "global": {"scrape_interval": "15s", "external_labels": {"env": "dev"}},
    "rule_files": ["rules/*.yml"],
    "alerting": {"alertmanagers": [{"static_configs": [{"targets": ["localhost:9093"]}]}]},
    "scrape_configs": [
        {"job_name": "llm-router", "static_configs": [{"targets": ["llm-router:9090"]}]},
        {"job_name": "node-exporter", "scrape_interval": "30s", "static_configs": [{"targets": ["localhost:9100"]}]},
        {"job_name": "prometheus", "static_configs": [{"targets": ["localhost:9090"]}]},
    ],
}


def test_in_cluster_overlay_on_a_seed_like_config(tmp_path):
    """Independent of the alerts renderer: the overlay keeps jobs and passes promtool."""
    text = in_cluster(yaml.safe_dump(SEED_LIKE), "monitoring", "monitoring-node-agents",
                      ["alertmanager-0.alertmanager-headless.monitoring.svc:9093"])
    doc = yaml.safe_load(text)
    jobs = {j["job_name"]: j for j in doc["scrape_configs"]}
    assert list(jobs) == ["llm-router", "node-exporter", "prometheus", "kube-state-metrics"]
    assert jobs["llm-router"] == SEED_LIKE["scrape_configs"][0]
    assert jobs["node-exporter"]["scrape_interval"] == "30s"
    assert jobs["node-exporter"]["dns_sd_configs"] == [
        {"names": ["node-exporter.monitoring-node-agents.svc"], "type": "A", "port": 9100}]
    assert doc["global"]["external_labels"] == {"env": "dev", REPLICA_LABEL: "${POD_NAME}"}
    assert doc["alerting"]["alert_relabel_configs"] == [{"action": "labeldrop", "regex": REPLICA_LABEL}]
    doc = yaml.safe_load(text)
    _local_credential_files(doc, tmp_path)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(doc))
    promtool_check_config(tmp_path / "prometheus.yml").raise_for_failure()


@pytest.mark.parametrize("env", ENVS)
def test_logstash_output_speaks_tls_to_elasticsearch(env):
    """In the cluster Elasticsearch serves HTTPS only; Logstash trusts the CA file the stack mounts."""
    settings, artifacts, objs = stack(env)
    assert all(h.startswith("https://") for h in settings.logging.elasticsearch_hosts)
    assert "${ES_CA_FILE}" in artifacts["logstash/pipeline/llm-router.conf"]
    env_vars = objs[("StatefulSet", "logstash")]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "ES_CA_FILE", "value": "/etc/elasticsearch-ca/ca.crt"} in env_vars


def test_receiver_credentials_flow_from_config_files_to_a_mounted_secret():
    """Independent of the alerts renderer: *_file paths in alertmanager.yml become Secret keys and a mount."""
    settings = load_settings("prod")
    config = {"global": {"smtp_auth_password_file": "/etc/alertmanager/secrets/smtp_password"},
              "route": {"receiver": "default"}, "receivers": [{"name": "default"}]}
    artifacts = dict(upstream_artifacts(settings), **{"alertmanager/alertmanager.yml": yaml.safe_dump(config)})
    keys = required_secret_keys(settings, artifacts)
    assert "alertmanagerSmtpPassword" in keys
    secrets = {key: f"value-of-{key}" for key in keys}
    objs = {(o["kind"], o["metadata"]["name"]): o for s in build_services(settings, secrets, artifacts) for o in s.objects}
    assert objs[("Secret", "alertmanager-receivers")]["stringData"] == {"smtp_password": "value-of-alertmanagerSmtpPassword"}
    pod = objs[("StatefulSet", "alertmanager")]["spec"]["template"]["spec"]
    assert {"name": "secrets-0", "mountPath": "/etc/alertmanager/secrets", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    volume = next(v for v in pod["volumes"] if v["name"] == "secrets-0")
    assert volume["secret"]["secretName"] == "alertmanager-receivers"
