"""The tests' transcription of the Prometheus Operator reproduces the operator's own golden files.

Each case is a test of prometheus-operator v0.93.0 (``pkg/prometheus/promcfg_test.go``,
``pkg/alertmanager/amcfg_test.go``): its input transcribed from the Go test, its expected output
the operator's golden file (``tests/data/prometheus_operator/``), compared as parsed YAML.
"""

from pathlib import Path

import pytest
import yaml

from tests.operator_emulation import NO_MATCHER, ON_NAMESPACE, merged_alertmanager_config, pod_monitor_jobs

GOLDEN = Path(__file__).parent / "data" / "prometheus_operator"


def golden(name):
    return yaml.safe_load((GOLDEN / f"{name}.golden").read_text())


def default_pod_monitor(**endpoint):
    """``defaultPodMonitor()`` of promcfg_test.go with the test's endpoint changes."""
    ep = {"port": "web", "interval": "30s", **endpoint}
    return {"metadata": {"name": "defaultPodMonitor", "namespace": "default", "labels": {"group": "group1"}},
            "spec": {"selector": {"matchLabels": {"group": "group1"}},
                     "podMetricsEndpoints": [{k: v for k, v in ep.items() if v is not None}]}}


POD_MONITOR_CASES = {
    # TestPodMonitorPhaseFilter
    "PodMonitorPhaseFilter": {"metadata": {"name": "testpodmonitor1", "namespace": "default"},
                              "spec": {"podMetricsEndpoints": [{"filterRunning": False, "port": "test"}]}},
    # TestPodMonitorPortNumber, "PodMonitor with Pod Port Number"
    "podMonitorObjectWithPortNumber": default_pod_monitor(port=None, portNumber=1024, targetPort="10240"),
    # TestPodMonitorWithDefaultScrapeClassRelabelings: the scrape class' relabelings are appended where
    # the endpoint's are (generatePodMonitorConfig), in the same format; here they are the endpoint's.
    "podMonitorObjectWithDefaultScrapeClassWithRelabelings": default_pod_monitor(relabelings=[
        {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_app_name"], "targetLabel": "app"}]),
}


@pytest.mark.parametrize("case", sorted(POD_MONITOR_CASES))
def test_pod_monitor_jobs_match_the_operators_golden_files(case):
    (expected,) = golden(case)["scrape_configs"]
    (job,) = pod_monitor_jobs(POD_MONITOR_CASES[case], shard="$(SHARD)")
    assert job == expected


def test_a_wrong_transcription_is_caught():
    broken = default_pod_monitor(port=None, portNumber=1025, targetPort="10240")
    (expected,) = golden("podMonitorObjectWithPortNumber")["scrape_configs"]
    assert pod_monitor_jobs(broken, shard="$(SHARD)")[0] != expected


def amc(route=None, inhibit=None, receivers=("test",)):
    spec = {"receivers": [{"name": r} for r in receivers] if route else []}
    if route:
        spec["route"] = route
    if inhibit:
        spec["inhibitRules"] = inhibit
    return {"metadata": {"name": "myamc", "namespace": "mynamespace"}, "spec": spec}


BASE = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
SUBROUTES = {"receiver": "test", "groupBy": ["job"], "routes": [
    {"receiver": "test2", "groupBy": ["job", "instance"], "continue": True,
     "matchers": [{"name": "job", "value": "foo", "matchType": "="}]},
    {"receiver": "test3", "groupBy": ["job", "instance"], "matchers": [{"name": "job", "value": "bar", "matchType": "="}]},
]}
INHIBIT = [{"sourceMatch": [{"name": "alertname", "matchType": "=~", "value": "NodeNotReady"}],
            "targetMatch": [{"name": "alertname", "matchType": "!=", "value": "TargetDown"}], "equal": ["node"]}]
AMC_CASES = {
    "skeleton_base_simple_CR": (amc({"receiver": "test", "groupBy": ["job"]}), ON_NAMESPACE),
    "skeleton_base_simple_CR_with_namespaceMatcher_disabled": (amc({"receiver": "test", "groupBy": ["job"]}), NO_MATCHER),
    "skeleton_base_CR_with_subroutes": (amc(SUBROUTES, receivers=("test", "test2", "test3")), ON_NAMESPACE),
    "skeleton_base,_CR_with_inhibition_rules_only": (amc(inhibit=INHIBIT), ON_NAMESPACE),
}


@pytest.mark.parametrize("case", sorted(AMC_CASES))
def test_merged_alertmanager_config_matches_the_operators_golden_files(case):
    config, strategy = AMC_CASES[case]
    assert merged_alertmanager_config(BASE, [config], strategy) == golden(case)
