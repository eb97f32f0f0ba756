"""Grep-style: no test secret value appears in any rendered file, or in any resource input outside a secret."""

import json

import pytest
import yaml

from foundation.settings import available_envs
from llmmon.render import render_env
from stack.mocks import SECRET_SIG, fake_secrets, run_program
from stack.model import REDACTED
from stack.render import SECRETS_DOC

ENVS = available_envs()


def leaks(text, secrets):
    return sorted(key for key, value in secrets.items() if value in text)


@pytest.fixture(scope="module")
def all_secrets():
    return {env: fake_secrets(env) for env in ENVS}


def test_no_secret_value_in_any_rendered_file(tmp_path, all_secrets):
    every = {f"{env}:{k}": v for env, s in all_secrets.items() for k, v in s.items()}
    files = []
    for env in ENVS:
        files += render_env(env, tmp_path / env)
    assert files
    for path in files:
        assert leaks(path.read_text(), every) == [], path
    manifests = [doc for path in files if path.suffix == ".yaml" and path.parent.name == "kubernetes"
                 for doc in yaml.safe_load_all(path.read_text()) if doc]
    assert manifests and REDACTED not in str(manifests)


@pytest.mark.parametrize("env", ENVS)
def test_rendered_manifests_hold_no_secret_and_secrets_md_lists_every_one(env, all_secrets, tmp_path):
    """Applying the rendered folder cannot create a Secret with a placeholder (publicly known) value;
    SECRETS.md names every Secret the Pulumi program would create, with its keys and namespace."""
    files = render_env(env, tmp_path)
    kinds = {doc["kind"] for path in files if path.suffix == ".yaml" and path.parent.name == "kubernetes"
             for doc in yaml.safe_load_all(path.read_text()) if doc}
    assert "Deployment" in kinds and "Secret" not in kinds
    doc = (tmp_path / SECRETS_DOC).read_text()
    created = [r for r in run_program(env, all_secrets[env]) if r.typ == "kubernetes:core/v1:Secret"]
    assert created
    for r in created:
        meta = r.inputs["metadata"]
        keys = sorted(json.loads(json.dumps(r.inputs["stringData"]["value"])))
        assert f"## {meta['namespace']}/{meta['name']}" in doc
        assert f"kubectl create secret generic {meta['name']} -n {meta['namespace']} " + " ".join(
            f"--from-file={k}=./{meta['name']}/{k}" for k in keys) in doc


def split_envelopes(value, inside):
    """``value`` with every secret envelope replaced by a marker; the envelopes' contents go to ``inside``."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            inside.append(value["value"])
            return "<secret>"
        return {k: split_envelopes(v, inside) for k, v in value.items()}
    if isinstance(value, list):
        return [split_envelopes(v, inside) for v in value]
    return value


@pytest.mark.parametrize("env", ENVS)
def test_secret_values_only_inside_secret_envelopes(env, all_secrets):
    secrets = all_secrets[env]
    seen_in_secrets, in_kubernetes = set(), set()
    for r in run_program(env, secrets):
        inside = []
        outside = split_envelopes(r.inputs, inside)
        assert leaks(json.dumps(outside), secrets) == [], f"{r.typ} {r.name}"
        seen_in_secrets.update(leaks(json.dumps(inside), secrets))
        if r.typ == "kubernetes:core/v1:Secret":
            assert SECRET_SIG in r.inputs["stringData"]
            in_kubernetes.update(leaks(json.dumps(inside), secrets))
        elif r.typ.startswith("kubernetes:"):
            assert inside == [], f"{r.typ} {r.name}: secrets belong in a Secret, referenced from here"
    # Every configured secret is used, always as a secret.
    assert seen_in_secrets == set(secrets)
    # Only the Grafana provider's own credential may stay out of the cluster.
    assert set(secrets) - in_kubernetes <= {"grafanaApiToken"}


def test_the_scan_detects_a_leak():
    assert leaks("password: TEST-dev-x-s3cr3t-Zq9x", {"x": "TEST-dev-x-s3cr3t-Zq9x"}) == ["x"]
