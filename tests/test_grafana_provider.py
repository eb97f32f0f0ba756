"""Grafana content through the Pulumi Grafana provider (``grafana.delivery: provider``), under mocks."""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path

import pytest
from pulumi_policy.deserialize import deserialize_properties

from foundation.settings import SettingsError, available_envs, load_settings
from foundation.settings.grafana import ELASTICSEARCH_CA_CONFIG
from llmmon.render import render_env
from stack import program
from stack.mocks import FAKE_CA, SECRET_SIG, fake_secrets, run_program, stack_config
from tests.test_policies import resource_violations, stack_violations

ENVS = available_envs()
GRAFANA_TYPES = ("pulumi:providers:grafana", "grafana:")
EXTERNAL = {
    "delivery": "provider", "instance": "external", "url": "https://grafana.corp.example", "auth": "token",
    "datasourceUrls": {
        "prometheus": "https://prometheus.corp.example", "elasticsearch": "https://logs.corp.example:9200",
        "tracing": "https://traces.corp.example",
    },
    "permissions": {"view": ["role:Viewer"], "edit": ["team:llm-router-oncall"]},
}


@cache
def resources(env: str) -> tuple:
    return tuple(run_program(env, fake_secrets(env)))


def grafana_resources(registered) -> list:
    return [r for r in registered if r.custom and r.typ.startswith(GRAFANA_TYPES)]


def of_type(registered, typ: str) -> dict:
    return {r.name: r for r in registered if r.typ == typ}


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("renders")
    for env in ENVS:
        render_env(env, root / env)
    return {env: root / env for env in ENVS}


def external_config(env: str = "prod") -> dict:
    config = copy.deepcopy(stack_config(env))
    config["grafana"] = copy.deepcopy(EXTERNAL)
    config["cluster"].get("grafana", {}).pop("storage", None)
    return config


def external_secrets(env: str = "prod") -> dict[str, str]:
    secrets = fake_secrets(env)
    secrets.pop("grafanaAdminPassword", None)
    secrets["grafanaApiToken"] = f"TEST-{env}-grafanaApiToken-s3cr3t-Zq9x"
    return secrets


# --- which envs use it, and what it creates --------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_resource_types_and_counts_follow_the_delivery_mode(env, renders):
    found = grafana_resources(resources(env))
    if not load_settings(env).grafana.uses_provider:
        assert found == [], "provisioning delivery must not talk to Grafana's API"
        return
    counts: dict[str, int] = {}
    for r in found:
        counts[r.typ] = counts.get(r.typ, 0) + 1
    dashboards = sorted(p.stem for p in (renders[env] / "grafana" / "dashboards").glob("*.json"))
    assert len(dashboards) == 6  # the five dashboards of the design, and Backends and GPUs
    assert counts == {
        "pulumi:providers:grafana": 1, "grafana:oss/folder:Folder": 1, "grafana:oss/dataSource:DataSource": 3,
        "grafana:oss/dashboard:Dashboard": len(dashboards), "grafana:oss/folderPermission:FolderPermission": 1,
    }


def test_prod_uses_the_provider_against_the_in_cluster_grafana():
    settings = load_settings("prod")
    assert (settings.grafana.delivery, settings.grafana.instance) == ("provider", "in-cluster")
    (provider,) = of_type(resources("prod"), "pulumi:providers:grafana").values()
    assert provider.inputs["url"] == f"https://{settings.cluster.ingress_hosts['grafana']}"
    # Grafana's database must outlive the pods: prod's is an external PostgreSQL that its two
    # replicas share (a Deployment, no volume), reached through the secret grafanaDatabaseUrl.
    assert settings.grafana.database.type == "postgres"
    grafana = next(r for r in resources("prod") if r.typ == "kubernetes:apps/v1:Deployment" and r.name == "grafana")
    assert grafana.inputs["spec"]["replicas"] == 2
    assert not [r for r in resources("prod") if r.typ == "kubernetes:apps/v1:StatefulSet" and r.name == "grafana"]


def test_dashboard_json_sent_is_byte_identical_to_the_render(renders):
    dashboards = of_type(resources("prod"), "grafana:oss/dashboard:Dashboard")
    files = {p.stem: p.read_text() for p in (renders["prod"] / "grafana" / "dashboards").glob("*.json")}
    assert set(dashboards) == set(files)
    for uid, r in dashboards.items():
        assert r.inputs["configJson"] == files[uid], uid
        assert r.inputs["folder"] == "llm-router"
        assert r.inputs["overwrite"] is True


def test_data_source_uids_are_the_ones_dashboards_reference(renders):
    sources = of_type(resources("prod"), "grafana:oss/dataSource:DataSource")
    assert {r.inputs["uid"] for r in sources.values()} == {"prometheus", "elasticsearch", "tracing"}
    used = set()
    for path in (renders["prod"] / "grafana" / "dashboards").glob("*.json"):
        used |= set(re.findall(r'"datasource": \{\s*"type": "[a-z]+",\s*"uid": "([^"]+)"', path.read_text()))
    assert "prometheus" in used and used <= {r.inputs["uid"] for r in sources.values()}
    es = sources["elasticsearch"].inputs
    assert es["url"].startswith("https://") and es["basicAuthEnabled"] is True
    assert es["basicAuthUsername"] == "grafana_reader"
    assert [r.inputs["uid"] for r in sources.values() if r.inputs.get("isDefault")] == ["prometheus"]


def test_every_grafana_resource_goes_through_the_explicit_provider():
    # MockResourceArgs.provider is the provider reference: urn::id of the explicit provider.
    from stack.mocks import CaptureMocks

    captured = []
    original = CaptureMocks.new_resource

    def spy(self, args):
        captured.append((args.typ, args.name, args.provider))
        return original(self, args)

    CaptureMocks.new_resource = spy
    try:
        run_program("prod", fake_secrets("prod"))
    finally:
        CaptureMocks.new_resource = original
    content = [(t, p) for t, _, p in captured if t.startswith("grafana:")]
    assert content and all(p and "pulumi:providers:grafana::grafana" in p for _, p in content)


def test_auth_and_secure_data_stay_secrets():
    (provider,) = of_type(resources("prod"), "pulumi:providers:grafana").values()
    assert SECRET_SIG in provider.inputs["auth"]
    assert provider.inputs["auth"]["value"] == f"admin:{fake_secrets('prod')['grafanaAdminPassword']}"
    es = of_type(resources("prod"), "grafana:oss/dataSource:DataSource")["elasticsearch"].inputs
    secure = es["secureJsonDataEncoded"]
    assert SECRET_SIG in secure
    assert json.loads(secure["value"]) == {"basicAuthPassword": fake_secrets("prod")["grafanaReaderPassword"], "tlsCACert": FAKE_CA}
    assert "secureJsonDataEncoded" not in of_type(resources("prod"), "grafana:oss/dataSource:DataSource")["prometheus"].inputs


def test_folder_permissions_from_settings():
    (perm,) = of_type(resources("prod"), "grafana:oss/folderPermission:FolderPermission").values()
    assert perm.inputs["folderUid"] == "llm-router"
    assert perm.inputs["permissions"] == [{"permission": "View", "role": "Viewer"}, {"permission": "View", "role": "Editor"}]


def test_content_waits_for_the_grafana_it_deploys(monkeypatch):
    seen = {}

    class Recorder:
        def __init__(self, content, secrets, ca, opts):
            seen["depends_on"] = [c.component for c in opts.depends_on]
            seen["ca"] = ca
            self.resources = []

    monkeypatch.setattr(program, "GrafanaContent", Recorder)
    run_program("prod", fake_secrets("prod"))
    assert seen == {"depends_on": ["Grafana"], "ca": FAKE_CA}


# --- external Grafana ----------------------------------------------------------------------------


def test_external_grafana_is_not_deployed_and_gets_its_urls_and_token():
    registered = run_program("prod", external_secrets(), external_config())
    assert "Grafana" not in {r.name for r in registered if not r.custom}
    assert not [r for r in registered if r.typ.startswith("kubernetes:") and r.name.startswith("grafana")]
    (provider,) = of_type(registered, "pulumi:providers:grafana").values()
    assert provider.inputs["url"] == EXTERNAL["url"]
    assert provider.inputs["auth"] == {SECRET_SIG: provider.inputs["auth"][SECRET_SIG],
                                       "value": external_secrets()["grafanaApiToken"]}
    urls = {r.inputs["uid"]: r.inputs["url"] for r in of_type(registered, "grafana:oss/dataSource:DataSource").values()}
    assert urls == {"prometheus": "https://prometheus.corp.example", "elasticsearch": "https://logs.corp.example:9200",
                    "tracing": "https://traces.corp.example"}


def test_team_grants_look_the_team_up_through_the_provider():
    from stack.mocks import CaptureMocks

    calls = []
    original = CaptureMocks.call

    def spy(self, args):
        calls.append((args.token, dict(args.args), args.provider))
        return original(self, args)

    CaptureMocks.call = spy
    try:
        registered = run_program("prod", external_secrets(), external_config())
    finally:
        CaptureMocks.call = original
    (lookup,) = [c for c in calls if c[0] == "grafana:oss/getTeam:getTeam"]
    assert lookup[1]["name"] == "llm-router-oncall" and "pulumi:providers:grafana::grafana" in lookup[2]
    (perm,) = of_type(registered, "grafana:oss/folderPermission:FolderPermission").values()
    team_id = str(sum(map(ord, "llm-router-oncall")))  # what the mock answers for that name
    assert {"permission": "Edit", "teamId": team_id} in perm.inputs["permissions"]


def test_a_missing_token_fails_with_one_line_naming_key_and_command():
    secrets = external_secrets()
    del secrets["grafanaApiToken"]
    with pytest.raises(SettingsError) as err:
        run_program("prod", secrets, external_config())
    message = str(err.value)
    assert "\n" not in message and "'prod'" in message
    assert "pulumi config set --secret grafanaApiToken -s prod" in message


def test_a_missing_ca_certificate_fails_with_one_line_naming_key_and_command():
    with pytest.raises(SettingsError) as err:
        run_program("prod", fake_secrets("prod"), plain={})
    message = str(err.value)
    assert "\n" not in message and ELASTICSEARCH_CA_CONFIG in message
    assert f"pulumi config set {ELASTICSEARCH_CA_CONFIG} -s prod" in message
    assert "kubectl get secret elasticsearch-certs -n monitoring" in message


# --- settings ------------------------------------------------------------------------------------


def settings_with(grafana: dict, cluster_grafana: dict | None = None, env: str = "prod", hosts: dict | None = None):
    from foundation.settings import Settings

    config = copy.deepcopy(stack_config(env))
    if hosts is not None:
        config["cluster"]["ingress"]["hosts"] = hosts
    config["grafana"] = grafana
    if cluster_grafana is not None:
        config["cluster"]["grafana"] = cluster_grafana
    return Settings.from_config(env, config)


@pytest.mark.parametrize(("grafana", "cluster_grafana", "key", "problem"), [
    ({"delivery": "ftp"}, None, "grafana.delivery", "expected one of provisioning, provider"),
    ({"instance": "external"}, None, "grafana.delivery", "expected delivery: provider"),
    ({"delivery": "provider", "instance": "external", "url": "https://g.example", "auth": "admin"}, {},
     "grafana.auth", "needs auth: token"),
    ({"delivery": "provider", "instance": "external"}, {}, "grafana.url", "missing"),
    ({"delivery": "provider", "instance": "external", "url": "https://g.example",
      "datasourceUrls": {"prometheus": "https://p.example"}}, {}, "grafana.datasourceUrls", "missing elasticsearch, tracing"),
    ({"datasourceUrls": {"prometheus": "https://p.example"}}, None, "grafana.datasourceUrls", "only for instance: external"),
    ({"delivery": "provider", "url": "grafana.example"}, {"storage": "1Gi"}, "grafana.url", "http(s) URL"),
    ({"permissions": {"view": ["role:Viewer"]}}, None, "grafana.permissions", "expected delivery: provider"),
    ({"delivery": "provider", "permissions": {"view": ["everyone"]}}, {"storage": "1Gi"},
     "grafana.permissions.view[0]", "role:<Viewer|Editor> or team:<name>"),
    ({"delivery": "provider", "permissions": {"edit": ["role:Admin"]}}, {"storage": "1Gi"},
     "grafana.permissions.edit[0]", "basic role Viewer or Editor"),
    ({"delivery": "provider", "permissions": {"view": ["team:a"], "edit": ["team:a"]}}, {"storage": "1Gi"},
     "grafana.permissions.edit[0]", "already given View"),
    ({"delivery": "provider", "permissions": {"own": ["team:a"]}}, {"storage": "1Gi"},
     "grafana.permissions.own", "unknown key"),
    ({"delivery": "provider", "folder": {"uid": "has space"}}, {"storage": "1Gi"}, "grafana.folder.uid", "Grafana uid"),
    ({"delivery": "provider"}, {}, "cluster.grafana.storage", "survive restarts"),
    ({"delivery": "provider"}, {"storage": "1Gi", "replicas": 2}, "cluster.grafana.replicas", "expected 1"),
])
def test_bad_grafana_settings_name_key_and_env(grafana, cluster_grafana, key, problem):
    with pytest.raises(SettingsError) as err:
        settings_with(grafana, cluster_grafana)
    assert err.value.key == key and problem in str(err.value) and "'prod'" in str(err.value)


def test_in_cluster_provider_needs_a_url_or_an_ingress_host():
    with pytest.raises(SettingsError) as err:
        settings_with({"delivery": "provider"}, {"storage": "1Gi"}, env="dev", hosts={})
    assert err.value.key == "grafana.url" and "cluster.ingress.hosts.grafana" in str(err.value)
    assert settings_with({"delivery": "provider", "url": "http://grafana.dev.local"}, {"storage": "1Gi"},
                         env="dev", hosts={}).grafana_url == "http://grafana.dev.local"
    assert settings_with({"delivery": "provider"}, {"storage": "1Gi"}, env="dev").grafana_url == "https://grafana.dev.example.com"


def test_secret_keys_follow_the_mode():
    from stack.build import upstream_artifacts
    from stack.credentials import required_secret_keys

    prod = load_settings("prod")
    assert "grafanaAdminPassword" in required_secret_keys(prod, upstream_artifacts(prod))
    assert "grafanaApiToken" not in required_secret_keys(prod, upstream_artifacts(prod))
    from foundation.settings import Settings

    external = Settings.from_config("prod", external_config())
    keys = required_secret_keys(external, upstream_artifacts(external))
    assert "grafanaApiToken" in keys and "grafanaAdminPassword" not in keys and "grafanaReaderPassword" in keys


# --- render --------------------------------------------------------------------------------------


def test_render_shows_the_api_content_without_secret_values(renders):
    import yaml

    content = yaml.safe_load((renders["prod"] / "grafana" / "api" / "content.yaml").read_text())
    assert content["provider"] == {"url": "https://grafana.example.com", "auth": "admin", "authSecret": "grafanaAdminPassword"}
    assert content["folder"] == {"uid": "llm-router", "title": "LLM Router"}
    assert set(content["dashboards"]) == {p.stem for p in (renders["prod"] / "grafana" / "dashboards").glob("*.json")}
    es = next(d for d in content["datasources"] if d["uid"] == "elasticsearch")
    assert es["secureJsonData"] == {"basicAuthPassword": "<pulumi secret grafanaReaderPassword>",
                                    "tlsCACert": f"<pulumi config {ELASTICSEARCH_CA_CONFIG}>"}
    assert not (renders["prod"] / "grafana" / "provisioning").exists()
    for env in ENVS:
        assert (renders[env] / "grafana" / "api").exists() == load_settings(env).grafana.uses_provider


# --- policies ------------------------------------------------------------------------------------


@cache
def captured_prod() -> tuple:
    return tuple((r.typ, r.name, deserialize_properties(r.inputs)) for r in resources("prod") if r.custom)


def edited(typ: str, name: str, edit) -> list:
    out = []
    for t, n, props in captured_prod():
        props = copy.deepcopy(props)
        if t == typ and n == name:
            edit(props)
        out.append((t, n, props))
    return out


def test_prod_grafana_content_passes_the_policies():
    forbidden = list(fake_secrets("prod").values())
    for name in ("no-plain-secrets", "grafana-datasource-auth"):
        assert resource_violations(name, captured_prod(), forbidden) == [], name
    assert stack_violations("grafana-dashboards-in-folder", captured_prod()) == []


def test_a_dashboard_outside_the_managed_folder_is_a_violation():
    broken = edited("grafana:oss/dashboard:Dashboard", "llm-qos", lambda p: p.update(folder="general"))
    assert stack_violations("grafana-dashboards-in-folder", broken) == [
        "grafana Dashboard llm-qos: folder 'general' is not a folder of this stack"
    ]


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda p: p.update(url="http://elasticsearch:9200"),
     "grafana DataSource elasticsearch: basic auth over 'http://elasticsearch:9200' sends the password in clear, use https"),
    (lambda p: p.update(secureJsonDataEncoded='{"tlsCACert": "x"}'),
     "grafana DataSource elasticsearch: basic auth without basicAuthPassword in secureJsonData"),
    (lambda p: p.update(jsonDataEncoded='{"index": "x", "basicAuthPassword": "hunter2"}'),
     "grafana DataSource elasticsearch: jsonData.basicAuthPassword is stored in clear, move it to secureJsonData"),
])
def test_a_data_source_with_basic_auth_in_clear_is_a_violation(edit, expected):
    broken = edited("grafana:oss/dataSource:DataSource", "elasticsearch", edit)
    assert resource_violations("grafana-datasource-auth", broken) == [expected]


def test_a_secret_outside_the_provider_secret_fields_is_a_violation():
    leaked = fake_secrets("prod")["grafanaAdminPassword"]
    broken = edited("pulumi:providers:grafana", "grafana", lambda p: p.update(url=f"https://admin:{leaked}@grafana.example.com"))
    assert resource_violations("no-plain-secrets", broken, [leaked]) == [
        "pulumi:providers:grafana grafana: url contains a secret value in plain text"
    ]
