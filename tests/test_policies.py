"""CrossGuard policies, run on the inputs the real program registers (and on broken copies)."""

import copy
from functools import cache

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties

from stack.mocks import fake_secrets, run_program
from stack.policies import RESOURCE_POLICIES, STACK_POLICIES

ENVS = ("dev", "staging", "prod")
POLICIES = {p.name: p for p in [*RESOURCE_POLICIES, *STACK_POLICIES]}


def _opts():
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


@cache
def captured(env):
    """(type, name, props) as a policy run sees them: secrets unwrapped to plain values."""
    return tuple((r.typ, r.name, deserialize_properties(r.inputs)) for r in run_program(env, fake_secrets(env)) if r.custom)


def resource_violations(policy_name, resources, forbidden=()):
    policy, found = POLICIES[policy_name], []
    for typ, name, props in resources:
        args = ResourceValidationArgs(typ, props, f"urn:{name}", name, _opts(), None, {"forbiddenValues": list(forbidden)})
        policy.validate(args, lambda message, urn=None: found.append(message))
    return found


def stack_violations(policy_name, resources):
    found = []
    args = StackValidationArgs([
        PolicyResource(typ, props, f"urn:{name}", name, _opts(), None, None, [], {}) for typ, name, props in resources
    ])
    POLICIES[policy_name].validate(args, lambda message, urn=None: found.append(message))
    return found


def edited(env, kind, name, edit):
    """A copy of the env's resources with one object changed by ``edit(props)``."""
    out = []
    for typ, n, props in captured(env):
        props = copy.deepcopy(props)
        if typ.endswith(f":{kind}") and n == name:
            edit(props)
        out.append((typ, n, props))
    return out


def without(env, kind, name):
    return [r for r in captured(env) if not (r[0].endswith(f":{kind}") and r[1] == name)]


def first_container(props):
    return props["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("env", ENVS)
def test_program_passes_every_policy(env):
    forbidden = list(fake_secrets(env).values())
    for policy in RESOURCE_POLICIES:
        assert resource_violations(policy.name, captured(env), forbidden) == [], policy.name
    for policy in STACK_POLICIES:
        assert stack_violations(policy.name, captured(env)) == [], policy.name


def test_missing_limits_is_a_violation():
    broken = edited("prod", "Deployment", "grafana", lambda p: first_container(p)["resources"].pop("limits"))
    assert resource_violations("k8s-resources-requests-limits", broken) == [
        "apps/v1:Deployment grafana: container grafana has no limits for cpu, memory"
    ]


def test_missing_probe_is_a_violation():
    broken = edited("prod", "StatefulSet", "prometheus", lambda p: first_container(p).pop("readinessProbe"))
    assert resource_violations("k8s-liveness-readiness-probes", broken) == [
        "apps/v1:StatefulSet prometheus: container prometheus has no readinessProbe"
    ]


def test_root_without_exception_is_a_violation():
    def root(props):
        first_container(props)["securityContext"]["runAsUser"] = 0
        first_container(props)["securityContext"]["capabilities"] = {"drop": []}
    found = resource_violations("k8s-non-root-hardened", edited("dev", "Deployment", "kibana", root))
    assert "apps/v1:Deployment kibana: container kibana runs as root without a documented exception" in found
    assert "apps/v1:Deployment kibana: container kibana does not drop ALL capabilities" in found


def test_literal_password_env_and_leaked_value_are_violations():
    leaked = fake_secrets("dev")["grafanaAdminPassword"]

    def leak(props):
        first_container(props)["env"].append({"name": "GF_SECURITY_ADMIN_PASSWORD", "value": leaked})
    found = resource_violations("no-plain-secrets", edited("dev", "Deployment", "grafana", leak), [leaked])
    assert any("env GF_SECURITY_ADMIN_PASSWORD of grafana is a literal" in f for f in found)
    assert any("contains a secret value in plain text" in f for f in found)


def test_workload_without_pdb_is_a_violation():
    assert stack_violations("pdb-per-workload", without("prod", "PodDisruptionBudget", "logstash")) == [
        "apps/v1:StatefulSet logstash: no PodDisruptionBudget selects its pods"
    ]


def test_namespace_without_default_deny_is_a_violation():
    assert stack_violations("network-policy-per-namespace", without("staging", "NetworkPolicy", "default-deny-all")) == [
        "namespace monitoring-staging: no default-deny NetworkPolicy (empty podSelector, Ingress+Egress, no rules)"
    ]
