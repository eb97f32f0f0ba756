"""The shipped rules and configs load in the deployed Prometheus 3 / Alertmanager 0.34 too.

The tests run Debian's promtool 2.42 and amtool 0.25 on everything; no 3.x binary exists on
this machine. What changed between those versions comes from the upstream changelogs and the
Prometheus 3 migration guide; each rule here is one of those changes that could make a file
that 2.42 accepts mean something else (or fail) in 3.x.
"""

import re

import pytest
import yaml

from foundation.settings import available_envs, load_settings
from stack.build import build_services, upstream_artifacts
from stack.credentials import required_secret_keys
from stack.model import REDACTED

ENVS = available_envs()
#: Removed in Prometheus 3.0 (flags that make 3.x refuse to start).
REMOVED_FLAGS = ("--storage.tsdb.retention=", "--alertmanager.timeout", "--storage.tsdb.allow-overlapping-blocks",
                 "--web.console.libraries", "--web.console.templates")  # console files left the image in 3.0
#: Matchers on classic-histogram/summary labels whose values 3.x normalizes ("1" is stored as "1.0").
NORMALIZED_LABEL = re.compile(r'\b(le|quantile)\s*(=~|!~|=|!=)\s*"([^"]*)"')


def whole_numbers(pattern):
    return set(re.findall(r"(?<![\d.\\])(\d+)(?![\d.\\])", pattern))


def normalization_problems(expr):
    """Matchers that select a whole-number bucket in only one of the two versions."""
    problems = []
    for label, op, literal in NORMALIZED_LABEL.findall(expr):
        value = literal.encode().decode("unicode_escape")  # PromQL string escapes: "1\\.0" is the regex 1\.0
        if op in ("=", "!=") and re.fullmatch(r"\d+", value):
            problems.append(f'{label}{op}"{literal}" (3.x stores "{value}.0")')
        if op in ("=~", "!~"):
            for n in whole_numbers(value):
                if not (re.fullmatch(value, n) and re.fullmatch(value, f"{n}.0")):
                    problems.append(f'{label}{op}"{literal}" misses "{n}" or "{n}.0"')
    return problems


def rules(artifacts):
    for path, text in artifacts.items():
        if path.startswith("prometheus/rules/") and path.count("/") == 2:
            for group in yaml.safe_load(text)["groups"]:
                yield from group["rules"]


@pytest.mark.parametrize("env", ENVS)
def test_rules_mean_the_same_in_prometheus_2_and_3(env):
    found = []
    for rule in rules(upstream_artifacts(load_settings(env))):
        expr = rule["expr"]
        found += normalization_problems(expr)
        if re.search(r"\bholt_winters\s*\(", expr):  # renamed and feature-flagged in 3.0
            found.append(f"{rule.get('alert') or rule.get('record')}: holt_winters")
    assert found == []


def test_the_normalization_check_catches_a_2x_only_matcher():
    assert normalization_problems('rate(x_bucket{le="1"}[5m])') == ['le="1" (3.x stores "1.0")']
    assert normalization_problems('rate(x_bucket{le=~"1|2\\\\.5"}[5m])') == ['le=~"1|2\\\\.5" misses "1" or "1.0"']
    assert normalization_problems('rate(x_bucket{le=~"1|1\\\\.0"}[5m])') == []


@pytest.mark.parametrize("env", ENVS)
def test_prometheus_config_and_flags_have_nothing_3x_removed(env):
    settings = load_settings(env)
    upstream = upstream_artifacts(settings)
    objs = {(o["kind"], o["metadata"]["name"]): o
            for s in build_services(settings, dict.fromkeys(required_secret_keys(settings, upstream), REDACTED), upstream)
            for o in s.objects}
    for text in (upstream["prometheus/prometheus.yml"], objs[("ConfigMap", "prometheus-config")]["data"]["prometheus.yml"]):
        doc = yaml.safe_load(text)
        assert "scrape_classic_histograms" not in text  # renamed always_scrape_classic_histograms
        assert all(am.get("api_version", "v2") == "v2" for am in doc.get("alerting", {}).get("alertmanagers", []))
    args = objs[("StatefulSet", "prometheus")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not [a for a in args if a.startswith(REMOVED_FLAGS)]
