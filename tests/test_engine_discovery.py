"""Kubernetes discovery of the engine pods and the DCGM exporter, run by the real ``promtool check service-discovery``.

Same mechanism as ``test_router_discovery``: the rendered jobs with file_sd standing in for the pod
role, fed pods written the way Prometheus' pod role presents them; the table is pod -> labels per job.
"""

from __future__ import annotations

from typing import Any

import pytest

from alerts.definitions import ROUTER_JOB
from alerts.prometheus_config import POD_JOB, prometheus_config
from alerts.scrape_jobs import DCGM_JOB, StaticTarget
from foundation.settings import Settings, SettingsError, load_settings
from tests.test_router_discovery import ANNOTATED, pod_target, relabelled
from tests.test_settings import _config

ENGINES = "inference"
AGENTS = "monitoring-node-agents"
LOCAL = {"app.kubernetes.io/name": "vllm-local-gpu"}
SHARED = {"app.kubernetes.io/name": "vllm-shared"}
DCGM = {"app.kubernetes.io/name": "dcgm-exporter", "app.kubernetes.io/instance": "llm-router-monitoring"}
JOBS = ("engine-local-gpu", "engine-vllm", DCGM_JOB, ROUTER_JOB)


def engine_pod(name: str, ip: str, labels: dict[str, str], **kw: Any) -> dict[str, Any]:
    return pod_target(name, ip, labels=labels, namespace=kw.pop("namespace", ENGINES),
                      container=kw.pop("container", "vllm"), port=kw.pop("port", ("http", 8000)), **kw)


#: (case, target, {job: labels it gives the target}) - every other job of JOBS drops it.
CASES = [
    ("local-gpu engine pod", engine_pod("vllm-local-gpu-0", "10.2.0.4", LOCAL, node="gpu-a"),
     {"engine-local-gpu": {"backend": "local-gpu", "namespace": ENGINES, "pod": "vllm-local-gpu-0",
                           "container": "vllm", "node": "gpu-a", "instance": "10.2.0.4:8000",
                           "__metrics_path__": "/metrics"}}),
    ("the shared engine's pod", engine_pod("vllm-shared-1", "10.2.0.5", SHARED),
     {"engine-vllm": {"backend": "vllm", "pod": "vllm-shared-1"}}),
    ("engine pod, another port", engine_pod("vllm-local-gpu-0", "10.2.0.4", LOCAL, port=("grpc", 9000)), {}),
    ("engine pod evicted", engine_pod("vllm-local-gpu-9", "10.2.0.9", LOCAL, phase="Failed"), {}),
    ("DCGM exporter pod", pod_target("dcgm-exporter-x", "10.2.1.2", labels=DCGM, namespace=AGENTS,
                                     container="dcgm-exporter", port=("metrics", 9400), node="gpu-a"),
     {DCGM_JOB: {"node": "gpu-a", "instance": "10.2.1.2:9400"}}),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    config = prometheus_config(load_settings("dev"))
    targets = [target for _, target, _ in CASES]
    return {job: relabelled(tmp_path_factory.mktemp(job), config, targets, job) for job in JOBS}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case for case, *_ in CASES])
def test_each_pod_lands_in_its_job_with_its_labels(results, index):
    _, _, expected = CASES[index]
    for job in JOBS:
        labels = results[job][index]
        if job not in expected:
            assert labels == {}, f"{job} must drop it, kept {labels}"
        else:
            assert {k: labels.get(k) for k in expected[job]} == expected[job]
            assert labels["job"] == job


def test_discovery_watches_only_the_configured_namespaces_and_labels():
    """Namespaces are the pod role's own filter (file_sd cannot stand in for it): checked on the config."""
    jobs = {j["job_name"]: j for j in prometheus_config(load_settings("dev"))["scrape_configs"]}
    (sd,) = jobs["engine-local-gpu"]["kubernetes_sd_configs"]
    assert sd["namespaces"] == {"names": ["inference-dev"]}
    assert sd["selectors"] == [{"role": "pod", "label": "app.kubernetes.io/name=vllm-local-gpu"}]
    (sd,) = jobs[DCGM_JOB]["kubernetes_sd_configs"]
    assert sd["namespaces"] == {"names": [load_settings("dev").cluster.node_namespace]}


def test_dcgm_series_keep_the_pod_their_gpu_is_assigned_to():
    """The exporter labels each GPU with the pod using it: its job honours those labels and sets no pod of its own."""
    job = next(j for j in prometheus_config(load_settings("dev"))["scrape_configs"] if j["job_name"] == DCGM_JOB)
    assert job["honor_labels"] is True
    assert {r.get("target_label") for r in job["relabel_configs"]} - {None} == {"node"}


def with_engines(engines: dict[str, Any], env: str = "prod", **router: Any) -> Settings:
    config = _config(env)
    return Settings.from_config(env, dict(config, engines=engines, router=dict(config["router"], **router)))


TGI = {"kind": "tgi", "modelName": "mistral-7b", "namespaces": [ENGINES], "podLabels": {"app": "tgi"}, "port": 80}


def test_tgi_series_get_the_model_name_from_the_settings(tmp_path):
    settings = with_engines({"vllm": TGI})
    pod = pod_target("tgi-0", "10.2.0.7", labels={"app": "tgi"}, namespace=ENGINES, port=("http", 80))
    (kept,) = relabelled(tmp_path, prometheus_config(settings), [pod], "engine-vllm")
    assert (kept["model_name"], kept["backend"], kept["instance"]) == ("mistral-7b", "vllm", "10.2.0.7:80")


def test_an_engine_in_the_routers_namespace_is_not_scraped_twice(tmp_path):
    """The generic annotated-pods job drops the engine's pods where it shares their namespace."""
    settings = with_engines({"vllm": {**TGI, "namespaces": ["llm-router-prod"]}})
    engine = pod_target("tgi-0", "10.1.0.7", labels={"app": "tgi"}, port=("http", 80), annotations=ANNOTATED)
    same_labels_elsewhere = pod_target("tgi-9", "10.9.0.7", labels={"app": "tgi"}, namespace="llm-router-prod-b",
                                       port=("http", 80), annotations=ANNOTATED)
    config = prometheus_config(settings)
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    assert relabelled(tmp_path / "a", config, [engine], POD_JOB) == [{}]
    assert relabelled(tmp_path / "a", config, [engine], "engine-vllm")[0]["pod"] == "tgi-0"
    settings_b = with_engines({"vllm": {**TGI, "namespaces": ["llm-router-prod"]}},
                              podNamespaces=["llm-router-prod", "llm-router-prod-b"])
    generic = relabelled(tmp_path / "b", prometheus_config(settings_b), [same_labels_elsewhere], POD_JOB)
    assert generic[0]["pod"] == "tgi-9"  # not the engine's namespace: the annotation decides


def test_the_local_stack_gives_pod_jobs_fixed_addresses():
    local = {"engine-vllm": [StaticTarget("127.0.0.1:8080", "/engines/vllm/metrics", {"pod": "vllm-0"})]}
    config = prometheus_config(load_settings("dev"), router_targets=["127.0.0.1:8080"], kubernetes=False,
                               pod_job_targets=local)
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert "engine-local-gpu" not in jobs and DCGM_JOB not in jobs and POD_JOB not in jobs
    assert jobs["engine-vllm"]["static_configs"] == [{"targets": ["127.0.0.1:8080"], "labels": {
        "__metrics_path__": "/engines/vllm/metrics", "backend": "vllm", "pod": "vllm-0"}}]


@pytest.mark.parametrize(("engines", "message"), [
    ({"anthropic": {**TGI}}, "named by the router backend it serves"),
    ({"vllm": {**TGI, "kind": "triton"}}, "expected one of vllm, sglang, tgi"),
    ({"vllm": {k: v for k, v in TGI.items() if k != "modelName"}}, "TGI's series carry no model label"),
    ({"vllm": {**TGI, "kind": "vllm"}}, "only for kind tgi"),
    ({"vllm": {**TGI, "namespaces": []}}, "at least one namespace"),
    ({"vllm": {**TGI, "podLabels": {}}}, "at least one label"),
    ({"vllm": {**TGI, "port": "HTTP Port"}}, "container port name"),
    ({"vllm": {**TGI, "replicas": 2}}, "unknown key"),
    ({"vllm": TGI, "local-gpu": {**TGI, "podLabels": {"app": "tgi", "tier": "gpu"}}}, "could also be"),
    ({"vllm": {**TGI, "namespaces": ["llm-router-prod"], "podLabels": {"app.kubernetes.io/name": "llm-router"}}},
     "could select the router's pods"),
])
def test_bad_engine_settings_name_the_key_and_the_env(engines, message):
    with pytest.raises(SettingsError, match=message) as err:
        with_engines(engines)
    assert "engines." in str(err.value) and "'prod'" in str(err.value)


@pytest.mark.parametrize(("dcgm", "key", "message"), [
    ({"mode": "always"}, "dcgm.mode", "expected one of none, deploy, scrape"),
    ({"mode": "deploy"}, "dcgm.nodeSelector", "missing"),
    ({"mode": "deploy", "nodeSelector": {}}, "dcgm.nodeSelector", "GPU nodes carry"),
    ({"mode": "deploy", "nodeSelector": {"gpu": True}}, "dcgm.nodeSelector.gpu", "quote"),
    ({"mode": "deploy", "nodeSelector": {"gpu": "yes"}, "tolerations": [{"operator": "Sometimes"}]},
     "dcgm.tolerations[0].operator", "Exists, Equal"),
    ({"mode": "deploy", "nodeSelector": {"gpu": "yes"}, "tolerations": [{"operator": "Exists", "value": "x"}]},
     "dcgm.tolerations[0].value", "takes no value"),
    ({"mode": "deploy", "nodeSelector": {"gpu": "yes"}, "namespaces": ["x"]}, "dcgm.namespaces", "unknown key"),
    ({"mode": "scrape", "podLabels": {"app": "dcgm"}, "port": 9400}, "dcgm.namespaces", "missing"),
    ({"mode": "none", "port": 9400}, "dcgm.port", "unknown key"),
])
def test_bad_dcgm_settings_name_the_key_and_the_env(dcgm, key, message):
    config = _config("prod")
    with pytest.raises(SettingsError, match=message) as err:
        Settings.from_config("prod", dict(config, dcgm=dcgm))
    assert f"'{key}'" in str(err.value) and "'prod'" in str(err.value)
