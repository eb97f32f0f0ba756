"""Operator mode (``cluster.metricsBackend: operator``): the cluster's Prometheus Operator does the job.

Instead of a Prometheus and an Alertmanager of our own, the objects its Prometheus and Alertmanager
pick up (``alerts.operator`` builds them from the standalone config): PodMonitors, one
PrometheusRule per rule file and an AlertmanagerConfig, each in the namespace the settings name
and with the labels its selector needs; plus the Secret with the receivers' credentials, in the
AlertmanagerConfig's namespace (the operator reads referenced Secrets from there).
"""

from __future__ import annotations

import posixpath

from alerts import operator as op
from foundation.standards.prometheus_operator import OPERATOR_VERSION
from stack import objects as k
from stack.credentials import alertmanager_secret_files
from stack.model import Context, Service

COMPONENT = "OperatorMonitoring"


def build(ctx: Context) -> Service:
    o = ctx.cluster.operator
    assert o is not None, "operator mode only"
    labels = {**k.labels(op.NAME, "monitoring-config", OPERATOR_VERSION), **o.selector_labels}
    objects = [
        *op.pod_monitors(ctx.settings, o.pod_monitor_namespace, labels),
        *op.prometheus_rules(ctx.settings, o.rule_namespace, labels),
        op.alertmanager_config(ctx.settings, o.alertmanager_config_namespace, labels),
    ]
    files = alertmanager_secret_files(ctx.artifacts)
    if files:
        secret = k.App(op.NAME, "alerting", ctx.cluster.images["alertmanager"], o.alertmanager_config_namespace)
        objects.insert(0, k.secret(secret, op.RECEIVER_SECRET, {
            posixpath.basename(path): ctx.secret(key) for key, path in files.items()}))
    return Service(COMPONENT, objects)
