"""The CI gate: checkov on every env's rendered manifests, zero failed checks.

Every exception is a ``checkov.io/skip<N>: <CHECK_ID>=<reason>`` annotation set where the
object is built (no skip list on the command line). The skips are proved necessary: with
them stripped, exactly the skipped (check, object) pairs fail, so a stale skip or one that
hides an unrelated check shows up. checkov runs from its own virtual environment
(``scripts/install-checkov``); each env is rendered once.
"""

from pathlib import Path

import pytest
import yaml

from foundation.settings import available_envs, load_settings
from llmmon.checkers import checkov_scan
from stack.objects import SCANNER_SKIP_PREFIX
from stack.render import artifacts

ENVS = available_envs()


def manifests(env):
    return {p: t for p, t in artifacts(load_settings(env)).items() if p.startswith("kubernetes/") and p.endswith(".yaml")}


def write(root: Path, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root / "kubernetes"


def strip_skips(text):
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        annotations = (doc or {}).get("metadata", {}).get("annotations") or {}
        for key in [k for k in annotations if k.startswith(SCANNER_SKIP_PREFIX)]:
            del annotations[key]
    return yaml.safe_dump_all(docs, sort_keys=True, explicit_start=True)


@pytest.fixture(scope="module")
def rendered():
    return {env: manifests(env) for env in ENVS}


@pytest.fixture(scope="module")
def reports(rendered, tmp_path_factory):
    return {env: checkov_scan(write(tmp_path_factory.mktemp(env), files)) for env, files in rendered.items()}


@pytest.mark.parametrize("env", ENVS)
def test_checkov_finds_no_failed_check(reports, env):
    report = reports[env]
    assert report.passed > 1000, report.output  # it really scanned every object
    assert report.failed == [], report.result().output


@pytest.mark.parametrize("env", ENVS)
def test_every_skip_is_an_annotation_with_a_reason(reports, rendered, env):
    report = reports[env]
    assert report.skipped and all(f.reason and f.reason != "No comment provided" for f in report.skipped)
    annotated = {
        (f"{doc['kind']}.{doc['metadata']['namespace']}.{doc['metadata']['name']}", value.partition("=")[0])
        for text in rendered[env].values() for doc in yaml.safe_load_all(text) if doc
        for key, value in (doc["metadata"].get("annotations") or {}).items() if key.startswith(SCANNER_SKIP_PREFIX)
    }
    assert {(f.resource, f.check_id) for f in report.skipped} == annotated


def test_each_skip_hides_a_real_failure_and_nothing_else(reports, rendered, tmp_path):
    """Stripped of their skip annotations, the manifests fail exactly the skipped checks (all envs, one run)."""
    for env, files in rendered.items():
        write(tmp_path / env, {p: strip_skips(t) for p, t in files.items()})
    stripped = checkov_scan(tmp_path)
    failed = {(f.file.split("/")[1], f.resource, f.check_id) for f in stripped.failed}
    skipped = {(env, f.resource, f.check_id) for env, r in reports.items() for f in r.skipped}
    assert stripped.skipped == [] and failed == skipped


def test_a_new_failing_check_breaks_the_gate(rendered, tmp_path):
    """A one-field regression in one object (privilege escalation in Kibana) is a failed check."""
    path = next(p for p, t in rendered["prod"].items() if "kind: Deployment" in t and "name: kibana\n" in t)
    docs = list(yaml.safe_load_all(rendered["prod"][path]))
    kibana = next(d for d in docs if d and d["kind"] == "Deployment")
    kibana["spec"]["template"]["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    # Only the changed file is scanned again: the other objects are covered by the per-env runs.
    report = checkov_scan(write(tmp_path, {path: yaml.safe_dump_all(docs, sort_keys=True, explicit_start=True)}))
    assert {(f.check_id, f.resource) for f in report.failed} == {("CKV_K8S_20", "Deployment.monitoring.kibana")}
