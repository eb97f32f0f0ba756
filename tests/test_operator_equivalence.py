"""Operator mode sees, evaluates and routes exactly what the standalone stack does.

* Rules: the PrometheusRule objects of the operator-mode render hold the rendered rules, field for
  field (expressions byte for byte), and the generated promtool suites pass on rule files
  extracted from those objects.
* Scraping: what the operator's Prometheus makes of our PodMonitors (``tests/operator_emulation``,
  checked against the operator's golden files) relabels the example pods of
  ``tests/test_router_discovery.py`` into the same targets, with the same labels, as the
  standalone jobs: ``promtool check service-discovery`` computes both.
* Routing: ``amtool config routes test`` on the Alertmanager configuration the operator builds from
  our AlertmanagerConfig (merged into kube-prometheus-stack's default configuration) sends every
  alert of every env to the receivers the standalone alertmanager.yml sends it to, and nothing
  of another team's to ours. With the operator's default matcher strategy (OnNamespace) none of
  our alerts would reach us: that is why the settings refuse it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from alerts.definitions import ROUTER_JOB
from alerts.groups import build_rule_groups
from alerts.operator import RECEIVER_SECRET
from alerts.prometheus_config import POD_JOB, prometheus_config
from alerts.scrape_jobs import DCGM_JOB, backend_jobs
from foundation.settings import Settings, available_envs, load_settings
from llmmon.checkers import amtool_check_config, promtool_test_rules, require, run_tool
from stack.render import artifacts
from tests.operator_emulation import (
    EXCEPT_ALERTMANAGER_NAMESPACE,
    NO_MATCHER,
    ON_NAMESPACE,
    merged_alertmanager_config,
    pod_monitor_jobs,
)
from tests.operator_support import KPS, operator_config, operator_settings
from tests.test_router_discovery import CASES, pod_target, relabelled

ENVS = available_envs()


def operator_objects(settings, kind):
    return [doc for path, text in artifacts(settings).items() if path.startswith("kubernetes/")
            and path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc and doc["kind"] == kind]


# --- rules ------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVS)
def test_prometheus_rules_hold_exactly_the_rendered_rules(env):
    settings = operator_settings(env)
    rendered = {f"{stem}": [g.to_dict() for g in groups] for stem, groups in build_rule_groups(load_settings(env)).items()}
    objects = {o["metadata"]["name"]: o for o in operator_objects(settings, "PrometheusRule")}
    assert sorted(objects) == sorted(rendered)
    for name, obj in objects.items():
        assert obj["spec"]["groups"] == rendered[name]
        assert obj["metadata"]["namespace"] == settings.cluster.operator.rule_namespace
        assert obj["metadata"]["labels"]["release"] == KPS
    exprs = lambda groups: [r["expr"] for g in groups for r in g["rules"]]  # noqa: E731
    for name, groups in rendered.items():
        assert exprs(objects[name]["spec"]["groups"]) == exprs(groups)


def extracted_rule_suites(settings, root: Path) -> list[Path]:
    """Rule files written from the PrometheusRule objects, beside the env's generated promtool suites."""
    import alerts.render

    (root / "rules").mkdir(parents=True)
    (root / "tests").mkdir()
    for obj in operator_objects(settings, "PrometheusRule"):
        (root / "rules" / f"{obj['metadata']['name']}.yml").write_text(yaml.safe_dump({"groups": obj["spec"]["groups"]}))
    suites = []
    for path, text in alerts.render.artifacts(settings).items():
        if path.startswith(alerts.render.TESTS_DIR + "/"):
            suites.append(root / "tests" / path.rpartition("/")[2])
            suites[-1].write_text(text)
    return suites


@pytest.mark.parametrize("env", ENVS)
def test_promtool_suites_pass_on_rules_extracted_from_the_prometheus_rules(env, tmp_path):
    require("promtool")
    suites = extracted_rule_suites(operator_settings(env), tmp_path)
    assert len(suites) == 3
    result = promtool_test_rules(suites)
    assert result.ok, result.output
    assert result.output.count("SUCCESS") == len(suites)


def test_a_changed_rule_in_a_prometheus_rule_fails_the_suites(tmp_path):
    """The suites really read the extracted files: one threshold changed there fails them."""
    suites = extracted_rule_suites(operator_settings("dev"), tmp_path)
    path = tmp_path / "rules" / "llm-router-alerts.yml"
    doc = yaml.safe_load(path.read_text())
    rule = next(r for g in doc["groups"] for r in g["rules"] if r.get("alert") == "CriticalMemoryUsage")
    rule["expr"] = rule["expr"].replace("> 7", "> 70")
    path.write_text(yaml.safe_dump(doc))
    assert not promtool_test_rules([s for s in suites if s.name == "llm-router-alerts.test.yml"]).ok


# --- scraping ---------------------------------------------------------------------------------
def operator_jobs_config(settings):
    """The standalone config with its Kubernetes jobs replaced by what the operator makes of our PodMonitors."""
    config = prometheus_config(settings)
    jobs = [j for pm in operator_objects(settings, "PodMonitor") for j in pod_monitor_jobs(pm)]
    return config, {"scrape_configs": jobs, **{k: v for k, v in config.items() if k != "scrape_configs"}}


def comparable(labels):
    return {k: v for k, v in labels.items() if not k.startswith("__tmp")}


def sd(root: Path, config, targets, job):
    """``relabelled`` of test_router_discovery in a folder of its own."""
    root.mkdir(parents=True)
    return relabelled(root, config, targets, job)


def test_pod_monitors_relabel_every_example_pod_like_the_standalone_jobs(tmp_path):
    settings = operator_settings("prod")
    standalone, operator = operator_jobs_config(settings)
    targets = [target for _, target, _, _ in CASES]
    names = {pm["metadata"]["name"]: f"podMonitor/{pm['metadata']['namespace']}/{pm['metadata']['name']}/0"
             for pm in operator_objects(settings, "PodMonitor")}
    for job, monitor in ((ROUTER_JOB, "llm-router"), (POD_JOB, "llm-router-annotated-pods")):
        expected = sd(tmp_path / f"s-{monitor}", standalone, targets, job)
        got = sd(tmp_path / f"o-{monitor}", operator, targets, names[monitor])
        assert [comparable(t) for t in got] == expected, job
        assert any(expected) and all(t == {} or t["job"] == job for t in expected)


def test_two_replicas_and_a_numbered_port_behave_alike(tmp_path):
    """Per-pod targets of several replicas; a port given by number (no endpoint label) with two pod labels."""
    both = {"app.kubernetes.io/name": "llm.router", "tier": "api"}
    config = operator_config("prod")
    config["router"] = {**config["router"], "kubernetes": {"podLabels": both, "port": 9090,
                                                           "metricsPath": "/internal/metrics"}}
    cases = [
        (operator_settings("prod"), [pod_target(f"router-{i}", f"10.1.0.{10 + i}", node=f"node-{i}") for i in range(3)], 3),
        (Settings.from_config("prod", config), [
            pod_target("a", "10.2.0.1", labels=both, port=("http-metrics", 9090)),
            pod_target("b", "10.2.0.2", labels=both, port=("metrics", 8080)),
            pod_target("c", "10.2.0.3", labels={"app.kubernetes.io/name": "llm.router"}),
            pod_target("d", "10.2.0.4", labels={**both, "app.kubernetes.io/name": "llmXrouter"})], 1),
    ]
    for i, (settings, targets, kept) in enumerate(cases):
        standalone, operator = operator_jobs_config(settings)
        expected = sd(tmp_path / f"s{i}", standalone, targets, ROUTER_JOB)
        got = sd(tmp_path / f"o{i}", operator, targets, "podMonitor/monitoring/llm-router/0")
        assert [comparable(t) for t in got] == expected
        assert sum(bool(t) for t in expected) == kept


def test_without_our_relabelings_the_targets_would_differ(tmp_path):
    """The comparison can fail: the operator alone names the job <namespace>/<name> and adds endpoint, no node."""
    settings = operator_settings("prod")
    standalone, operator = operator_jobs_config(settings)
    (pm,) = [p for p in operator_objects(settings, "PodMonitor") if p["metadata"]["name"] == "llm-router"]
    bare = copy.deepcopy(pm)
    bare["spec"]["podMetricsEndpoints"][0]["relabelings"] = []
    operator["scrape_configs"] = pod_monitor_jobs(bare)
    target = [pod_target("router-0", "10.1.0.4")]
    (got,) = sd(tmp_path / "o", operator, target, "podMonitor/monitoring/llm-router/0")
    (expected,) = sd(tmp_path / "s", standalone, target, ROUTER_JOB)
    assert got["job"] == "monitoring/llm-router" and got["endpoint"] == "metrics" and "node" not in got
    assert expected["job"] == ROUTER_JOB and expected["node"] == "node-a" and "endpoint" not in expected


ENGINE_NS = "inference"
VLLM = {"app.kubernetes.io/name": "vllm-local-gpu"}
#: Engine and DCGM exporter pods, as discovery shows them: kept, relabelled or dropped alike by both modes.
BACKEND_PODS = [
    pod_target("vllm-local-gpu-0", "10.2.0.4", labels=VLLM, namespace=ENGINE_NS, container="vllm", port=("http", 8000),
               node="gpu-a"),
    pod_target("vllm-shared-1", "10.2.0.5", labels={"app.kubernetes.io/name": "vllm-shared"}, namespace=ENGINE_NS,
               container="vllm", port=("http", 8000)),
    pod_target("vllm-local-gpu-1", "10.2.0.6", labels=VLLM, namespace=ENGINE_NS, container="vllm", port=("grpc", 9000)),
    pod_target("vllm-local-gpu-9", "10.2.0.9", labels=VLLM, namespace=ENGINE_NS, container="vllm", phase="Failed",
               port=("http", 8000)),
    pod_target("dcgm-exporter-a", "10.2.1.2", labels={"app.kubernetes.io/name": "dcgm-exporter",
                                                      "app.kubernetes.io/instance": "llm-router-monitoring"},
               namespace="monitoring-node-agents", container="dcgm-exporter", port=("metrics", 9400), node="gpu-a"),
    pod_target("nvidia-dcgm-exporter-b", "10.2.1.3", labels={"app": "nvidia-dcgm-exporter"}, namespace="gpu-operator",
               container="nvidia-dcgm-exporter", port=("metrics", 9400), node="gpu-b"),
]


@pytest.mark.parametrize("env", ["dev", "prod"])  # dev deploys the DCGM exporter, prod scrapes the GPU Operator's
def test_engine_and_dcgm_pod_monitors_relabel_like_the_standalone_jobs(env, tmp_path):
    settings = operator_settings(env)
    standalone, operator = operator_jobs_config(settings)
    by_name = {j["job_name"]: j for j in standalone["scrape_configs"]}
    monitors = {pm["metadata"]["name"]: pm for pm in operator_objects(settings, "PodMonitor")}
    jobs = [job.name for job in backend_jobs(settings)]
    assert len(jobs) == 3 and DCGM_JOB in jobs
    for job in jobs:
        pm = monitors[f"llm-router-{job}"]
        (translated,) = pod_monitor_jobs(pm)
        expected = sd(tmp_path / f"s-{job}", standalone, BACKEND_PODS, job)
        got = sd(tmp_path / f"o-{job}", operator, BACKEND_PODS, translated["job_name"])
        assert [comparable(t) for t in got] == expected, job
        assert sum(bool(t) for t in expected) == 1, job  # each job keeps exactly its own pod
        # The DCGM exporter's series keep the pod their GPU is assigned to in both modes.
        assert translated["honor_labels"] == by_name[job].get("honor_labels", False) == (job == DCGM_JOB)


def test_annotated_pods_monitor_drops_an_engine_sharing_the_routers_namespace(tmp_path):
    """The engine's pods are scraped once, by their own monitor, as by the standalone jobs."""
    config = operator_config("prod")
    config["engines"] = {"vllm": {"kind": "vllm", "namespaces": ["llm-router-prod"], "podLabels": {"app": "vllm"},
                                  "port": "http"}}
    settings = Settings.from_config("prod", config)
    standalone, operator = operator_jobs_config(settings)
    pods = [pod_target("vllm-0", "10.1.0.7", labels={"app": "vllm"}, namespace="llm-router-prod", port=("http", 80),
                       annotations={"prometheus.io/scrape": "true", "prometheus.io/port": "80"})]
    for job, monitor in ((POD_JOB, "llm-router-annotated-pods"), ("engine-vllm", "llm-router-engine-vllm")):
        expected = sd(tmp_path / f"s-{job}", standalone, pods, job)
        got = sd(tmp_path / f"o-{job}", operator, pods, f"podMonitor/monitoring/{monitor}/0")
        assert [comparable(t) for t in got] == expected
        assert bool(expected[0]) == (job == "engine-vllm")


# --- routing ----------------------------------------------------------------------------------
#: kube-prometheus-stack's default alertmanager.yml (its chart's values.yaml ``alertmanager.config``).
KPS_BASE = {
    "global": {"resolve_timeout": "5m"},
    "inhibit_rules": [
        {"source_matchers": ["severity = critical"], "target_matchers": ["severity =~ warning|info"],
         "equal": ["namespace", "alertname"]},
        {"source_matchers": ["severity = warning"], "target_matchers": ["severity = info"],
         "equal": ["namespace", "alertname"]},
        {"source_matchers": ["alertname = InfoInhibitor"], "target_matchers": ["severity = info"], "equal": ["namespace"]},
        {"target_matchers": ["alertname = InfoInhibitor"]},
    ],
    "route": {"group_by": ["namespace"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "12h",
              "receiver": "null", "routes": [{"receiver": "null", "matchers": ['alertname = "Watchdog"']}]},
    "receivers": [{"name": "null"}],
}
#: Another team's alerts in the same Alertmanager: our receivers must never see them.
FOREIGN = [{"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "payments"},
           {"alertname": "Watchdog", "severity": "none"},
           {"alertname": "HighErrorRate", "severity": "warning", "service": "checkout", "signal": "error_rate"}]


def fake_secrets(amc):
    """A value for every key of the receivers' Secret (what the operator reads and inlines)."""
    keys = set()

    def walk(node):
        if isinstance(node, dict):
            if node.get("name") == RECEIVER_SECRET and set(node) == {"name", "key"}:
                keys.add(node["key"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(amc)
    return {(RECEIVER_SECRET, k): f"https://hooks.example.invalid/{k}" if "url" in k else f"fake-{k}" for k in keys}


def merged(settings, strategy=NO_MATCHER, am_namespace=KPS):
    (amc,) = operator_objects(settings, "AlertmanagerConfig")
    return amc, merged_alertmanager_config(KPS_BASE, [amc], strategy, am_namespace, fake_secrets(amc))


def receivers(path: Path, labels) -> list[str]:
    result = run_tool("amtool routes", ["amtool", "config", "routes", "test", f"--config.file={path}",
                                        *(f"{k}={v}" for k, v in sorted(labels.items()))])
    assert result.ok, result.output
    return result.output.splitlines()[0].strip().split(",")  # stdout; amtool may warn on stderr


def alerts_of(settings):
    return [{"alertname": r.alert, **r.labels} for groups in build_rule_groups(settings).values()
            for g in groups for r in g.rules if getattr(r, "alert", None)]


@pytest.mark.parametrize("env", ENVS)
def test_every_alert_reaches_the_same_receivers(env, tmp_path):
    require("amtool")
    settings = operator_settings(env)
    amc, config = merged(settings)
    ours = f"{amc['metadata']['namespace']}/{amc['metadata']['name']}/"
    (tmp_path / "operator.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "standalone.yml").write_text(_standalone(env))
    check = amtool_check_config(tmp_path / "operator.yml")
    assert check.ok, check.output
    alerts = alerts_of(load_settings(env))
    assert len(alerts) > 30 and all(a["service"] == "llm-router" for a in alerts)
    for labels in alerts:
        expected = receivers(tmp_path / "standalone.yml", labels)
        got = receivers(tmp_path / "operator.yml", labels)
        assert [r[len(ours):] for r in got if r.startswith(ours)] == expected, labels
        assert {r for r in got if not r.startswith(ours)} <= {"null"}, labels  # only the cluster's own
    for labels in FOREIGN:
        assert not [r for r in receivers(tmp_path / "operator.yml", labels) if r.startswith(ours)], labels


def _standalone(env):
    import alerts.render

    return alerts.render.artifacts(load_settings(env))["alertmanager/alertmanager.yml"]


def test_inhibition_is_scoped_to_our_alerts():
    """The same rules (critical over warning, an engine down over its backend's symptoms), each limited to
    service="llm-router" (a no-op for our alerts, which all carry it, and no effect on anyone else's); no
    namespace matcher with the None strategy."""
    amc, config = merged(operator_settings("prod"))
    standalone = yaml.safe_load(_standalone("prod"))["inhibit_rules"]
    ours = [r for r in config["inhibit_rules"] if r not in KPS_BASE["inhibit_rules"]]
    assert len(standalone) == 2
    assert ours == [{"source_matchers": ['service="llm-router"', *rule["source_matchers"]],
                     "target_matchers": ['service="llm-router"', *rule["target_matchers"]],
                     "equal": rule["equal"]} for rule in standalone]


def test_the_operators_default_strategy_would_hide_every_alert(tmp_path):
    """OnNamespace: the operator adds namespace="<AlertmanagerConfig namespace>" to our top route and to both
    sides of our inhibit rule. The router's alerts carry no such label, so they fall through to the cluster's
    root receiver: the settings refuse that strategy. OnNamespaceExceptForAlertmanagerNamespace leaves an
    AlertmanagerConfig in the Alertmanager's own namespace alone."""
    require("amtool")
    settings = operator_settings("prod")
    amc, config = merged(settings, ON_NAMESPACE)
    namespace = amc["metadata"]["namespace"]
    (top,) = [r for r in config["route"]["routes"] if r["receiver"].startswith(f"{namespace}/")]
    assert top["matchers"] == ['service="llm-router"', f'namespace="{namespace}"'] and top["continue"] is True
    for inhibit in [r for r in config["inhibit_rules"] if r not in KPS_BASE["inhibit_rules"]]:
        assert f'namespace="{namespace}"' in inhibit["source_matchers"]
        assert f'namespace="{namespace}"' in inhibit["target_matchers"]
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    critical = {"alertname": "CriticalErrorRate", "severity": "critical", "service": "llm-router", "signal": "error_rate"}
    assert receivers(tmp_path / "am.yml", critical) == ["null"]
    assert receivers(tmp_path / "am.yml", {**critical, "namespace": namespace}) == [f"{namespace}/llm-router/critical-alerts"]
    beside = operator_settings("prod", alertmanagerConfigMatcherStrategy=EXCEPT_ALERTMANAGER_NAMESPACE)
    amc, config = merged(beside, EXCEPT_ALERTMANAGER_NAMESPACE, KPS)
    (tmp_path / "beside.yml").write_text(yaml.safe_dump(config))
    assert receivers(tmp_path / "beside.yml", critical) == [f"{KPS}/llm-router/critical-alerts"]


def test_credentials_are_secret_references_only():
    """The AlertmanagerConfig names Secret keys; the values appear only in what the operator generates."""
    amc, config = merged(operator_settings("prod"))
    secrets = fake_secrets(amc)
    assert {k for _, k in secrets} == {"smtp_auth_password", "critical_slack_api_url", "warning_slack_api_url",
                                       "pagerduty_routing_key", "watchdog_token"}
    text = yaml.safe_dump(amc)
    assert not [v for v in secrets.values() if v in text]
    assert all(v in yaml.safe_dump(config) for v in secrets.values())
    assert "_file" not in text  # no path into a pod we do not run


def test_amtool_check_config_rejects_a_broken_merge(tmp_path):
    _, config = merged(operator_settings("prod"))
    config["route"]["routes"][0]["receiver"] = "nobody"
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    assert not amtool_check_config(tmp_path / "am.yml").ok


def test_a_misrouted_alertmanager_config_is_caught(tmp_path):
    """The comparison can fail: criticals sent to the warning receiver in the AlertmanagerConfig."""
    amc, _ = merged(operator_settings("prod"))
    bad = copy.deepcopy(amc)
    next(r for r in bad["spec"]["route"]["routes"] if r["receiver"] == "critical-alerts")["receiver"] = "warning-alerts"
    (tmp_path / "am.yml").write_text(yaml.safe_dump(merged_alertmanager_config(KPS_BASE, [bad], NO_MATCHER, KPS,
                                                                               fake_secrets(bad))))
    (tmp_path / "standalone.yml").write_text(_standalone("prod"))
    critical = {"alertname": "CriticalErrorRate", "severity": "critical", "service": "llm-router", "signal": "error_rate"}
    assert receivers(tmp_path / "am.yml", critical) != [
        f"{amc['metadata']['namespace']}/llm-router/{r}" for r in receivers(tmp_path / "standalone.yml", critical)]


@pytest.mark.live
def test_alertmanager_inhibits_like_the_standalone_rule_and_only_our_alerts(tmp_path):
    """A real Alertmanager on the merged configuration: our critical silences our warning of the same signal;
    another team's critical-over-warning pair of the same shape is left alone (the scope matcher)."""
    import subprocess
    import time

    import httpx

    from llmmon.localstack.ports import free_port
    from llmmon.localstack.stack import ALERTMANAGER

    _, config = merged(operator_settings("prod"))
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen([require(ALERTMANAGER), f"--config.file={tmp_path / 'am.yml'}",
                             f"--storage.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "alertmanager did not start"
            time.sleep(0.2)
        ours = {"service": "llm-router", "signal": "error_rate", "env": "prod"}
        theirs = {"service": "checkout", "signal": "error_rate", "namespace": "payments"}
        alerts = {
            "our-critical": {"alertname": "CriticalErrorRate", "severity": "critical", **ours},
            "our-warning": {"alertname": "HighErrorRate", "severity": "warning", **ours},
            "our-other-signal": {"alertname": "HighResponseTime", "severity": "warning", **ours,
                                 "signal": "inference_latency"},
            "their-critical": {"alertname": "CheckoutErrorsCritical", "severity": "critical", **theirs},
            "their-warning": {"alertname": "CheckoutErrorsWarning", "severity": "warning", **theirs},
        }
        posted = httpx.post(f"{url}/api/v2/alerts", json=[{"labels": labels} for labels in alerts.values()], timeout=10)
        assert posted.status_code == 200, posted.text
        status = {}
        for alert in httpx.get(f"{url}/api/v2/alerts", timeout=10).json():
            name = next(k for k, v in alerts.items() if v == alert["labels"])
            status[name] = bool(alert["status"]["inhibitedBy"])
        assert status == {"our-critical": False, "our-warning": True, "our-other-signal": False,
                          "their-critical": False, "their-warning": False}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
