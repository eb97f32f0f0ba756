"""The gaps of the security audit, one test each: node-exporter behind kube-rbac-proxy, Kibana's
anonymous status, Filebeat -> Logstash mutual TLS, passwords off command lines (traced with
strace), least-privilege accounts, Elasticsearch spreading, Pod Security levels, digests."""

import json
import os
import re
import subprocess
from dataclasses import replace
from functools import cache

import pytest
import yaml

from foundation.settings import available_envs, load_settings
from foundation.settings.errors import SettingsError
from stack.build import build_services, upstream_artifacts
from stack.credentials import required_secret_keys
from stack.model import REDACTED
from stack.objects import IMAGE_DIGEST_CHECK
from stack.promconfig import SERVICE_ACCOUNT_TOKEN
from stack.services import elasticsearch as es
from stack.services import kibana

ENVS = available_envs()


@cache
def objects(env):
    return build(load_settings(env))


def build(settings):
    upstream = upstream_artifacts(settings)
    secrets = dict.fromkeys(required_secret_keys(settings, upstream), REDACTED)
    return {(o["kind"], o["metadata"]["name"]): o for s in build_services(settings, secrets, upstream) for o in s.objects}


def pod(env, kind, name):
    return objects(env)[(kind, name)]["spec"]["template"]["spec"]


def container(spec, name):
    return next(c for c in spec["containers"] + spec.get("initContainers", []) if c["name"] == name)


def env_of(c):
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


# --- node-exporter -------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_node_exporter_listens_on_loopback_behind_an_authenticating_tls_proxy(env):
    c = load_settings(env).cluster
    spec = pod(env, "DaemonSet", "node-exporter")
    exporter, proxy = container(spec, "node-exporter"), container(spec, "kube-rbac-proxy")
    assert "--web.listen-address=127.0.0.1:9100" in exporter["args"] and "ports" not in exporter
    assert proxy["ports"] == [{"name": "https", "containerPort": 9100, "protocol": "TCP"}]
    assert {"--secure-listen-address=[$(IP)]:9100", "--upstream=http://127.0.0.1:9100/",
            "--tls-cert-file=/etc/kube-rbac-proxy/tls/tls.crt", "--tls-private-key-file=/etc/kube-rbac-proxy/tls/tls.key",
            "--allow-paths=/metrics"} <= set(proxy["args"])
    tls = next(v for v in spec["volumes"] if v["name"] == "tls")
    assert tls["secret"]["secretName"] == c.node_exporter_tls_secret
    # The proxy reviews callers' tokens: it may create reviews, nothing else.
    role = objects(env)[("ClusterRole", f"{c.node_namespace}-node-exporter")]
    assert role["rules"] == [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["subjectaccessreviews"], "verbs": ["create"]},
    ]
    # Realistic memory (kube-prometheus: 180Mi), not the 64Mi that OOM-killed it on big nodes.
    assert exporter["resources"]["limits"]["memory"] == "180Mi"


@pytest.mark.parametrize("env", ENVS)
def test_prometheus_scrapes_node_exporter_over_verified_tls_with_its_token(env):
    c = load_settings(env).cluster
    config = yaml.safe_load(objects(env)[("ConfigMap", "prometheus-config")]["data"]["prometheus.yml"])
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "node-exporter")
    assert job["scheme"] == "https"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": SERVICE_ACCOUNT_TOKEN}
    assert job["tls_config"] == {"ca_file": "/etc/prometheus/ca/ca.crt", "server_name": f"node-exporter.{c.node_namespace}.svc"}
    assert job["dns_sd_configs"][0]["names"] == [f"node-exporter.{c.node_namespace}.svc"]
    spec = pod(env, "StatefulSet", "prometheus")
    assert {"name": "ca", "mountPath": "/etc/prometheus/ca", "readOnly": True} in container(spec, "prometheus")["volumeMounts"]
    assert spec["automountServiceAccountToken"] is True
    # kube-rbac-proxy authorizes GET /metrics against Prometheus' ClusterRole.
    rules = objects(env)[("ClusterRole", f"{c.namespace}-prometheus")]["rules"]
    assert {"nonResourceURLs": ["/metrics"], "verbs": ["get"]} in rules


# --- Kibana ---------------------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_kibana_status_is_not_anonymous_and_readiness_needs_no_credentials(env):
    c = container(pod(env, "Deployment", "kibana"), "kibana")
    assert env_of(c)["STATUS_ALLOWANONYMOUS"] == "false"
    assert c["readinessProbe"]["httpGet"]["path"] == "/login"


# --- Filebeat -> Logstash -------------------------------------------------------------------

@pytest.mark.parametrize("env", ENVS)
def test_filebeat_ships_to_logstash_over_mutual_tls(env):
    settings = load_settings(env)
    c, objs = settings.cluster, objects(env)
    beat = yaml.safe_load(objs[("ConfigMap", "filebeat-config")]["data"]["filebeat.yml"])["output.logstash"]
    assert beat["hosts"] == [f"logstash.{c.namespace}.svc:{settings.logging.beats_port}"]
    assert objs[("Service", "logstash")]["metadata"]["namespace"] == c.namespace
    assert beat["ssl.enabled"] is True and beat["ssl.verification_mode"] == "full"
    fb = pod(env, "DaemonSet", "filebeat")
    assert {"name": "tls", "mountPath": "/etc/filebeat/tls", "readOnly": True} in container(fb, "filebeat")["volumeMounts"]
    assert next(v for v in fb["volumes"] if v["name"] == "tls")["secret"]["secretName"] == c.filebeat_tls_secret
    assert {beat["ssl.certificate"], beat["ssl.key"], *beat["ssl.certificate_authorities"]} == {
        "/etc/filebeat/tls/tls.crt", "/etc/filebeat/tls/tls.key", "/etc/filebeat/tls/ca.crt"}

    conf = objs[("ConfigMap", "logstash-pipeline")]["data"]["llm-router.conf"]
    beats = conf[conf.index("beats {"):conf.index("}", conf.index("beats {"))]
    assert 'ssl_enabled => true' in beats and 'ssl_client_authentication => "required"' in beats
    for name in ("tls.crt", "tls.key", "ca.crt"):
        assert f'"/usr/share/logstash/tls/{name}"' in beats
    ls = pod(env, "StatefulSet", "logstash")
    assert {"name": "tls", "mountPath": "/usr/share/logstash/tls", "readOnly": True} in container(ls, "logstash")["volumeMounts"]
    assert next(v for v in ls["volumes"] if v["name"] == "tls")["secret"]["secretName"] == c.logstash_tls_secret


# --- Passwords never on a command line ------------------------------------------------------

PASSWORD = "Not-On-The-Cmdline-7x9!"


def traced(script, tmp_path, paths):
    """Run ``script`` under strace with a stand-in curl; (every execve argv, what curl read on stdin)."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "elastic-password").write_text(PASSWORD)
    for name in es.PASSWORDS:
        if name != "elastic-password":
            (secrets / name).write_text(f"other-{name}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text('#!/bin/bash\ncat >> "$CURL_STDIN"\necho\n')
    (bin_dir / "curl").chmod(0o755)
    for old, new in {**paths, es.SECRETS_DIR: str(secrets)}.items():
        script = script.replace(old, new)
    trace = tmp_path / "trace"
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", CURL_STDIN=str(tmp_path / "stdin"))
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-s", "4096", "-o", str(trace), "bash", "-c", script],
                   env=env, stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=60)
    execs = [line for line in trace.read_text().splitlines() if "execve(" in line]
    return execs, (tmp_path / "stdin").read_text()


def test_elasticsearch_setup_job_keeps_passwords_off_command_lines(tmp_path):
    data = objects("prod")[("ConfigMap", "elasticsearch-setup")]["data"]
    setup = tmp_path / "setup"
    setup.mkdir()
    for name, text in data.items():
        (setup / name).write_text(text)
    (tmp_path / "scratch").mkdir()
    execs, stdin = traced(data["setup.sh"], tmp_path, {es.SETUP_DIR: str(setup), "/scratch": str(tmp_path / "scratch")})
    curls = [e for e in execs if '["curl"' in e]
    assert len(curls) >= 10  # health, passwords, roles, users, ILM, template: every request went through curl
    assert not [e for e in execs if PASSWORD in e or "other-" in e]
    assert stdin.count(f'user = "elastic:{PASSWORD}"') == len(curls)


def test_elasticsearch_readiness_probe_keeps_the_password_off_its_command_line(tmp_path):
    probe = container(pod("prod", "StatefulSet", "elasticsearch"), "elasticsearch")["readinessProbe"]["exec"]["command"]
    assert probe[:2] == ["/bin/bash", "-c"] and " -k " not in probe[2] and "--cacert" in probe[2]
    execs, stdin = traced(probe[2], tmp_path, {})
    assert [e for e in execs if '["curl"' in e] and not [e for e in execs if PASSWORD in e]
    assert stdin == f'user = "elastic:{PASSWORD}"\n'


def test_kibana_import_job_keeps_the_password_off_command_lines(tmp_path):
    objects_dir = tmp_path / "objects"
    objects_dir.mkdir()
    (objects_dir / "x.ndjson").write_text("{}\n")
    script = kibana.IMPORT_SCRIPT % {"secrets": es.SECRETS_DIR, "dir": str(objects_dir)}
    job = next(o for (kind, name), o in objects("prod").items() if kind == "Job" and name.startswith("kibana-setup-"))
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][2] == kibana.IMPORT_SCRIPT % {
        "secrets": es.SECRETS_DIR, "dir": kibana.OBJECTS_DIR}
    execs, stdin = traced(script, tmp_path, {})
    assert len([e for e in execs if '["curl"' in e]) == 2 and not [e for e in execs if PASSWORD in e]
    assert stdin.count(PASSWORD) == 2


def test_the_trace_sees_a_password_on_a_command_line(tmp_path):
    """The check is real: the old style (curl -u elastic:$(cat ...)) is caught."""
    execs, _ = traced(f'curl -sf -u "elastic:$(cat {es.SECRETS_DIR}/elastic-password)" https://localhost:9200/', tmp_path, {})
    assert [e for e in execs if PASSWORD in e]


# --- Least privilege ------------------------------------------------------------------------

READ_ONLY = {"read", "view_index_metadata", "monitor"}


@pytest.mark.parametrize("env", ENVS)
def test_jaeger_query_reads_with_a_read_only_user(env):
    c = container(pod(env, "Deployment", "jaeger-query"), "jaeger-query")
    assert env_of(c)["ES_USERNAME"] == "jaeger_reader" and "ES_PASSWORD" not in env_of(c)
    assert env_of(c)["ES_PASSWORD_FILE"] == "/etc/jaeger-es/es-password"
    volume = next(v for v in pod(env, "Deployment", "jaeger-query")["volumes"] if v["name"] == "es-password")
    assert volume["secret"]["secretName"] == "jaeger-query"
    data = objects(env)[("ConfigMap", "elasticsearch-setup")]["data"]
    role = json.loads(data["role-jaeger_reader.json"])
    assert set(role["cluster"]) | {p for i in role["indices"] for p in i["privileges"]} <= READ_ONLY
    assert "password_body /run/secrets/elasticsearch/jaeger-reader-password jaeger_reader\napi PUT /_security/user/jaeger_reader " \
        in data["setup.sh"]
    # The collector keeps the writer account.
    assert env_of(container(pod(env, "Deployment", "jaeger-collector"), "jaeger-collector"))["ES_USERNAME"] == "jaeger"


@pytest.mark.parametrize("env", ENVS)
def test_kube_state_metrics_cannot_read_secrets_and_asks_only_for_what_it_may_list(env):
    c = load_settings(env).cluster
    rules = objects(env)[("ClusterRole", f"{c.namespace}-kube-state-metrics")]["rules"]
    allowed = {r for rule in rules for r in rule["resources"]}
    assert "secrets" not in allowed and all(rule["verbs"] == ["list", "watch"] for rule in rules)
    args = container(pod(env, "Deployment", "kube-state-metrics"), "kube-state-metrics")["args"]
    (resources,) = [a.partition("=")[2] for a in args if a.startswith("--resources=")]
    assert set(resources.split(",")) == allowed


# --- Elasticsearch ---------------------------------------------------------------------------

@pytest.mark.parametrize(("env", "required"), [("dev", False), ("staging", False), ("prod", True)])
def test_elasticsearch_masters_must_spread_in_prod(env, required):
    affinity = pod(env, "StatefulSet", "elasticsearch")["affinity"]["podAntiAffinity"]
    assert ("requiredDuringSchedulingIgnoredDuringExecution" in affinity) is required
    assert ("preferredDuringSchedulingIgnoredDuringExecution" in affinity) is not required
    if required:
        (term,) = affinity["requiredDuringSchedulingIgnoredDuringExecution"]
        assert term["topologyKey"] == "kubernetes.io/hostname"
        assert term["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == "elasticsearch"


@pytest.mark.parametrize("env", ENVS)
def test_nothing_privileged_or_writable_in_the_monitoring_namespace(env):
    """The monitoring namespace enforces 'restricted': every container there fits it."""
    c = load_settings(env).cluster
    ns = objects(env)[("Namespace", c.namespace)]["metadata"]["labels"]
    assert ns["pod-security.kubernetes.io/enforce"] == "restricted"
    assert objects(env)[("Namespace", c.node_namespace)]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    for (_kind, name), obj in objects(env).items():
        spec = obj.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if not template or obj["metadata"]["namespace"] != c.namespace:
            continue
        pspec = template["spec"]
        assert pspec["securityContext"]["runAsNonRoot"] is True, name
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pspec) and not [v for v in pspec.get("volumes", []) if "hostPath" in v]
        for ctr in pspec["containers"] + pspec.get("initContainers", []):
            ctx = ctr["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False, f"{name}/{ctr['name']}"
            assert ctx["capabilities"] == {"drop": ["ALL"]} and not ctx.get("privileged") and ctx["runAsUser"] != 0


@pytest.mark.parametrize("env", ENVS)
def test_max_map_count_is_set_from_the_node_agents_namespace(env):
    c = load_settings(env).cluster
    tuning = objects(env).get(("DaemonSet", "elasticsearch-node-tuning"))
    assert (tuning is not None) == (c.es_max_map_count == "nodeDaemonSet")
    es_env = env_of(container(pod(env, "StatefulSet", "elasticsearch"), "elasticsearch"))
    assert (es_env.get("node.store.allow_mmap") == "false") == (c.es_max_map_count == "disableMmap")
    if tuning:
        assert tuning["metadata"]["namespace"] == c.node_namespace
        spec = tuning["spec"]["template"]["spec"]
        (init,) = spec["initContainers"]
        assert init["command"] == ["sysctl", "-w", f"vm.max_map_count={es.MAX_MAP_COUNT}"] and init["securityContext"]["privileged"]
        # The long-running container is unprivileged and ready only while the node keeps the value.
        (pause,) = spec["containers"]
        assert not pause["securityContext"].get("privileged") and str(es.MAX_MAP_COUNT) in pause["readinessProbe"]["exec"]["command"][2]


# --- Images ----------------------------------------------------------------------------------

DIGEST = "sha256:" + "ab" * 32


def test_an_image_pinned_by_digest_drops_the_digest_skip_and_pull_always():
    settings = load_settings("prod")
    image = f"quay.io/prometheus/prometheus:v3.13.2@{DIGEST}"
    # prod's Prometheus pods also run the Thanos sidecar: both images pinned by digest.
    images = {**settings.cluster.images, "prometheus": image, "thanos": f"quay.io/thanos/thanos:v0.42.4@{DIGEST}"}
    pinned = replace(settings, cluster=replace(settings.cluster, images=images))
    sts = build(pinned)[("StatefulSet", "prometheus")]
    c = container(sts["spec"]["template"]["spec"], "prometheus")
    assert c["image"] == image and c["imagePullPolicy"] == "IfNotPresent"
    assert not [v for v in sts["metadata"]["annotations"].values() if v.startswith(IMAGE_DIGEST_CHECK)]
    # Pinned by tag only: pulled Always, and the digest check is skipped with its reason.
    kibana_ = objects("prod")[("Deployment", "kibana")]
    assert container(kibana_["spec"]["template"]["spec"], "kibana")["imagePullPolicy"] == "Always"
    assert [v for v in kibana_["metadata"]["annotations"].values() if v.startswith(f"{IMAGE_DIGEST_CHECK}=pinned by tag (9.3.4)")]


def test_digest_pins_are_accepted_in_settings_and_latest_is_not():
    from foundation.settings.cluster import ClusterSettings
    from foundation.settings.reader import Reader

    parsed = ClusterSettings.parse(Reader("prod", {"images": {"grafana": f"docker.io/grafana/grafana:12.4.3@{DIGEST}"}}, "cluster"))
    assert parsed.images["grafana"].endswith(DIGEST)
    with pytest.raises(SettingsError, match="cluster.images.grafana"):
        ClusterSettings.parse(Reader("prod", {"images": {"grafana": "docker.io/grafana/grafana:latest"}}, "cluster"))


def test_ui_without_login_cannot_get_an_ingress():
    from foundation.settings.cluster import ClusterSettings
    from foundation.settings.reader import Reader

    with pytest.raises(SettingsError, match=re.escape("cluster.ingress.hosts.prometheus") + ".*no login"):
        ClusterSettings.parse(Reader("prod", {"ingress": {"hosts": {"prometheus": "prom.example.com"}}}, "cluster"))
