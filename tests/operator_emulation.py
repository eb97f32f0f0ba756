"""What the Prometheus Operator makes of our objects, for tests that compare it with the standalone stack.

The operator cannot run here (no Go toolchain, no cluster), so its two translations that matter
are transcribed from prometheus-operator v0.93.0, only for the fields our objects use (anything
else raises, so a new field cannot slip through unconverted):

* ``pod_monitor_jobs``: a PodMonitor -> the scrape jobs of the operator's ``prometheus.yml``
  (``pkg/prometheus/promcfg.go``, ``generatePodMonitorConfig``, one Prometheus shard).
* ``merged_alertmanager_config``: AlertmanagerConfigs merged into the cluster's base
  ``alertmanager.yml`` (``pkg/alertmanager/amcfg.go``, ``ConfigBuilder.AddAlertmanagerConfigs``,
  ``convertRoute``, ``convertInhibitRule``, the enforcers), Alertmanager >= 0.22.

``tests/data/prometheus_operator/`` holds golden files of the operator's own test suite at that
tag; ``tests/test_operator_emulation.py`` feeds these functions the inputs of those test cases
(transcribed from ``promcfg_test.go`` and ``amcfg_test.go``) and requires the goldens back.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]
#: The one shard of an unsharded Prometheus (the operator's config reloader substitutes ``$(SHARD)``).
SHARD = "0"


def _sanitize(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def _relabel(rc: Mapping[str, Any]) -> Obj:
    """``generateRelabelConfig``: the operator's key order and lower-case actions."""
    known = {"sourceLabels", "separator", "targetLabel", "regex", "modulus", "replacement", "action"}
    if set(rc) - known:
        raise NotImplementedError(f"relabeling fields {sorted(set(rc) - known)}")
    out: Obj = {}
    for key, name in (("sourceLabels", "source_labels"), ("separator", "separator"),
                      ("targetLabel", "target_label"), ("regex", "regex"), ("modulus", "modulus"),
                      ("replacement", "replacement")):
        if rc.get(key) not in (None, "", []):
            out[name] = rc[key]
    if rc.get("action"):
        out["action"] = rc["action"].lower()
    return out


ENDPOINT_FIELDS = {"port", "portNumber", "targetPort", "path", "interval", "scrapeTimeout", "relabelings",
                   "filterRunning", "honorLabels"}
SPEC_FIELDS = {"namespaceSelector", "selector", "podMetricsEndpoints"}


def pod_monitor_jobs(pm: Mapping[str, Any], shard: str = SHARD) -> list[Obj]:
    spec, meta = pm["spec"], pm["metadata"]
    ns, name = meta["namespace"], meta["name"]
    if set(spec) - SPEC_FIELDS:
        raise NotImplementedError(f"PodMonitor fields {sorted(set(spec) - SPEC_FIELDS)}")
    selector = spec.get("selector") or {}
    if set(selector) - {"matchLabels"}:
        raise NotImplementedError("PodMonitor selector other than matchLabels")
    names = (spec.get("namespaceSelector") or {}).get("matchNames") or [ns]
    jobs = []
    for i, ep in enumerate(spec["podMetricsEndpoints"]):
        if set(ep) - ENDPOINT_FIELDS:
            raise NotImplementedError(f"podMetricsEndpoints fields {sorted(set(ep) - ENDPOINT_FIELDS)}")
        # AddHonorLabels (a Prometheus with overrideHonorLabels would force false; ours do not set it).
        job: Obj = {"job_name": f"podMonitor/{ns}/{name}/{i}", "honor_labels": bool(ep.get("honorLabels", False)),
                    "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": list(names)}}]}
        for key, out in (("interval", "scrape_interval"), ("scrapeTimeout", "scrape_timeout"), ("path", "metrics_path")):
            if ep.get(key):
                job[out] = ep[key]
        steps: list[Obj] = [{"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"}]
        if ep.get("filterRunning", True):
            steps.append({"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"],
                          "regex": "(Failed|Succeeded)"})
        for key in sorted(selector.get("matchLabels") or {}):
            steps.append({"action": "keep", "source_labels": [f"__meta_kubernetes_pod_label_{_sanitize(key)}",
                                                              f"__meta_kubernetes_pod_labelpresent_{_sanitize(key)}"],
                          "regex": f"({selector['matchLabels'][key]});true"})
        if ep.get("port"):
            steps.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                          "regex": ep["port"]})
        elif ep.get("portNumber"):
            steps.append({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                          "regex": ep["portNumber"]})
        elif ep.get("targetPort"):
            raise NotImplementedError("targetPort without port or portNumber")
        steps += [{"source_labels": [f"__meta_kubernetes_{meta}"], "target_label": label}
                  for meta, label in (("namespace", "namespace"), ("pod_container_name", "container"),
                                      ("pod_name", "pod"))]
        steps.append({"target_label": "job", "replacement": f"{ns}/{name}"})
        if ep.get("port") or ep.get("targetPort"):  # targetPort: deprecated, still labels the endpoint
            steps.append({"target_label": "endpoint", "replacement": str(ep.get("port") or ep["targetPort"])})
        steps += [_relabel(rc) for rc in ep.get("relabelings") or []]
        steps += [
            {"source_labels": ["__address__", "__tmp_hash"], "target_label": "__tmp_hash", "regex": "(.+);",
             "replacement": "$1", "action": "replace"},
            {"source_labels": ["__tmp_hash"], "target_label": "__tmp_hash", "modulus": 1, "action": "hashmod"},
            {"source_labels": ["__tmp_hash", "__tmp_disable_sharding"], "regex": f"{shard};|.+;.+", "action": "keep"},
        ]
        job["relabel_configs"] = steps
        jobs.append(job)
    return jobs


# --- Alertmanager ------------------------------------------------------------------------------
ON_NAMESPACE, EXCEPT_ALERTMANAGER_NAMESPACE, NO_MATCHER = (
    "OnNamespace", "OnNamespaceExceptForAlertmanagerNamespace", "None")


def _matcher(m: Mapping[str, Any]) -> str:
    """``Matcher.String()``: ``name="value"`` (Go's strconv.Quote); matchType defaults to ``=``."""
    if m.get("regex"):
        raise NotImplementedError("deprecated regex matchers")
    return f"{m['name']}{m.get('matchType') or '='}{json.dumps(m.get('value', ''))}"


def _route(route: Mapping[str, Any], prefix: str) -> Obj:
    known = {"receiver", "groupBy", "groupWait", "groupInterval", "repeatInterval", "continue", "matchers", "routes"}
    if set(route) - known:
        raise NotImplementedError(f"route fields {sorted(set(route) - known)}")
    out: Obj = {"receiver": prefix + route["receiver"]} if route.get("receiver") else {}
    for key, name in (("groupBy", "group_by"), ("groupWait", "group_wait"), ("groupInterval", "group_interval"),
                      ("repeatInterval", "repeat_interval")):
        if route.get(key):
            out[name] = route[key]
    if route.get("matchers"):
        out["matchers"] = [_matcher(m) for m in route["matchers"]]
    if route.get("continue"):
        out["continue"] = True
    if route.get("routes"):
        out["routes"] = [_route(child, prefix) for child in route["routes"]]
    return out


def _secret(ref: Mapping[str, Any], secrets: Mapping[tuple[str, str], str]) -> str:
    return secrets[(ref["name"], ref["key"])]


def _receiver(receiver: Mapping[str, Any], prefix: str, secrets: Mapping[tuple[str, str], str]) -> Obj:
    out: Obj = {"name": prefix + receiver["name"]}
    for email in receiver.get("emailConfigs", []):
        known = {"to", "from", "smarthost", "authUsername", "authPassword", "headers", "text", "sendResolved",
                 "requireTLS"}
        if set(email) - known:
            raise NotImplementedError(f"emailConfigs fields {sorted(set(email) - known)}")
        e: Obj = {k2: email[k1] for k1, k2 in (("sendResolved", "send_resolved"), ("to", "to"), ("from", "from"),
                                                ("smarthost", "smarthost"), ("authUsername", "auth_username"),
                                                ("text", "text"), ("requireTLS", "require_tls")) if k1 in email}
        if "authPassword" in email:
            e["auth_password"] = _secret(email["authPassword"], secrets)
        if email.get("headers"):
            e["headers"] = {h["key"]: h["value"] for h in email["headers"]}
        out.setdefault("email_configs", []).append(e)
    for slack in receiver.get("slackConfigs", []):
        if set(slack) - {"apiURL", "channel", "title", "text", "sendResolved"}:
            raise NotImplementedError(f"slackConfigs fields {sorted(slack)}")
        out.setdefault("slack_configs", []).append({
            "send_resolved": slack["sendResolved"], "api_url": _secret(slack["apiURL"], secrets),
            "channel": slack["channel"], "title": slack["title"], "text": slack["text"]})
    for pd in receiver.get("pagerdutyConfigs", []):
        if set(pd) - {"routingKey", "sendResolved"}:
            raise NotImplementedError(f"pagerdutyConfigs fields {sorted(pd)}")
        out.setdefault("pagerduty_configs", []).append({
            "send_resolved": pd["sendResolved"], "routing_key": _secret(pd["routingKey"], secrets)})
    for hook in receiver.get("webhookConfigs", []):
        if set(hook) - {"url", "sendResolved", "httpConfig"}:
            raise NotImplementedError(f"webhookConfigs fields {sorted(hook)}")
        w: Obj = {"send_resolved": hook["sendResolved"], "url": hook["url"]}
        auth = (hook.get("httpConfig") or {}).get("authorization")
        if auth:
            w["http_config"] = {"authorization": {"type": auth.get("type", "Bearer"),
                                                  "credentials": _secret(auth["credentials"], secrets)}}
        out.setdefault("webhook_configs", []).append(w)
    unknown = set(receiver) - {"name", "emailConfigs", "slackConfigs", "pagerdutyConfigs", "webhookConfigs"}
    if unknown:
        raise NotImplementedError(f"receiver fields {sorted(unknown)}")
    return out


def _enforced(strategy: str, amc_namespace: str, alertmanager_namespace: str) -> bool:
    """Whether the operator adds ``namespace="<amc namespace>"`` (``getEnforcer``)."""
    if strategy == NO_MATCHER:
        return False
    if strategy == EXCEPT_ALERTMANAGER_NAMESPACE:
        return amc_namespace != alertmanager_namespace
    return True


def merged_alertmanager_config(base: Mapping[str, Any], amcs: list[Mapping[str, Any]], strategy: str = ON_NAMESPACE,
                               alertmanager_namespace: str = "monitoring",
                               secrets: Mapping[tuple[str, str], str] | None = None) -> Obj:
    """The Alertmanager configuration the operator generates from ``base`` and the AlertmanagerConfigs."""
    out = copy.deepcopy(dict(base))
    out.setdefault("receivers", [])
    sub_routes = []
    for amc in sorted(amcs, key=lambda a: f"{a['metadata']['namespace']}/{a['metadata']['name']}"):
        ns, name, spec = amc["metadata"]["namespace"], amc["metadata"]["name"], amc["spec"]
        enforce = _enforced(strategy, ns, alertmanager_namespace)
        scope = f'namespace="{ns}"'
        for rule in spec.get("inhibitRules", []):
            converted: Obj = {"target_matchers": [_matcher(m) for m in rule.get("targetMatch", [])],
                              "source_matchers": [_matcher(m) for m in rule.get("sourceMatch", [])]}
            if enforce:
                for side in ("source_matchers", "target_matchers"):
                    if scope not in converted[side]:
                        converted[side].append(scope)
            if rule.get("equal"):
                converted["equal"] = list(rule["equal"])
            out.setdefault("inhibit_rules", []).append(converted)
        if not spec.get("route"):
            continue
        route = _route(spec["route"], f"{ns}/{name}/")
        if enforce:
            route["matchers"] = [*route.get("matchers", []), scope]
        route["continue"] = True
        sub_routes.append(route)
        out["receivers"] += [_receiver(r, f"{ns}/{name}/", secrets or {}) for r in spec.get("receivers", [])]
    out["route"]["routes"] = sub_routes + list(out["route"].get("routes", []))
    if not out["route"]["routes"]:
        del out["route"]["routes"]
    out.setdefault("templates", [])
    return out
