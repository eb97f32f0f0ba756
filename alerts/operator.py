"""The scrape jobs, rules and routing as Prometheus Operator objects (``monitoring.coreos.com``).

Plain dicts, no Kubernetes client: ``llmmon render`` writes them, the Pulumi layer creates them.
Each is derived from what the standalone stack renders, never a second copy:

* ``pod_monitors(settings, namespace, labels)``: one PodMonitor per Kubernetes scrape job of
  ``prometheus.yml`` (router pods, each engine's pods, the DCGM exporter's, annotated pods),
  relabelled by the same ``alerts.relabel`` steps (``alerts.scrape_jobs``), so targets keep the
  same labels (``job``, ``instance``, ``namespace``, ``pod``, ``container``, ``node``, ``backend``,
  ``model_name``; the DCGM exporter's honour their own) and every rule and dashboard works unchanged.
* ``prometheus_rules(settings, namespace, labels)``: one PrometheusRule per rendered rule file,
  with exactly its groups; ``prometheus_rule(settings, ...)`` holds every group in one object
  (``prometheus/operator/llm-router.prometheusrule.yaml`` of the render).
* ``alertmanager_config(settings, namespace, labels)``: the routing tree, inhibitions and
  receivers of the rendered ``alertmanager.yml`` as a ``v1alpha1`` AlertmanagerConfig. Credentials
  are references to keys of the Secret ``RECEIVER_SECRET`` (each key is the basename of the
  ``*_file`` that the standalone Alertmanager reads), never values.

How the operator merges an AlertmanagerConfig into its Alertmanager's configuration: its top
route becomes a child of the cluster's root route, placed before the cluster's own routes, with
``continue: true``; receiver names get the prefix ``<namespace>/<name>/``; and, under the matcher
strategy ``OnNamespace`` (the operator's default), ``namespace="<its namespace>"`` is added to the
top route and to both sides of every inhibit rule (``foundation.settings.operator`` refuses that
strategy). Because our route then sits in a shared Alertmanager, it is scoped to our alerts by
``service="llm-router"``, a label every rule carries, and so is the inhibit rule: it never
silences another team's warnings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from alerts.alertmanager import alertmanager_config as rendered_alertmanager_config
from alerts.definitions import ROUTER_JOB, SERVICE
from alerts.groups import build_rule_groups
from alerts.profiles import Profile
from alerts.prometheus_config import DEFAULT_INTERVAL, POD_JOB
from alerts.relabel import Relabel, annotated_pod_steps
from alerts.scrape_jobs import PodScrapeJob, backend_jobs, pod_jobs, router_job, shared_namespace_drops
from foundation.settings import Settings

GROUP = "monitoring.coreos.com"
V1, V1ALPHA1 = f"{GROUP}/v1", f"{GROUP}/v1alpha1"
NAME = "llm-router"
PART_OF = "llm-router-monitoring"
#: Holds every receiver credential the AlertmanagerConfig references (in its namespace).
RECEIVER_SECRET = "llm-router-alertmanager-receivers"
#: Every alert of ours carries it (``alerts.model.REQUIRED_LABELS``): the scope of our route.
SCOPE = ("service", SERVICE)
#: Target labels the operator gives every PodMonitor target (``endpoint`` only when the port is named).
OPERATOR_TARGET_LABELS = ("namespace", "container", "pod", "endpoint")

Obj = dict[str, Any]


def _metadata(name: str, namespace: str | None, labels: Mapping[str, str] | None) -> Obj:
    meta: Obj = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = dict(sorted({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": PART_OF,
                                  **(labels or {})}.items()))
    return meta


def _job(name: str, kept: Iterable[str]) -> list[Obj]:
    """The standalone job name (the operator names jobs ``<namespace>/<PodMonitor>``), and none of the
    target labels the operator adds that the standalone job does not keep."""
    drop = "|".join(label for label in OPERATOR_TARGET_LABELS if label not in set(kept))
    return [Relabel("replace", target_label="job", replacement=name).operator(),
            *([Relabel("labeldrop", regex=drop).operator()] if drop else [])]


def _monitor_name(job: PodScrapeJob) -> str:
    return NAME if job.name == ROUTER_JOB else f"{NAME}-{job.name}"


def pod_monitor(settings: Settings, job: PodScrapeJob, namespace: str | None = None,
                labels: Mapping[str, str] | None = None) -> Obj:
    """A pod job of ``prometheus.yml`` (``alerts.scrape_jobs``: router, engine, DCGM exporter) as a PodMonitor."""
    r = settings.router
    # A port number goes in no field: ``portNumber`` is unknown to operators before v0.79.0 (v0.61.0 refuses
    # it) and ``targetPort`` is deprecated; every container port becomes a target and ``port_filter`` of
    # the relabelings keeps the one with that number (as the standalone job does).
    endpoint: Obj = {"port": job.port} if isinstance(job.port, str) else {}
    endpoint |= {"path": job.metrics_path, "interval": r.scrape_interval, "scrapeTimeout": r.scrape_timeout}
    if job.honor_labels:
        endpoint["honorLabels"] = True
    kept = [*job.target_labels, *job.static_labels]
    endpoint["relabelings"] = [s.operator() for s in job.relabel_steps()] + _job(job.name, kept)
    return {
        "apiVersion": V1, "kind": "PodMonitor", "metadata": _metadata(_monitor_name(job), namespace, labels),
        "spec": {
            "namespaceSelector": {"matchNames": list(job.targets.namespaces)},
            # The operator keeps these pods and port too; the relabelings repeat it exactly (literal values).
            "selector": {"matchLabels": dict(job.pod_labels)},
            "podMetricsEndpoints": [endpoint],
        },
    }


def router_pod_monitor(settings: Settings, namespace: str | None = None,
                       labels: Mapping[str, str] | None = None) -> Obj:
    """Every router pod, scraped on its own: the ``llm-router`` job of ``prometheus.yml``."""
    job = router_job(settings)
    if job is None:
        raise ValueError(f"env {settings.env!r}: router.kubernetes is not set; a PodMonitor needs router pods")
    return pod_monitor(settings, job, namespace, labels)


def annotated_pods_monitor(settings: Settings, namespace: str | None = None,
                           labels: Mapping[str, str] | None = None) -> Obj:
    """Pods annotated ``prometheus.io/scrape: "true"`` in the router's namespaces, minus the pods of every
    job of their own (router, engines, DCGM exporter): the ``kubernetes-pods`` job of ``prometheus.yml``."""
    r = settings.router
    steps = [s.operator() for s in (*shared_namespace_drops(r.pod_namespaces, pod_jobs(settings)),
                                    *annotated_pod_steps())]
    return {
        "apiVersion": V1, "kind": "PodMonitor", "metadata": _metadata(f"{NAME}-annotated-pods", namespace, labels),
        "spec": {
            "namespaceSelector": {"matchNames": list(r.pod_namespaces)},
            "selector": {},
            # No port: one target per container port, collapsed onto the annotated one by relabelling.
            "podMetricsEndpoints": [{"interval": DEFAULT_INTERVAL,
                                     "relabelings": steps + _job(POD_JOB, ("namespace", "pod"))}],
        },
    }


def pod_monitors(settings: Settings, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> list[Obj]:
    """The router's, each engine's and the DCGM exporter's PodMonitor, then the annotated pods'."""
    return [router_pod_monitor(settings, namespace, labels),
            *(pod_monitor(settings, job, namespace, labels) for job in backend_jobs(settings)),
            annotated_pods_monitor(settings, namespace, labels)]


def prometheus_rules(settings: Settings, namespace: str | None = None, labels: Mapping[str, str] | None = None,
                     profile: str | Profile = "prod") -> list[Obj]:
    """One PrometheusRule per rule file (``llm-router-alerts.yml`` -> ``llm-router-alerts``), same groups."""
    return [
        {"apiVersion": V1, "kind": "PrometheusRule", "metadata": _metadata(stem, namespace, labels),
         "spec": {"groups": [g.to_dict() for g in groups]}}
        for stem, groups in sorted(build_rule_groups(settings, profile).items())
    ]


def prometheus_rule(settings: Settings, namespace: str | None = None, labels: Mapping[str, str] | None = None,
                    profile: str | Profile = "prod") -> Obj:
    """Every group in one PrometheusRule (the render's ``prometheus/operator/`` file)."""
    groups = [g for obj in prometheus_rules(settings, profile=profile) for g in obj["spec"]["groups"]]
    return {"apiVersion": V1, "kind": "PrometheusRule", "metadata": _metadata(NAME, namespace, labels),
            "spec": {"groups": groups}}


# --- AlertmanagerConfig ------------------------------------------------------------------------
_MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"((?:[^"\\]|\\.)*)"$')
_ROUTE_KEYS = {"receiver": "receiver", "group_by": "groupBy", "group_wait": "groupWait",
               "group_interval": "groupInterval", "repeat_interval": "repeatInterval", "continue": "continue"}


def matcher(text: str) -> Obj:
    """``severity="critical"`` -> ``{name, matchType, value}``."""
    m = _MATCHER.match(text)
    if m is None:
        raise ValueError(f"not a simple label matcher: {text!r}")
    return {"name": m.group(1), "matchType": m.group(2), "value": m.group(3).replace('\\"', '"')}


def _scope() -> Obj:
    return {"name": SCOPE[0], "matchType": "=", "value": SCOPE[1]}


def _route(route: Mapping[str, Any], top: bool = False) -> Obj:
    unknown = set(route) - set(_ROUTE_KEYS) - {"matchers", "routes"}
    if unknown:
        raise ValueError(f"route fields with no AlertmanagerConfig conversion: {sorted(unknown)}")
    out: Obj = {_ROUTE_KEYS[k]: v for k, v in route.items() if k in _ROUTE_KEYS}
    matchers = ([_scope()] if top else []) + [matcher(m) for m in route.get("matchers", [])]
    if matchers:
        out["matchers"] = matchers
    if route.get("routes"):
        out["routes"] = [_route(child) for child in route["routes"]]
    return out


def _inhibit_rule(rule: Mapping[str, Any]) -> Obj:
    unknown = set(rule) - {"source_matchers", "target_matchers", "equal"}
    if unknown:
        raise ValueError(f"inhibit rule fields with no AlertmanagerConfig conversion: {sorted(unknown)}")
    return {
        "sourceMatch": [_scope(), *map(matcher, rule.get("source_matchers", []))],
        "targetMatch": [_scope(), *map(matcher, rule.get("target_matchers", []))],
        "equal": list(rule.get("equal", [])),
    }


def secret_key(path: str) -> Obj:
    """The Secret key holding what the standalone Alertmanager reads from ``path``."""
    return {"name": RECEIVER_SECRET, "key": path.rpartition("/")[2]}


def _email(config: Mapping[str, Any], smtp: Mapping[str, Any]) -> Obj:
    # An AlertmanagerConfig has no global section: the SMTP settings go into each email config.
    out: Obj = {"to": config["to"], "sendResolved": config["send_resolved"], "text": config["text"],
                "headers": [{"key": k, "value": v} for k, v in sorted(config.get("headers", {}).items())],
                "smarthost": smtp["smtp_smarthost"], "from": smtp["smtp_from"], "requireTLS": smtp["smtp_require_tls"]}
    if "smtp_auth_username" in smtp:
        out["authUsername"] = smtp["smtp_auth_username"]
        out["authPassword"] = secret_key(smtp["smtp_auth_password_file"])
    return out


def _slack(config: Mapping[str, Any], _: Mapping[str, Any]) -> Obj:
    return {"apiURL": secret_key(config["api_url_file"]), "channel": config["channel"],
            "sendResolved": config["send_resolved"], "title": config["title"], "text": config["text"]}


def _pagerduty(config: Mapping[str, Any], _: Mapping[str, Any]) -> Obj:
    return {"routingKey": secret_key(config["routing_key_file"]), "sendResolved": config["send_resolved"]}


def _webhook(config: Mapping[str, Any], _: Mapping[str, Any]) -> Obj:
    out: Obj = {"url": config["url"], "sendResolved": config["send_resolved"]}
    credentials = config.get("http_config", {}).get("authorization", {}).get("credentials_file")
    if credentials:
        out["httpConfig"] = {"authorization": {"type": "Bearer", "credentials": secret_key(credentials)}}
    return out


#: alertmanager.yml receiver list -> (AlertmanagerConfig list, conversion, fields it covers).
_RECEIVERS = {
    "email_configs": ("emailConfigs", _email, {"to", "send_resolved", "headers", "text"}),
    "slack_configs": ("slackConfigs", _slack, {"api_url_file", "channel", "send_resolved", "title", "text"}),
    "pagerduty_configs": ("pagerdutyConfigs", _pagerduty, {"routing_key_file", "send_resolved"}),
    "webhook_configs": ("webhookConfigs", _webhook, {"url", "send_resolved", "http_config"}),
}


def _receiver(receiver: Mapping[str, Any], smtp: Mapping[str, Any]) -> Obj:
    out: Obj = {"name": receiver["name"]}
    for key, configs in receiver.items():
        if key == "name":
            continue
        if key not in _RECEIVERS:
            raise ValueError(f"receiver {receiver['name']}: {key} has no AlertmanagerConfig conversion")
        target, convert, known = _RECEIVERS[key]
        for config in configs:
            if set(config) - known:
                raise ValueError(f"receiver {receiver['name']}: {key} fields {sorted(set(config) - known)} "
                                 "have no AlertmanagerConfig conversion")
        out[target] = [convert(config, smtp) for config in configs]
    return out


def alertmanager_config(settings: Settings, namespace: str | None = None,
                        labels: Mapping[str, str] | None = None) -> Obj:
    """The rendered alertmanager.yml as an AlertmanagerConfig (see the module docstring)."""
    rendered = rendered_alertmanager_config(settings)
    smtp = rendered.get("global", {})
    return {
        "apiVersion": V1ALPHA1, "kind": "AlertmanagerConfig", "metadata": _metadata(NAME, namespace, labels),
        "spec": {
            "route": _route(rendered["route"], top=True),
            "inhibitRules": [_inhibit_rule(r) for r in rendered.get("inhibit_rules", [])],
            "receivers": [_receiver(r, smtp) for r in rendered["receivers"]],
        },
    }

