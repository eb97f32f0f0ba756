"""Operator mode for any env: its stack config switched to ``cluster.metricsBackend: operator``.

No env deploys operator mode; tests run every env both ways. The switch is what a user does:
set the backend, describe the cluster's kube-prometheus-stack, and drop the keys that would
size or pin a Prometheus, Alertmanager or exporter the stack no longer deploys, and prod's Thanos
(in operator mode long-term storage is the operator's Prometheus resource's business).
"""

from __future__ import annotations

import copy
from typing import Any

from foundation.settings import Settings
from foundation.settings.metrics_store import THANOS_WORKLOADS
from foundation.settings.operator import OPERATOR_RUN
from stack.mocks import stack_config

KPS = "kube-prometheus-stack"
OPERATOR: dict[str, Any] = {
    "namespace": KPS,
    "selectorLabels": {"release": KPS},
    "prometheusUrl": f"http://{KPS}-prometheus.{KPS}.svc:9090",
    "alertmanagerConfigMatcherStrategy": "None",
}


def operator_config(env: str, **operator: Any) -> dict[str, Any]:
    config = copy.deepcopy(stack_config(env))
    cluster = config.setdefault("cluster", {})
    for service, image_keys in OPERATOR_RUN.items():
        cluster.pop(service, None)
        for key in image_keys:
            cluster.get("images", {}).pop(key, None)
    config.pop("metricsStore", None)
    for key in THANOS_WORKLOADS:
        cluster.pop(key, None)
    cluster.get("images", {}).pop("thanos", None)
    cluster["metricsBackend"] = "operator"
    cluster["operator"] = {**copy.deepcopy(OPERATOR), **operator}
    return config


def operator_settings(env: str, **operator: Any) -> Settings:
    return Settings.from_config(env, operator_config(env, **operator))
