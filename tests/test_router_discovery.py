"""Kubernetes discovery of router pods: every router pod is scraped once, by its own job, per pod.

Debian's promtool has no Kubernetes discovery, but its relabelling is the real thing:
``promtool check service-discovery`` runs the rendered jobs (discovery swapped for file_sd, see
``alerts.prometheus_config.with_file_discovery``) on pods written the way Prometheus' pod role
presents them (one target per container port, the same ``__meta_kubernetes_*`` labels), and
reports each target's final labels. The table below is example pods -> what each job keeps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.definitions import ROUTER_JOB
from alerts.prometheus_config import POD_JOB, prometheus_config, with_file_discovery
from foundation.settings import Settings, SettingsError, load_settings
from llmmon.checkers import promtool_service_discovery, require
from tests.test_settings import _config

NS = "llm-router-prod"
ROUTER = {"app.kubernetes.io/name": "llm-router"}


def pod_target(name: str, ip: str, *, labels: dict[str, str] = ROUTER, namespace: str = NS, phase: str = "Running",
               container: str = "router", port: tuple[str, int] | None = ("metrics", 9090), init: bool = False,
               annotations: dict[str, str] | None = None, node: str = "node-a") -> dict[str, Any]:
    """One target as Prometheus' pod role builds it (discovery/kubernetes/pod.go)."""
    meta = {"__meta_kubernetes_namespace": namespace, "__meta_kubernetes_pod_name": name,
            "__meta_kubernetes_pod_ip": ip, "__meta_kubernetes_pod_phase": phase,
            "__meta_kubernetes_pod_ready": "true", "__meta_kubernetes_pod_node_name": node,
            "__meta_kubernetes_pod_container_name": container,
            "__meta_kubernetes_pod_container_init": "true" if init else "false"}
    for key, value in labels.items():
        sanitized = "".join(c if c.isalnum() or c == "_" else "_" for c in key)
        meta[f"__meta_kubernetes_pod_label_{sanitized}"] = value
        meta[f"__meta_kubernetes_pod_labelpresent_{sanitized}"] = "true"
    for key, value in (annotations or {}).items():
        meta[f"__meta_kubernetes_pod_annotation_{key.replace('.', '_').replace('/', '_')}"] = value
    address = ip
    if port is not None:
        meta |= {"__meta_kubernetes_pod_container_port_name": port[0],
                 "__meta_kubernetes_pod_container_port_number": str(port[1]),
                 "__meta_kubernetes_pod_container_port_protocol": "TCP"}
        address = f"{ip}:{port[1]}"
    return {"targets": [address], "labels": meta}


ANNOTATED = {"prometheus.io/scrape": "true", "prometheus.io/port": "9102", "prometheus.io/path": "/stats"}

#: (case, target, labels the router job gives it or None, labels the generic job gives it or None)
CASES = [
    ("router pod, metrics port", pod_target("router-7d9-abc", "10.1.0.4"),
     {"instance": "10.1.0.4:9090", "namespace": NS, "pod": "router-7d9-abc", "container": "router",
      "node": "node-a", "__metrics_path__": "/metrics"}, None),
    ("router pod, its other port", pod_target("router-7d9-abc", "10.1.0.4", port=("http", 8080)), None, None),
    ("router pod starting (Pending)", pod_target("router-7d9-new", "10.1.0.9", phase="Pending"),
     {"instance": "10.1.0.9:9090", "pod": "router-7d9-new"}, None),
    ("router pod evicted (Failed)", pod_target("router-7d9-old", "10.1.0.5", phase="Failed"), None, None),
    ("router pod finished (Succeeded)", pod_target("router-7d9-done", "10.1.0.6", phase="Succeeded"), None, None),
    ("router pod's init container", pod_target("router-7d9-abc", "10.1.0.4", container="warmup", init=True),
     None, None),
    ("router pod annotated for scraping too", pod_target("router-7d9-xyz", "10.1.0.7", annotations=ANNOTATED),
     {"instance": "10.1.0.7:9090", "pod": "router-7d9-xyz"}, None),
    ("another app's annotated pod", pod_target("cache-0", "10.1.0.8", labels={"app.kubernetes.io/name": "cache"},
                                               annotations=ANNOTATED, port=("redis", 6379)),
     None, {"instance": "10.1.0.8:9102", "__metrics_path__": "/stats", "namespace": NS, "pod": "cache-0"}),
    ("another app's pod on a port named metrics", pod_target("web-1", "10.1.0.3", labels={"app": "web"}), None, None),
    ("a pod whose label only contains the router's name",
     pod_target("llm-router-canary-1", "10.1.0.2", labels={"app.kubernetes.io/name": "llm-router-canary"}), None, None),
]


def relabelled(tmp_path: Path, config: dict[str, Any], targets: list[dict[str, Any]], job: str
               ) -> list[dict[str, str]]:
    """Final labels per target, in target order ({} for a dropped one), computed by promtool."""
    require("promtool")
    (tmp_path / "targets.json").write_text(json.dumps(targets))
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(with_file_discovery(config, ["targets.json"])))
    found = promtool_service_discovery(tmp_path / "prometheus.yml", job)

    def key(meta: dict[str, str]) -> tuple[str | None, ...]:  # promtool shows __address__ after relabelling
        return tuple(meta.get(f"__meta_kubernetes_pod_{k}") for k in ("name", "container_name", "container_port_number"))

    by_key = {key(t["discoveredLabels"]): t["labels"] for t in found}
    assert len(by_key) == len(found) == len(targets)
    return [by_key[key(t["labels"])] for t in targets]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    config = prometheus_config(load_settings("prod"))
    targets = [target for _, target, _, _ in CASES]
    return {job: relabelled(tmp_path_factory.mktemp(job), config, targets, job) for job in (ROUTER_JOB, POD_JOB)}


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case for case, *_ in CASES])
def test_each_pod_lands_in_the_expected_job_with_its_labels(results, index):
    _, _, router, generic = CASES[index]
    for job, expected in ((ROUTER_JOB, router), (POD_JOB, generic)):
        labels = results[job][index]
        if expected is None:
            assert labels == {}, f"{job} must drop it, kept {labels}"
        else:
            assert labels, f"{job} must keep it"
            assert {k: labels.get(k) for k in expected} == expected
            assert labels["job"] == job


def test_no_target_is_scraped_by_two_jobs(results):
    for index, (case, *_) in enumerate(CASES):
        assert sum(bool(results[job][index]) for job in (ROUTER_JOB, POD_JOB)) <= 1, case


def test_two_router_replicas_are_two_targets_with_their_own_pod_label(tmp_path):
    """What sums across instances rely on: one series set per pod, never one per Service."""
    targets = [pod_target(f"router-{i}", f"10.1.0.{10 + i}", node=f"node-{i}") for i in range(3)]
    kept = relabelled(tmp_path, prometheus_config(load_settings("prod")), targets, ROUTER_JOB)
    assert [(t["pod"], t["instance"], t["node"]) for t in kept] == [
        ("router-0", "10.1.0.10:9090", "node-0"), ("router-1", "10.1.0.11:9090", "node-1"),
        ("router-2", "10.1.0.12:9090", "node-2")]


def settings_with(**discovery: Any) -> Settings:
    config = _config("prod")
    router = dict(config["router"], kubernetes={"podLabels": ROUTER, "port": "metrics", **discovery})
    return Settings.from_config("prod", dict(config, router=router))


def test_port_number_several_labels_and_a_dotted_value(tmp_path):
    settings = settings_with(podLabels={"app.kubernetes.io/name": "llm.router", "tier": "api"}, port=9090,
                             metricsPath="/internal/metrics")
    both = {"app.kubernetes.io/name": "llm.router", "tier": "api"}
    targets = [
        pod_target("a", "10.2.0.1", labels=both, port=("http-metrics", 9090)),     # number matches, name ignored
        pod_target("b", "10.2.0.2", labels=both, port=("metrics", 8080)),          # wrong number
        pod_target("c", "10.2.0.3", labels={"app.kubernetes.io/name": "llm.router"}),  # one label missing
        pod_target("d", "10.2.0.4", labels={**both, "app.kubernetes.io/name": "llmXrouter"}),  # '.' is literal
    ]
    kept = relabelled(tmp_path, prometheus_config(settings), targets, ROUTER_JOB)
    assert [t.get("pod") for t in kept] == ["a", None, None, None]
    assert kept[0]["__metrics_path__"] == "/internal/metrics"
    generic = relabelled(tmp_path, prometheus_config(settings),
                         [pod_target("e", "10.2.0.5", labels=both, annotations=ANNOTATED)], POD_JOB)
    assert generic == [{}]  # the generic job drops exactly what the router job selects


@pytest.mark.parametrize(("discovery", "message"), [
    ({"podLabels": {}}, "at least one label"),
    ({"podLabels": {"app": "has space"}}, "label value"),
    ({"podLabels": {"bad key!": "x"}}, "not a Kubernetes label key"),
    ({"port": 70000}, "container port name"),
    ({"port": "Metrics_Port"}, "container port name"),
    ({"metricsPath": "metrics"}, "absolute URL path"),
    ({"scheme": "https"}, "unknown key"),
])
def test_bad_discovery_settings_name_the_key(discovery, message):
    with pytest.raises(SettingsError, match=message) as err:
        settings_with(**discovery)
    assert "router.kubernetes" in str(err.value) and "'prod'" in str(err.value)


def test_targets_and_kubernetes_are_alternatives():
    config = _config("prod")
    both = dict(config["router"], targets=["10.0.0.1:9090"])
    with pytest.raises(SettingsError, match="either 'targets'.*or 'kubernetes'"):
        Settings.from_config("prod", dict(config, router=both))
    neither = {k: v for k, v in config["router"].items() if k != "kubernetes"}
    with pytest.raises(SettingsError, match="either 'targets'.*or 'kubernetes'"):
        Settings.from_config("prod", dict(config, router=neither))
