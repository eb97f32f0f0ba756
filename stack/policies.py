"""CrossGuard policies for the stack (``pulumi up --policy-pack policy/``), tested in-process.

Resource policies see one resource's inputs (camelCase wire names); stack policies see all
of them (a PDB per workload, a default-deny NetworkPolicy per namespace). Documented
exceptions carry the ``EXCEPTION_ANNOTATION`` on the pod template (root for Filebeat,
host access for node-exporter, a writable root filesystem for Elasticsearch).
"""

from __future__ import annotations

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
    """Credentials only in Secrets: no literal credential env vars, no known secret value anywhere else."""
    kind = _kind(args.resource_type)
    template = pod_template(kind, args.props)
    if template is not None:
        for c in _containers(template):
            for env in c.get("env") or []:
                if SECRET_ENV.search(str(env.get("name", ""))) and "value" in env:
                    report(f"{kind} {args.name}: env {env['name']} of {c.get('name')} is a literal, use secretKeyRef", None)
    if kind == "core/v1:Secret":
        return  # the one place secret values belong
    forbidden = [v for v in ((args.get_config() or {}).get("forbiddenValues") or []) if v]
    for path, text in strings(args.props):
        if any(value in text for value in forbidden):
            report(f"{kind} {args.name}: {path} contains a secret value in plain text", None)


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
    ResourceValidationPolicy(
        "no-plain-secrets", "No credential outside a Kubernetes Secret.", no_plain_secrets, MANDATORY,
        config_schema=PolicyConfigSchema({"forbiddenValues": {"type": "array", "items": {"type": "string"}}}),
    ),
]
STACK_POLICIES = [
    StackValidationPolicy("pdb-per-workload", "Every Deployment/StatefulSet/DaemonSet has a PodDisruptionBudget.",
                          pdb_per_workload, MANDATORY),
    StackValidationPolicy("network-policy-per-namespace", "Every namespace has a default-deny NetworkPolicy.",
                          network_policy_per_namespace, MANDATORY),
]
