"""CrossGuard policies for the stack (``pulumi up --policy-pack policy/``), tested in-process.

Resource policies see one resource's inputs (camelCase wire names); stack policies see all
of them (a PDB per workload, a default-deny NetworkPolicy per namespace, Pod Security levels).
Documented exceptions carry the ``EXCEPTION_ANNOTATION`` on the pod template (root for
Filebeat, host access for node-exporter, the sysctl init container), and such pods may only
run in a namespace that enforces the ``privileged`` Pod Security level, which may hold nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from foundation.walk import strings
from stack.objects import EXCEPTION_ANNOTATION

K8S = "kubernetes:"
GRAFANA_DATASOURCE = "grafana:oss/dataSource:DataSource"
GRAFANA_DASHBOARD = "grafana:oss/dashboard:Dashboard"
GRAFANA_FOLDER = "grafana:oss/folder:Folder"
#: Grafana provider inputs that the provider schema marks secret (encrypted in Pulumi state).
GRAFANA_SECRET_FIELDS: dict[str, frozenset[str]] = {
    "pulumi:providers:grafana": frozenset({"auth"}),
    GRAFANA_DATASOURCE: frozenset({"secureJsonDataEncoded"}),
}
WORKLOADS = {"apps/v1:Deployment", "apps/v1:StatefulSet", "apps/v1:DaemonSet"}
BATCH = {"batch/v1:Job", "batch/v1:CronJob"}
#: Env var names that hold credentials; ``*_FILE`` variants hold a path and are fine.
SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ENCRYPTIONKEY|CREDENTIALS?)$", re.IGNORECASE)
Validator = Callable[[ResourceValidationArgs, ReportViolation], None]


def _kind(resource_type: str) -> str:
    """``kubernetes:apps/v1:Deployment`` -> ``apps/v1:Deployment`` (core/v1 stays core/v1)."""
    return resource_type[len(K8S):] if resource_type.startswith(K8S) else ""


def pod_template(kind: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = props.get("spec") or {}
    if kind in WORKLOADS or kind == "batch/v1:Job":
        return spec.get("template")
    if kind == "batch/v1:CronJob":
        return ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
    return None


def _containers(template: Mapping[str, Any], init: bool = True) -> Iterator[Mapping[str, Any]]:
    spec = template.get("spec") or {}
    yield from spec.get("containers") or []
    if init:
        yield from spec.get("initContainers") or []


def _excepted(template: Mapping[str, Any]) -> bool:
    reason = ((template.get("metadata") or {}).get("annotations") or {}).get(EXCEPTION_ANNOTATION)
    return bool(reason and str(reason).strip())


def _for_pods(check: Callable[[str, Mapping[str, Any], ReportViolation], None], kinds: set[str]) -> Validator:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        kind = _kind(args.resource_type)
        template = pod_template(kind, args.props) if kind in kinds else None
        if template is not None:
            check(f"{kind} {args.name}", template, report)
    return validate


def check_resources(where: str, template: Mapping[str, Any], report: ReportViolation) -> None:
    for c in _containers(template):
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            missing = [r for r in ("cpu", "memory") if r not in (res.get(part) or {})]
            if missing:
                report(f"{where}: container {c.get('name')} has no {part} for {', '.join(missing)}", None)


def check_probes(where: str, template: Mapping[str, Any], report: ReportViolation) -> None:
    for c in _containers(template, init=False):
        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                report(f"{where}: container {c.get('name')} has no {probe}", None)


def check_hardening(where: str, template: Mapping[str, Any], report: ReportViolation) -> None:
    excepted = _excepted(template)
    pod_ctx = (template.get("spec") or {}).get("securityContext") or {}
    if not excepted and pod_ctx.get("runAsNonRoot") is not True:
        report(f"{where}: pod securityContext.runAsNonRoot is not true", None)
    for c in _containers(template):
        ctx = c.get("securityContext") or {}
        name = c.get("name")
        if ctx.get("privileged") and not excepted:
            report(f"{where}: container {name} is privileged", None)
        if ctx.get("privileged"):
            continue  # the documented exception (a node sysctl); nothing else to check
        if "ALL" not in ((ctx.get("capabilities") or {}).get("drop") or []):
            report(f"{where}: container {name} does not drop ALL capabilities", None)
        if ctx.get("allowPrivilegeEscalation") is not False:
            report(f"{where}: container {name} allows privilege escalation", None)
        if not excepted and (ctx.get("runAsUser") == 0 or ctx.get("runAsNonRoot") is False):
            report(f"{where}: container {name} runs as root without a documented exception", None)
        if not excepted and ctx.get("readOnlyRootFilesystem") is not True:
            report(f"{where}: container {name} has a writable root filesystem without a documented exception", None)


def no_plain_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Credentials only in Secrets: no literal credential env vars, no known secret value anywhere else.

    Besides Kubernetes Secrets, the only fields that may hold one are those the Grafana provider
    stores as secrets (its ``auth``, a data source's ``secureJsonDataEncoded``).
    """
    kind = _kind(args.resource_type) or args.resource_type
    template = pod_template(kind, args.props)
    if template is not None:
        for c in _containers(template):
            for env in c.get("env") or []:
                if SECRET_ENV.search(str(env.get("name", ""))) and "value" in env:
                    report(f"{kind} {args.name}: env {env['name']} of {c.get('name')} is a literal, use secretKeyRef", None)
    if kind == "core/v1:Secret":
        return  # the one place secret values belong
    forbidden = [v for v in ((args.get_config() or {}).get("forbiddenValues") or []) if v]
    secret_fields = GRAFANA_SECRET_FIELDS.get(args.resource_type, frozenset())
    for path, text in strings(args.props):
        if path.split(".")[0].split("[")[0] not in secret_fields and any(value in text for value in forbidden):
            report(f"{kind} {args.name}: {path} contains a secret value in plain text", None)


OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def no_open_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """No NetworkPolicy ingress rule admits every source (an ipBlock of 0.0.0.0/0, or no peers at all)."""
    if _kind(args.resource_type) != "networking.k8s.io/v1:NetworkPolicy":
        return
    for i, rule in enumerate((args.props.get("spec") or {}).get("ingress") or []):
        peers = rule.get("from") or []
        if not peers:
            report(f"NetworkPolicy {args.name}: ingress rule {i} has no 'from': it admits every source", None)
        for peer in peers:
            cidr = (peer.get("ipBlock") or {}).get("cidr")
            if cidr in OPEN_CIDRS:
                report(f"NetworkPolicy {args.name}: ingress rule {i} admits {cidr}", None)


def host_access(template: Mapping[str, Any]) -> list[str]:
    """What a pod needs beyond the baseline Pod Security level (empty: nothing)."""
    spec = template.get("spec") or {}
    needs = [f for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f)]
    needs += [f"hostPath volume {v.get('name')}" for v in spec.get("volumes") or [] if v.get("hostPath")]
    for c in _containers(template):
        ctx = c.get("securityContext") or {}
        if ctx.get("privileged"):
            needs.append(f"privileged container {c.get('name')}")
        if ctx.get("runAsUser") == 0:
            needs.append(f"root container {c.get('name')}")
    return needs


def pod_security_levels(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every namespace enforces a Pod Security level; host access only where it is ``privileged``,
    and a ``privileged`` namespace holds only pods that need it (the rest enforce baseline or better)."""
    levels = {_meta(r, "name"): (_meta(r, "labels") or {}).get("pod-security.kubernetes.io/enforce")
              for _, r in _of_kind(args, {"core/v1:Namespace"})}
    for ns, level in sorted(levels.items()):
        if level not in ("privileged", "baseline", "restricted"):
            report(f"namespace {ns}: no pod-security.kubernetes.io/enforce level", None)
    for kind, r in _of_kind(args, WORKLOADS | BATCH):
        ns, template = _meta(r, "namespace"), pod_template(kind, r.props)
        needs = host_access(template or {})
        if ns not in levels:
            continue
        if needs and levels[ns] != "privileged":
            report(f"{kind} {r.name}: needs {', '.join(needs)} but namespace {ns} enforces {levels[ns]}", None)
        if not needs and levels[ns] == "privileged":
            report(f"{kind} {r.name}: needs no host access but runs in privileged namespace {ns}", None)


def _json_object(text: Any) -> Mapping[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return value if isinstance(value, Mapping) else {}


def grafana_datasource_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """A data source with basic auth sends its password only over TLS, kept in secureJsonData."""
    if args.resource_type != GRAFANA_DATASOURCE:
        return
    where = f"grafana DataSource {args.name}"
    plain = _json_object(args.props.get("jsonDataEncoded"))
    for key in sorted(plain):
        if re.search(r"password|secret|token", key, re.IGNORECASE):
            report(f"{where}: jsonData.{key} is stored in clear, move it to secureJsonData", None)
    if not args.props.get("basicAuthEnabled"):
        return
    if not str(args.props.get("url", "")).startswith("https://"):
        report(f"{where}: basic auth over {args.props.get('url')!r} sends the password in clear, use https", None)
    if "basicAuthPassword" not in _json_object(args.props.get("secureJsonDataEncoded")):
        report(f"{where}: basic auth without basicAuthPassword in secureJsonData", None)


def _meta(resource: Any, field: str) -> Any:
    return (resource.props.get("metadata") or {}).get(field)


def _of_kind(args: StackValidationArgs, kinds: set[str]) -> Iterator[tuple[str, Any]]:
    for r in args.resources:
        if _kind(r.resource_type) in kinds:
            yield _kind(r.resource_type), r


def pdb_per_workload(args: StackValidationArgs, report: ReportViolation) -> None:
    budgets = [
        (_meta(r, "namespace"), ((r.props.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
        for _, r in _of_kind(args, {"policy/v1:PodDisruptionBudget"})
    ]
    for kind, r in _of_kind(args, WORKLOADS):
        labels = (((r.props.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not any(ns == _meta(r, "namespace") and sel and sel.items() <= labels.items() for ns, sel in budgets):
            report(f"{kind} {r.name}: no PodDisruptionBudget selects its pods", None)


def _is_default_deny(spec: Mapping[str, Any]) -> bool:
    return (spec.get("podSelector") == {} and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
            and not spec.get("ingress") and not spec.get("egress"))


def network_policy_per_namespace(args: StackValidationArgs, report: ReportViolation) -> None:
    denied = {
        _meta(r, "namespace") for _, r in _of_kind(args, {"networking.k8s.io/v1:NetworkPolicy"})
        if _is_default_deny(r.props.get("spec") or {})
    }
    namespaces = {_meta(r, "namespace") for _, r in _of_kind(args, WORKLOADS)}
    namespaces |= {_meta(r, "name") for _, r in _of_kind(args, {"core/v1:Namespace"})}
    for ns in sorted(n for n in namespaces if n):
        if ns not in denied:
            report(f"namespace {ns}: no default-deny NetworkPolicy (empty podSelector, Ingress+Egress, no rules)", None)


MANDATORY = EnforcementLevel.MANDATORY
RESOURCE_POLICIES = [
    ResourceValidationPolicy("k8s-resources-requests-limits", "Every container sets CPU/memory requests and limits.",
                             _for_pods(check_resources, WORKLOADS | BATCH), MANDATORY),
    ResourceValidationPolicy("k8s-liveness-readiness-probes", "Every long-running container has liveness and readiness probes.",
                             _for_pods(check_probes, WORKLOADS), MANDATORY),
    ResourceValidationPolicy("k8s-non-root-hardened", "Non-root, no privilege escalation, ALL capabilities dropped, read-only root fs.",
                             _for_pods(check_hardening, WORKLOADS | BATCH), MANDATORY),
    ResourceValidationPolicy("no-open-ingress", "No NetworkPolicy admits ingress from 0.0.0.0/0 or from every source.",
                             no_open_ingress, MANDATORY),
    ResourceValidationPolicy(
        "no-plain-secrets", "No credential outside a Kubernetes Secret.", no_plain_secrets, MANDATORY,
        config_schema=PolicyConfigSchema({"forbiddenValues": {"type": "array", "items": {"type": "string"}}}),
    ),
    ResourceValidationPolicy(
        "grafana-datasource-auth", "Grafana data sources: basic auth only over https, passwords only in secureJsonData.",
        grafana_datasource_auth, MANDATORY,
    ),
]
def grafana_dashboards_in_folder(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every API-managed dashboard sits in a folder this stack manages (never General or elsewhere)."""
    folders = {r.props.get("uid") for r in args.resources if r.resource_type == GRAFANA_FOLDER}
    for r in args.resources:
        if r.resource_type == GRAFANA_DASHBOARD and r.props.get("folder") not in folders:
            report(f"grafana Dashboard {r.name}: folder {r.props.get('folder')!r} is not a folder of this stack", None)


STACK_POLICIES = [
    StackValidationPolicy("pdb-per-workload", "Every Deployment/StatefulSet/DaemonSet has a PodDisruptionBudget.",
                          pdb_per_workload, MANDATORY),
    StackValidationPolicy("network-policy-per-namespace", "Every namespace has a default-deny NetworkPolicy.",
                          network_policy_per_namespace, MANDATORY),
    StackValidationPolicy("pod-security-levels",
                          "Namespaces enforce Pod Security; host access only in a privileged namespace holding nothing else.",
                          pod_security_levels, MANDATORY),
    StackValidationPolicy("grafana-dashboards-in-folder", "Every Grafana dashboard is in a folder this stack manages.",
                          grafana_dashboards_in_folder, MANDATORY),
]
