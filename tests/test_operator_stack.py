"""Operator mode end to end: the Pulumi program under mocks, the render, the CRD schemas, the gates.

Every env runs both ways: as configured (standalone) and switched to operator mode
(``tests/operator_support.py``).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import pytest
import yaml
from pulumi_policy.deserialize import deserialize_properties

from alerts.operator import RECEIVER_SECRET
from foundation.settings import available_envs, load_settings
from foundation.standards.prometheus_operator import SUPPORTED_VERSIONS, python_regex, validate
from llmmon.checkers import checkov_scan, kubernetes_manifests, kubernetes_validate, operator_crd_validate
from llmmon.commands.check import check_render
from stack.mocks import SECRET_SIG, fake_secrets, run_program
from stack.policies import RESOURCE_POLICIES, STACK_POLICIES
from stack.render import artifacts
from tests.operator_support import KPS, OPERATOR, operator_config, operator_settings
from tests.test_policies import resource_violations, stack_violations

ENVS = available_envs()
GROUP = "kubernetes:monitoring.coreos.com"
#: Thanos too: its sidecars sit in our Prometheus pods, so operator mode refuses metricsStore.mode: thanos.
STANDALONE_ONLY = {"Prometheus", "Alertmanager", "NodeExporter", "KubeStateMetrics", "Thanos"}


@cache
def resources(env, mode):
    config = operator_config(env) if mode == "operator" else None
    return tuple(run_program(env, fake_secrets(env), config))


def of_type(env, mode, suffix):
    return {r.name: r.inputs for r in resources(env, mode) if r.custom and r.typ.endswith(suffix)}


@pytest.mark.parametrize("env", ENVS)
def test_operator_mode_deploys_no_prometheus_alertmanager_or_exporters(env):
    standalone = {r.name for r in resources(env, "standalone") if not r.custom}
    operator = {r.name for r in resources(env, "operator") if not r.custom}
    assert operator == (standalone - STANDALONE_ONLY) | {"OperatorMonitoring"}
    workloads = {**of_type(env, "operator", ":StatefulSet"), **of_type(env, "operator", ":DaemonSet"),
                 **of_type(env, "operator", ":Deployment")}
    assert not {"prometheus", "alertmanager", "node-exporter", "kube-state-metrics"} & set(workloads)
    assert not [r for r in resources(env, "standalone") if r.typ.startswith(GROUP)]  # standalone: none


@pytest.mark.parametrize("env", ENVS)
def test_operator_objects_in_the_settings_namespaces_with_the_selector_labels(env):
    settings = operator_settings(env)
    o = settings.cluster.operator
    custom = [r for r in resources(env, "operator") if r.typ.startswith(GROUP)]
    # Router pods, annotated pods, each engine, the DCGM exporter (deployed or existing).
    monitors = 2 + len(settings.engines.engines) + (settings.dcgm_targets is not None)
    assert sorted(r.typ for r in custom) == sorted(
        [f"{GROUP}/v1:PodMonitor"] * monitors + [f"{GROUP}/v1:PrometheusRule"] * 3
        + [f"{GROUP}/v1alpha1:AlertmanagerConfig"])
    where = {"PodMonitor": o.pod_monitor_namespace, "PrometheusRule": o.rule_namespace,
             "AlertmanagerConfig": o.alertmanager_config_namespace}
    for r in custom:
        assert r.inputs["kind"] == r.typ.rpartition(":")[2] and r.inputs["apiVersion"] == r.typ[len("kubernetes:"):].rpartition(":")[0]
        assert r.inputs["metadata"]["namespace"] == where[r.inputs["kind"]]
        assert r.inputs["metadata"]["labels"]["release"] == KPS
        assert not validate(r.inputs), validate(r.inputs)  # what Pulumi sends passes the CRD schemas


def test_namespaces_from_settings_reach_the_objects():
    names = {"podMonitors": "mon-a", "prometheusRules": "mon-b", "alertmanagerConfig": "mon-c"}
    objects = [d for p, t in artifacts(operator_settings("dev", namespaces=names)).items()
               if p.startswith("kubernetes/") and p.endswith(".yaml") for d in yaml.safe_load_all(t) if d]
    found = {(d["kind"], d["metadata"]["namespace"]) for d in objects if d["apiVersion"].startswith("monitoring.")}
    assert found == {("PodMonitor", "mon-a"), ("PrometheusRule", "mon-b"), ("AlertmanagerConfig", "mon-c")}


@pytest.mark.parametrize("env", ENVS)
def test_receiver_credentials_come_from_a_secret_beside_the_alertmanager_config(env):
    o = operator_settings(env).cluster.operator
    (amc,) = of_type(env, "operator", ":AlertmanagerConfig").values()
    refs = {ref["key"] for ref in _refs(amc) if ref["name"] == RECEIVER_SECRET}
    secret = of_type(env, "operator", "core/v1:Secret").get(RECEIVER_SECRET)
    assert bool(refs) == (env != "dev")  # dev mails without SMTP auth: no credential at all
    if refs:
        assert secret["metadata"]["namespace"] == o.alertmanager_config_namespace
        assert secret["stringData"][SECRET_SIG] == "1b47061264138c4ac30d75fd1eb44270"  # a Pulumi secret
        assert set(secret["stringData"]["value"]) == refs
    else:
        assert secret is None
    text = json.dumps(amc)
    assert not [v for v in fake_secrets(env).values() if v in text]  # referenced, never inlined


def _refs(node):
    if isinstance(node, dict):
        if set(node) == {"name", "key"}:
            yield node
        for v in node.values():
            yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


@pytest.mark.parametrize("env", ENVS)
def test_grafana_queries_the_clusters_prometheus(env):
    url = OPERATOR["prometheusUrl"]
    if load_settings(env).grafana.uses_provider:
        sources = of_type(env, "operator", "grafana:oss/dataSource:DataSource")
        assert {s["url"] for s in sources.values() if s["uid"] == "prometheus"} == {url}
        standalone = of_type(env, "standalone", "grafana:oss/dataSource:DataSource")
        ours = "http://thanos-query:10902" if load_settings(env).metrics_store.thanos_enabled else "http://prometheus:9090"
        assert {s["url"] for s in standalone.values() if s["uid"] == "prometheus"} == {ours}
    else:
        maps = of_type(env, "operator", "core/v1:ConfigMap")
        doc = yaml.safe_load(maps["grafana-datasources"]["data"]["datasources.yaml"])
        assert [d["url"] for d in doc["datasources"] if d["uid"] == "prometheus"] == [url]
    policy = of_type(env, "operator", "networking.k8s.io/v1:NetworkPolicy")["grafana"]["spec"]
    prometheus = [rule for rule in policy["egress"] if {"port": 9090, "protocol": "TCP"} in rule.get("ports", [])]
    assert [rule["to"] for rule in prometheus] == [[{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": KPS}},
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}]]


@pytest.mark.parametrize("env", ENVS)
def test_grafana_keeps_its_replicas_and_database_in_operator_mode(env):
    """Grafana HA does not depend on who runs Prometheus: same replicas, same database settings."""
    settings = load_settings(env)
    if not settings.grafana.deploys_grafana:
        return
    spec = of_type(env, "operator", ":Deployment")["grafana"]["spec"]
    assert spec["replicas"] == settings.cluster.workloads["grafana"].replicas
    env_vars = {e["name"]: e.get("value") for e in spec["template"]["spec"]["containers"][0].get("env", [])}
    assert (env_vars.get("GF_DATABASE_TYPE") == "postgres") == settings.grafana.database.shared


@pytest.mark.parametrize("env", ENVS)
def test_operator_mode_passes_every_policy(env):
    captured = [(r.typ, r.name, deserialize_properties(r.inputs)) for r in resources(env, "operator") if r.custom]
    forbidden = list(fake_secrets(env).values())
    for policy in RESOURCE_POLICIES:
        assert resource_violations(policy.name, captured, forbidden) == [], policy.name
    for policy in STACK_POLICIES:
        assert stack_violations(policy.name, captured) == [], policy.name


def test_preview_registers_the_same_resources_in_operator_mode():
    preview = run_program("prod", fake_secrets("prod"), operator_config("prod"), preview=True)
    assert sorted((r.typ, r.name) for r in preview) == sorted((r.typ, r.name) for r in resources("prod", "operator"))


# --- render, schemas, gates --------------------------------------------------------------------
def rendered_files(settings, root: Path) -> list[Path]:
    paths = []
    for rel, text in artifacts(settings).items():
        if rel.startswith("kubernetes/") and rel.endswith(".yaml"):
            paths.append(root / settings.env / rel)
            paths[-1].parent.mkdir(parents=True, exist_ok=True)
            paths[-1].write_text(text)
    return paths


@pytest.fixture(scope="module")
def operator_renders(tmp_path_factory):
    root = tmp_path_factory.mktemp("operator")
    return root, {env: rendered_files(operator_settings(env), root) for env in ENVS}


def test_operator_objects_pass_the_crd_schemas_of_every_supported_release(operator_renders):
    _, files = operator_renders
    result = operator_crd_validate([p for paths in files.values() for p in paths])
    assert result.ok, result.output
    # Per env: 3 PrometheusRules, an AlertmanagerConfig, PodMonitors for router pods, annotated pods,
    # each engine and the DCGM exporter.
    objects = sum(4 + 2 + len(s.engines.engines) + (s.dcgm_targets is not None) for s in map(operator_settings, ENVS))
    assert objects == 27 and result.output.startswith(f"{objects} objects valid")
    assert SUPPORTED_VERSIONS == ("0.61.0", "0.93.0")


def test_kubernetes_validate_strict_on_the_rest_of_the_operator_render(operator_renders):
    _, files = operator_renders
    paths = [p for env in ENVS for p in files[env]]
    manifests = kubernetes_manifests(paths)
    assert len(manifests) == len(paths) - len(ENVS)  # one file per env holds only operator objects
    result = kubernetes_validate(manifests, load_settings("prod").cluster.kubernetes_version)
    assert result.ok, result.output
    assert "WARN" not in result.output, result.output


def test_checkov_finds_no_failed_check_in_operator_mode(operator_renders):
    root, _ = operator_renders
    report = checkov_scan(root)
    assert report.passed > 2000, report.output
    assert report.failed == [], report.result().output
    assert report.skipped and all(f.reason and f.reason != "No comment provided" for f in report.skipped)


def _pod_monitor():
    return next(d for d in yaml.safe_load_all(
        next(t for p, t in artifacts(operator_settings("dev")).items() if p.endswith("operator-monitoring.yaml")))
        if d and d["kind"] == "PodMonitor")


@pytest.mark.parametrize(("edit", "path", "fragment"), [
    (lambda o: o["spec"]["podMetricsEndpoints"][0].update(portName="metrics"), "spec.podMetricsEndpoints[0]",
     "'portName' was unexpected"),
    (lambda o: o["spec"]["podMetricsEndpoints"][0].update(interval="10 seconds"), "spec.podMetricsEndpoints[0].interval",
     "does not match"),
    (lambda o: o["spec"]["podMetricsEndpoints"][0]["relabelings"][0].update(action="Drop-It"),
     "spec.podMetricsEndpoints[0].relabelings[0].action", "is not one of"),
    (lambda o: o["spec"].update(namespaceSelector={"matchNames": "llm-router-dev"}), "spec.namespaceSelector.matchNames",
     "is not of type 'array'"),
    (lambda o: o["metadata"].update(name="LLM_Router"), "metadata.name", "does not match"),
])
def test_schema_violations_are_reported_with_their_path(edit, path, fragment):
    obj = copy.deepcopy(_pod_monitor())
    assert validate(obj) == []
    edit(obj)
    problems = validate(obj)
    assert {p.version for p in problems} == set(SUPPORTED_VERSIONS)
    assert any(p.path == path and fragment in p.message for p in problems), [str(p) for p in problems]


def test_alertmanager_config_and_rule_violations():
    settings = operator_settings("prod")
    docs = [d for p, t in artifacts(settings).items() if p.endswith("operator-monitoring.yaml")
            for d in yaml.safe_load_all(t) if d]
    amc = copy.deepcopy(next(d for d in docs if d["kind"] == "AlertmanagerConfig"))
    amc["spec"]["route"]["matchers"][0]["matchType"] = "=="
    amc["spec"]["receivers"][1]["slackConfigs"][0]["apiURL"] = "https://hooks.slack.com/inline"
    paths = {p.path for p in validate(amc)}
    assert {"spec.route.matchers[0].matchType", "spec.receivers[1].slackConfigs[0].apiURL"} <= paths
    rule = copy.deepcopy(next(d for d in docs if d["kind"] == "PrometheusRule"))
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    rule["spec"]["groups"][0]["partial_response_strategy"] = "maybe"
    paths = {p.path for p in validate(rule)}
    assert {"spec.groups[0].rules[0]", "spec.groups[0].partial_response_strategy"} <= paths
    rule["spec"]["groups"][0]["partial_response_strategy"] = "ABORT"  # (?i) in a Go pattern
    assert "spec.groups[0].partial_response_strategy" not in {p.path for p in validate(rule)}


def test_go_flag_groups_become_scoped_python_groups():
    assert python_regex("^(?i)(abort|warn)?$") == "^(?i:(abort|warn)?$)"
    assert python_regex("^((?i)sun|mon)day$") == "^((?i:sun|mon))day$"
    assert python_regex(r"a\(b[(?i)]c") == r"a\(b[(?i)]c"  # escaped and in a character class: untouched


def test_unknown_kind_is_a_problem_not_a_pass():
    (problem, *_) = validate({"apiVersion": "monitoring.coreos.com/v1", "kind": "Probe", "metadata": {"name": "x"}})
    assert "no vendored schema" in problem.message


def test_llmmon_check_validates_operator_objects(tmp_path, capsys):
    settings = operator_settings("staging")
    assert check_render(settings, tmp_path / "ok") == 0
    table = capsys.readouterr().out
    # 3 rules, AlertmanagerConfig, 5 PodMonitors (router, annotated, 2 engines, DCGM), prometheus/operator/'s rule.
    assert "Prometheus Operator CRD schemas   ok      10 objects valid" in table
    assert "kubernetes-validate 1.30.0        ok" in table and "checkov (kubernetes)              ok" in table
    path = next((tmp_path / "ok" / "kubernetes").glob("*operator-monitoring.yaml"))
    docs = list(yaml.safe_load_all(path.read_text()))
    docs[0]["spec"]["podMetricsEndpoints"][0]["scrapeTimout"] = "8s"
    path.write_text(yaml.safe_dump_all(docs))
    result = operator_crd_validate([path])
    assert not result.ok and "scrapeTimout" in result.output


def test_standalone_check_validates_the_rendered_prometheus_rule(tmp_path):
    from llmmon.render import collect, write

    write(collect(load_settings("dev")), tmp_path)
    result = operator_crd_validate(sorted((tmp_path / "prometheus" / "operator").glob("*.yaml")))
    assert result.ok and result.output.startswith("1 objects valid (PrometheusRule)"), result.output
