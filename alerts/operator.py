"""The rules as a Prometheus Operator ``PrometheusRule`` (``monitoring.coreos.com/v1``).

``prometheus_rule(settings, namespace=None, labels=None, profile="prod") -> dict`` returns
the object as a plain dict (no Kubernetes client needed): the Pulumi layer can pass it to
``kubernetes.apiextensions.CustomResource`` and ``llmmon render`` writes it to
``prometheus/operator/``. ``labels`` are added to the object's metadata so that a
Prometheus' ``ruleSelector`` picks it up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alerts.groups import build_rule_groups
from alerts.profiles import Profile
from foundation.settings import Settings

NAME = "llm-router"


def prometheus_rule(settings: Settings, namespace: str | None = None, labels: Mapping[str, str] | None = None,
                    profile: str | Profile = "prod") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": NAME}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(sorted({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of":
                                      "llm-router-monitoring", **(labels or {})}.items()))
    groups = [g.to_dict() for _, gs in sorted(build_rule_groups(settings, profile).items()) for g in gs]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": groups},
    }
