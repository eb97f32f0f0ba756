"""Grep-style: no test secret value appears in any rendered file, or in any resource input outside a secret."""

import json

import pytest
import yaml

from foundation.settings import available_envs
from llmmon.render import render_env
from stack.mocks import SECRET_SIG, fake_secrets, run_program
from stack.model import REDACTED

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
    secret_docs = [
        doc for path in files if path.parent.name == "kubernetes"
        for doc in yaml.safe_load_all(path.read_text()) if doc and doc["kind"] == "Secret"
    ]
    assert secret_docs and all(set(d["stringData"].values()) == {REDACTED} for d in secret_docs)


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
