"""Every rendered Kubernetes object passes kubernetes-validate --strict for the targeted version."""

import pytest
import yaml

from foundation.settings import available_envs, load_settings
from llmmon.checkers import kubernetes_validate
from stack.objects import CHECKSUM_ANNOTATION
from stack.render import artifacts

ENVS = available_envs()
LABELS = {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
          "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """env -> {path: content}; files written under one dir per env."""
    root = tmp_path_factory.mktemp("k8s")
    out = {}
    for env in ENVS:
        files = {rel: text for rel, text in artifacts(load_settings(env)).items() if rel.startswith("kubernetes/")}
        for rel, text in files.items():
            path = root / env / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        out[env] = files
    return root, out


def objects(files):
    return [doc for path, text in files.items() if path.startswith("kubernetes/") and path.endswith(".yaml")
            for doc in yaml.safe_load_all(text) if doc]


def test_all_envs_pass_kubernetes_validate_strict(rendered):
    root, _ = rendered
    versions = {load_settings(env).cluster.kubernetes_version for env in ENVS}
    for version in sorted(versions):  # one run over every file per targeted version
        paths = sorted(p for env in ENVS if load_settings(env).cluster.kubernetes_version == version
                       for p in (root / env).rglob("*.yaml"))
        result = kubernetes_validate(paths, version)
        result.raise_for_failure()
        # Unknown kinds only warn (no schema, nothing checked): every object must have a schema.
        assert "WARN" not in result.output, result.output


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path):
    """The check is real: a misspelt field fails strict validation."""
    files = artifacts(load_settings("dev"))
    docs = objects(files)
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(deployment))
    deployment["spec"]["replica"] = 2
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(deployment))
    # The broken file comes second: every path given is validated, not only the first.
    result = kubernetes_validate([good, path], load_settings("dev").cluster.kubernetes_version)
    assert not result.ok and "replica" in result.output


def test_render_is_deterministic():
    settings = load_settings("prod")
    assert artifacts(settings) == artifacts(settings)


@pytest.mark.parametrize("env", ENVS)
def test_every_object_is_labelled_and_workloads_carry_a_config_checksum(rendered, env):
    for doc in objects(rendered[1][env]):
        assert LABELS <= set(doc["metadata"]["labels"]), f"{doc['kind']} {doc['metadata']['name']}"
        if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            template = doc["spec"]["template"]["metadata"]
            assert LABELS <= set(template["labels"])
            assert len(template["annotations"][CHECKSUM_ANNOTATION]) == 64


def test_changed_config_changes_the_checksum():
    from dataclasses import replace

    settings = load_settings("dev")
    changed = replace(settings, router=replace(settings.router, scrape_interval="15s"))

    def checksums(s):
        return {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION]
                for d in objects(artifacts(s)) if d["kind"] in ("StatefulSet", "Deployment")}

    before, after = checksums(settings), checksums(changed)
    # Grafana's datasources carry the scrape interval; Prometheus' config would too once rendered.
    assert before["grafana"] != after["grafana"]
    assert before["elasticsearch"] == after["elasticsearch"]


@pytest.mark.parametrize("env", ENVS)
def test_images_pinned(rendered, env):
    for doc in objects(rendered[1][env]):
        spec = doc.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if not template:
            continue
        for c in template["spec"]["containers"] + template["spec"].get("initContainers", []):
            tag = c["image"].rpartition(":")[2]
            assert tag and tag != "latest" and "/" not in tag, c["image"]


def test_render_writes_kubernetes_dir(tmp_path):
    from llmmon.render import render_env

    written = render_env("dev", tmp_path)
    k8s = sorted(p.name for p in written if p.parent.name == "kubernetes" and p.suffix == ".yaml")
    assert k8s[0] == "00-namespace.yaml" and "01-prometheus.yaml" in k8s and len(k8s) == 12  # 11 + dcgm-exporter
    assert (tmp_path / "kubernetes" / "SECRETS.md").is_file()


@pytest.mark.parametrize("env", ENVS)
def test_configmaps_fit_the_api_server_limit(rendered, env):
    """A ConfigMap over 1 MiB is refused by the API server (etcd object size)."""
    for doc in objects(rendered[1][env]):
        if doc["kind"] == "ConfigMap":
            size = sum(len(k) + len(v.encode()) for k, v in doc.get("data", {}).items())
            assert size < 1024 * 1024 * 0.9, f"{doc['metadata']['name']}: {size} bytes"


def _pod_templates(docs):
    for doc in docs:
        spec = doc.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if template:
            yield doc, template


@pytest.mark.parametrize("env", ENVS)
def test_names_cross_reference(rendered, env):
    """What validation cannot see: probe/Service ports, volumes, ConfigMaps and selectors must exist."""
    docs = objects(rendered[1][env])
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    pod_labels, ports_by_app = [], {}
    for doc, template in _pod_templates(docs):
        pod_labels.append(template["metadata"]["labels"])
        spec = template["spec"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in doc["spec"].get("volumeClaimTemplates", [])}
        for c in spec["containers"] + spec.get("initContainers", []):
            ports = {p["name"] for p in c.get("ports", [])}
            ports_by_app.setdefault(template["metadata"]["labels"]["app.kubernetes.io/name"], set()).update(ports)
            for probe in (c.get("livenessProbe"), c.get("readinessProbe")):
                action = probe and (probe.get("httpGet") or probe.get("tcpSocket")) or {}
                # A host-network container probed on the node's loopback names its port by number.
                on_loopback = action.get("host") == "127.0.0.1" and spec.get("hostNetwork") and isinstance(action["port"], int)
                assert not action or on_loopback or action["port"] in ports, f"{doc['metadata']['name']}: probe port {action}"
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes or m["name"] in claims, f"{doc['metadata']['name']}: volume {m['name']}"
        for v in volumes.values():
            if "configMap" in v:
                assert ("ConfigMap", v["configMap"]["name"]) in names
            if "secret" in v:  # not rendered: listed in SECRETS.md, or a TLS prerequisite
                assert v["secret"]["secretName"] in _documented_secrets(env), v["secret"]["secretName"]
    for doc in docs:
        if doc["kind"] == "Service":
            app = doc["spec"]["selector"]["app.kubernetes.io/name"]
            assert {p["targetPort"] for p in doc["spec"]["ports"]} <= ports_by_app[app], doc["metadata"]["name"]
        if doc["kind"] in ("NetworkPolicy", "PodDisruptionBudget"):
            spec = doc["spec"]
            selector = (spec.get("selector") or spec.get("podSelector") or {}).get("matchLabels")
            if selector:  # an empty podSelector (the namespace baseline) selects every pod
                assert any(selector.items() <= labels.items() for labels in pod_labels), doc["metadata"]["name"]


def _documented_secrets(env):
    from stack.render import SECRETS_DOC

    doc = artifacts(load_settings(env))[SECRETS_DOC]
    return {line.rpartition("/")[2] for line in doc.splitlines() if line.startswith("## ") and "/" in line} | {
        line.split("/")[1].split("`")[0] for line in doc.splitlines() if line.startswith("- `")}


def _pods_by_app(objs):
    """app name -> (checksum annotation, names of the ConfigMaps its pods mount), for every pod template."""
    out = {}
    for _doc, template in _pod_templates(objs):
        cms = {v["configMap"]["name"] for v in template["spec"].get("volumes", []) if "configMap" in v}
        out[template["metadata"]["labels"]["app.kubernetes.io/name"]] = (
            template["metadata"].get("annotations", {}).get(CHECKSUM_ANNOTATION), cms)
    return out


def test_any_mounted_configmap_change_rolls_the_pods():
    """Each rendered file in turn is changed: every pod reading a ConfigMap that changed gets a new checksum."""
    from stack.build import build_services, upstream_artifacts
    from stack.credentials import required_secret_keys
    from stack.model import REDACTED

    settings = load_settings("dev")
    upstream = upstream_artifacts(settings)
    secrets = dict.fromkeys(required_secret_keys(settings, upstream), REDACTED)

    def build(artifacts):
        objs = [o for s in build_services(settings, secrets, artifacts) for o in s.objects]
        data = {o["metadata"]["name"]: o.get("data") for o in objs if o["kind"] == "ConfigMap"}
        return data, _pods_by_app(objs)

    data, pods = build(upstream)
    rolled = set()
    for path in upstream:
        changed = dict(upstream, **{path: upstream[path] + ("\n" if path.endswith("json") else "\n# changed\n")})
        new_data, new_pods = build(changed)
        touched = {name for name in data if new_data.get(name) != data[name]}
        for app, (digest, mounted) in pods.items():
            if mounted & touched:
                assert new_pods[app][0] != digest, f"{path} changes ConfigMap(s) {mounted & touched} but not {app}'s checksum"
                rolled.add(app)
    assert {"prometheus", "alertmanager", "grafana", "logstash", "filebeat"} <= rolled


@pytest.mark.parametrize("env", ENVS)
def test_pods_run_under_seccomp_and_only_api_clients_get_a_token(rendered, env):
    """RuntimeDefault seccomp on every pod; a service-account token only where the pod talks to the API server."""
    for doc, template in _pod_templates(objects(rendered[1][env])):
        spec, where = template["spec"], f"{doc['kind']} {doc['metadata']['name']}"
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is ("serviceAccountName" in spec), where
    accounts = [d for d in objects(rendered[1][env]) if d["kind"] == "ServiceAccount"]
    assert accounts and all(d["automountServiceAccountToken"] is False for d in accounts)


@pytest.mark.parametrize("env", ENVS)
def test_disruption_budgets_never_block_a_drain(rendered, env):
    """maxUnavailable 1, never minAvailable: a single-replica workload must not block node drains."""
    budgets = [d for d in objects(rendered[1][env]) if d["kind"] == "PodDisruptionBudget"]
    assert budgets and all(d["spec"].get("maxUnavailable") == 1 and "minAvailable" not in d["spec"] for d in budgets)
