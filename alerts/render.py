"""Artifacts this package contributes to ``llmmon render``, and the builders other code reuses.

Public API:

* ``artifacts(settings)``: ``prometheus/rules/*.yml``, ``prometheus/tests/*.test.yml``
  (generated ``promtool test rules`` suites; Thanos' own alerts with ``metricsStore.mode: thanos``), ``prometheus/prometheus.yml``,
  ``alertmanager/alertmanager.yml`` and ``prometheus/operator/llm-router.prometheusrule.yaml``.
* ``rule_files(settings, profile="prod")``: ``{file name: YAML}`` of the rule files only;
  ``profile="test"`` gives the same rules with compressed time (see ``alerts.profiles``),
  for the local live stack.
* ``alerts.prometheus_config.prometheus_config(...)`` and
  ``alerts.alertmanager.alertmanager_config(...)`` / ``local_alertmanager_config(...)``:
  the two configs with overridable addresses (documented in those modules).
* ``alerts.operator``: the same rules, scrape jobs and routing as Prometheus Operator objects
  (PrometheusRules, PodMonitors, an AlertmanagerConfig), which the stack creates in operator mode
  (``cluster.metricsBackend: operator``); ``prometheus_rule(settings)`` is every group in one
  PrometheusRule, the file this render writes.
"""

from __future__ import annotations

from alerts import thanos
from alerts.alertmanager import alertmanager_config
from alerts.groups import build_rule_groups
from alerts.operator import prometheus_rule
from alerts.profiles import Profile
from alerts.prometheus_config import prometheus_config
from alerts.ruletests import rule_tests
from alerts.yamlfmt import dump
from foundation.settings import Settings

RULES_DIR = "prometheus/rules"
TESTS_DIR = "prometheus/tests"
OPERATOR_FILE = "prometheus/operator/llm-router.prometheusrule.yaml"


def rule_files(settings: Settings, profile: str | Profile = "prod") -> dict[str, str]:
    """Rule file name (``llm-router-alerts.yml``, ...) -> YAML, deterministic."""
    return {
        f"{stem}.yml": dump({"groups": [g.to_dict() for g in groups]})
        for stem, groups in sorted(build_rule_groups(settings, profile).items())
    }


def artifacts(settings: Settings) -> dict[str, str]:
    """Relative output path -> file content, deterministic for a given settings object."""
    out = {f"{RULES_DIR}/{name}": text for name, text in rule_files(settings).items()}
    out |= {f"{TESTS_DIR}/{name}": text for name, text in rule_tests(settings).items()}
    if settings.metrics_store.thanos_enabled:  # Thanos' own alerts, only where Thanos runs
        out[f"{RULES_DIR}/{thanos.RULE_FILE}"] = thanos.rule_file(settings)
        out[f"{TESTS_DIR}/{thanos.TEST_FILE}"] = thanos.rule_tests(settings)
    out["prometheus/prometheus.yml"] = dump(prometheus_config(settings))
    out["alertmanager/alertmanager.yml"] = dump(alertmanager_config(settings))
    out[OPERATOR_FILE] = dump(prometheus_rule(settings))
    return dict(sorted(out.items()))
