"""prometheus.yml: the seed's scrape jobs, env external labels, rules and Alertmanager, checked by promtool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from alerts.prometheus_config import prometheus_config, without_kubernetes_discovery
from alerts.render import artifacts
from foundation.settings import load_settings
from llmmon.checkers import promtool_check_config, require

ENVS = ("dev", "staging", "prod")


def check(tmp_path: Path, config: dict) -> None:
    """promtool check config; Debian's promtool lacks Kubernetes discovery, so that job is checked apart."""
    require("promtool")
    config = without_kubernetes_discovery(config)
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
    assert list(jobs) == ["llm-router", "kubernetes-pods", "node-exporter", "prometheus"]
    router = jobs["llm-router"]
    assert router["static_configs"] == [{"targets": list(settings.router.targets)}]
    assert router["scrape_interval"] == settings.router.scrape_interval
    pods = jobs["kubernetes-pods"]
    assert pods["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": list(settings.router.pod_namespaces)}}]
    relabel = {tuple(r["source_labels"]): r for r in pods["relabel_configs"]}
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    assert relabel[(f"{annotation}scrape",)]["action"] == "keep"
    assert relabel[(f"{annotation}path",)]["target_label"] == "__metrics_path__"
    assert relabel[("__address__", f"{annotation}port")]["replacement"] == "$1:$2"


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


def test_pod_relabelling_keeps_annotated_pods_on_their_annotated_port_and_path():
    """Relabel rules as Prometheus applies them (anchored regex, ``;``-joined sources)."""
    jobs = {j["job_name"]: j for j in prometheus_config(load_settings("prod"))["scrape_configs"]}
    by_target = {r["target_label"]: r for r in jobs["kubernetes-pods"]["relabel_configs"] if "target_label" in r}
    (keep,) = [r for r in jobs["kubernetes-pods"]["relabel_configs"] if r["action"] == "keep"]
    annotation = "__meta_kubernetes_pod_annotation_prometheus_io_"
    assert keep["source_labels"] == [f"{annotation}scrape"]
    assert re.fullmatch(keep["regex"], "true") and not re.fullmatch(keep["regex"], "")
    address = by_target["__address__"]
    assert address["source_labels"] == ["__address__", f"{annotation}port"]
    go_replacement = re.sub(r"\$(\d)", r"\\\1", address["replacement"])
    assert re.sub(f"^{address['regex']}$", go_replacement, "10.1.2.3:8080;9100") == "10.1.2.3:9100"
    assert by_target["__metrics_path__"]["source_labels"] == [f"{annotation}path"]
    assert by_target["namespace"]["source_labels"] == ["__meta_kubernetes_namespace"]
    assert by_target["pod"]["source_labels"] == ["__meta_kubernetes_pod_name"]
    router = jobs["llm-router"]
    assert router["metrics_path"] == "/metrics"
    assert router["scrape_timeout"] == load_settings("prod").router.scrape_timeout
