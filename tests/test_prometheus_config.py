"""prometheus.yml: the seed's scrape jobs, env external labels, rules and Alertmanager, checked by promtool.

Debian's promtool has no Kubernetes discovery, so the Kubernetes jobs are checked with their
discovery swapped for file_sd (``with_file_discovery``); what their relabelling does to
discovered pods is in ``test_router_discovery.py``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.prometheus_config import prometheus_config, with_file_discovery
from alerts.render import artifacts
from foundation.settings import load_settings
from llmmon.checkers import promtool_check_config, require

ENVS = ("dev", "staging", "prod")


def check(tmp_path: Path, config: dict) -> None:
    """promtool check config, Kubernetes discovery swapped for file_sd (Debian's promtool lacks it)."""
    require("promtool")
    config = with_file_discovery(config)
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "r.yml").write_text("groups: []\n")
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = promtool_check_config(path)
    assert result.ok, result.output


@pytest.mark.parametrize("env", ENVS)
def test_env_config_passes_promtool(env, tmp_path):
    config = yaml.safe_load(artifacts(load_settings(env))["prometheus/prometheus.yml"])
    check(tmp_path, config)
    assert config["global"]["external_labels"] == {"cluster": f"llm-router-{env}", "env": env}
    assert config["rule_files"] == ["rules/*.yml"]


def test_seed_jobs():
    settings = load_settings("prod")
    jobs = {j["job_name"]: j for j in prometheus_config(settings)["scrape_configs"]}
    assert list(jobs) == ["llm-router", "engine-local-gpu", "engine-vllm", "dcgm-exporter", "kubernetes-pods",
                          "node-exporter", "prometheus"]
    router = jobs["llm-router"]
    assert "static_configs" not in router  # a Service VIP would land each scrape on a random pod
    assert router["kubernetes_sd_configs"] == [{
        "role": "pod", "namespaces": {"names": ["llm-router-prod"]},
        "selectors": [{"role": "pod", "label": "app.kubernetes.io/name=llm-router"}]}]
    assert router["scrape_interval"] == settings.router.scrape_interval
    pods = jobs["kubernetes-pods"]
    assert pods["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": list(settings.router.pod_namespaces)}}]
    relabel = {tuple(r["source_labels"]): r for r in pods["relabel_configs"]}
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    assert relabel[(f"{annotation}scrape",)]["action"] == "keep"
    assert relabel[(f"{annotation}path",)]["target_label"] == "__metrics_path__"
    assert relabel[("__address__", f"{annotation}port")]["replacement"] == "$1:$2"
    # The generic job's first step drops the router's pods (they have their own job).
    assert pods["relabel_configs"][0] == {"source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
                                          "action": "drop", "regex": "llm-router"}


def test_static_router_targets_stay_available(tmp_path):
    """Routers outside Kubernetes: router.targets instead of router.kubernetes."""
    from foundation.settings import Settings
    from tests.test_settings import _config

    config = _config("prod")
    router = {k: v for k, v in config["router"].items() if k != "kubernetes"}
    settings = Settings.from_config("prod", dict(config, router=dict(router, targets=["10.0.0.5:9090"])))
    jobs = {j["job_name"]: j for j in prometheus_config(settings)["scrape_configs"]}
    assert jobs["llm-router"]["static_configs"] == [{"targets": ["10.0.0.5:9090"]}]
    assert "kubernetes_sd_configs" not in jobs["llm-router"]
    # No router pods to exclude: the generic job keeps its own rules only.
    assert jobs["kubernetes-pods"]["relabel_configs"][0]["action"] == "keep"
    check(tmp_path, prometheus_config(settings))


def test_a_broken_config_fails_promtool(tmp_path):
    config = prometheus_config(load_settings("dev"))
    config["scrape_configs"][0]["scrape_timeout"] = "1m"  # longer than its interval
    with pytest.raises(AssertionError):
        check(tmp_path, config)


def test_local_overrides(tmp_path):
    config = prometheus_config(
        load_settings("dev"), router_targets=["127.0.0.1:8081"], alertmanagers=["127.0.0.1:9093"],
        rule_files=["rules/*.yml"], node_exporter_targets=[], kubernetes=False, self_target="127.0.0.1:9090",
        interval="1s",
    )
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    assert list(jobs) == ["llm-router", "prometheus"]
    assert jobs["llm-router"]["static_configs"] == [{"targets": ["127.0.0.1:8081"]}]
    assert config["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:9093"]}]
    assert config["global"]["evaluation_interval"] == "1s"
    check(tmp_path, config)


def test_the_file_discovery_stand_in_keeps_every_other_field():
    config = prometheus_config(load_settings("prod"))
    swapped = with_file_discovery(config, ["t.json"])
    for before, after in zip(config["scrape_configs"], swapped["scrape_configs"], strict=True):
        if "kubernetes_sd_configs" in before:
            assert after.pop("file_sd_configs") == [{"files": ["t.json"]}]
            before = {k: v for k, v in before.items() if k != "kubernetes_sd_configs"}
        assert after == before
