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
    broken = edited("staging", "Deployment", "grafana", lambda p: first_container(p)["resources"].pop("limits"))
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


def _container(props, name, init=False):
    spec = props["spec"].get("jobTemplate", {}).get("spec", props["spec"])["template"]["spec"]
    return next(c for c in spec["initContainers" if init else "containers"] if c["name"] == name)


def _set(path, value):
    """An edit that sets ``props[path[0]]...[path[-1]] = value``."""
    def edit(props):
        node = props
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


def _literal_encryption_key(props):
    env = _container(props, "kibana")["env"]
    env[:] = [e for e in env if e["name"] != "XPACK_SECURITY_ENCRYPTIONKEY"]
    env.append({"name": "XPACK_SECURITY_ENCRYPTIONKEY", "value": "k" * 32})


@pytest.mark.parametrize(("policy", "env", "kind", "name", "edit", "expected"), [
    ("k8s-resources-requests-limits", "staging", "Deployment", "grafana",
     lambda p: _container(p, "grafana")["resources"].pop("requests"),
     ["apps/v1:Deployment grafana: container grafana has no requests for cpu, memory"]),
    ("k8s-resources-requests-limits", "prod", "StatefulSet", "logstash",
     lambda p: _container(p, "config", init=True).pop("resources"),
     ["apps/v1:StatefulSet logstash: container config has no requests for cpu, memory",
      "apps/v1:StatefulSet logstash: container config has no limits for cpu, memory"]),
    ("k8s-liveness-readiness-probes", "prod", "StatefulSet", "prometheus",
     lambda p: _container(p, "prometheus").pop("livenessProbe"),
     ["apps/v1:StatefulSet prometheus: container prometheus has no livenessProbe"]),
    ("k8s-non-root-hardened", "prod", "Deployment", "kibana",
     lambda p: p["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"),
     ["apps/v1:Deployment kibana: pod securityContext.runAsNonRoot is not true"]),
    ("k8s-non-root-hardened", "staging", "Deployment", "grafana",
     lambda p: _container(p, "grafana")["securityContext"].pop("allowPrivilegeEscalation"),
     ["apps/v1:Deployment grafana: container grafana allows privilege escalation"]),
    ("k8s-non-root-hardened", "staging", "Deployment", "grafana",
     lambda p: _container(p, "grafana")["securityContext"].pop("readOnlyRootFilesystem"),
     ["apps/v1:Deployment grafana: container grafana has a writable root filesystem without a documented exception"]),
    ("k8s-non-root-hardened", "prod", "Deployment", "kibana",
     lambda p: _container(p, "kibana")["securityContext"].update(privileged=True),
     ["apps/v1:Deployment kibana: container kibana is privileged"]),
    ("k8s-non-root-hardened", "prod", "CronJob", "jaeger-index-cleaner",
     lambda p: _container(p, "cleaner")["securityContext"].update(runAsUser=0),
     ["batch/v1:CronJob jaeger-index-cleaner: container cleaner runs as root without a documented exception"]),
    ("no-plain-secrets", "prod", "Deployment", "kibana", _literal_encryption_key,
     ["apps/v1:Deployment kibana: env XPACK_SECURITY_ENCRYPTIONKEY of kibana is a literal, use secretKeyRef"]),
])
def test_each_resource_check_rejects_its_violation(policy, env, kind, name, edit, expected):
    """Every branch of every resource policy fires on a one-field break of a real resource (and nothing else)."""
    assert resource_violations(policy, edited(env, kind, name, edit)) == expected


def test_secret_value_in_a_config_map_is_a_violation():
    """A credential rendered into config (not only into env) is caught: the whole object is scanned."""
    leaked = fake_secrets("staging")["grafanaReaderPassword"]

    def leak(props):
        props["data"]["datasources.yaml"] += f"\n# basicAuthPassword: {leaked}\n"
    found = resource_violations("no-plain-secrets", edited("staging", "ConfigMap", "grafana-datasources", leak), [leaked])
    assert found == ["core/v1:ConfigMap grafana-datasources: data.datasources.yaml contains a secret value in plain text"]


@pytest.mark.parametrize(("policy", "kind", "name", "edit", "expected"), [
    ("pdb-per-workload", "PodDisruptionBudget", "logstash", _set(["metadata", "namespace"], "elsewhere"),
     ["apps/v1:StatefulSet logstash: no PodDisruptionBudget selects its pods"]),
    ("network-policy-per-namespace", "NetworkPolicy", "default-deny-all", _set(["spec", "ingress"], [{}]),
     ["namespace monitoring: no default-deny NetworkPolicy (empty podSelector, Ingress+Egress, no rules)"]),
    ("network-policy-per-namespace", "NetworkPolicy", "default-deny-all", _set(["spec", "policyTypes"], ["Ingress"]),
     ["namespace monitoring: no default-deny NetworkPolicy (empty podSelector, Ingress+Egress, no rules)"]),
])
def test_each_stack_check_rejects_its_violation(policy, kind, name, edit, expected):
    """A PDB in another namespace, an allow-all or ingress-only 'deny' policy do not count."""
    assert stack_violations(policy, edited("prod", kind, name, edit)) == expected


@pytest.mark.parametrize(("edit", "expected"), [
    (_set(["spec", "ingress", 0, "from"], [{"ipBlock": {"cidr": "0.0.0.0/0"}}]),
     ["NetworkPolicy grafana: ingress rule 0 admits 0.0.0.0/0"]),
    (_set(["spec", "ingress", 0, "from"], [{"ipBlock": {"cidr": "::/0"}}]),
     ["NetworkPolicy grafana: ingress rule 0 admits ::/0"]),
    (_set(["spec", "ingress"], [{"ports": [{"port": 3000, "protocol": "TCP"}]}]),
     ["NetworkPolicy grafana: ingress rule 0 has no 'from': it admits every source"]),
])
def test_ingress_open_to_everyone_is_a_violation(edit, expected):
    """Grafana's ingress widened to the internet (or to every source) is rejected at preview."""
    assert resource_violations("no-open-ingress", edited("prod", "NetworkPolicy", "grafana", edit)) == expected


def _namespace_level(level):
    return _set(["metadata", "labels", "pod-security.kubernetes.io/enforce"], level)


def test_monitoring_namespace_back_to_privileged_is_a_violation():
    found = stack_violations("pod-security-levels", edited("prod", "Namespace", "monitoring", _namespace_level("privileged")))
    assert "apps/v1:Deployment kibana: needs no host access but runs in privileged namespace monitoring" in found
    assert "apps/v1:StatefulSet elasticsearch: needs no host access but runs in privileged namespace monitoring" in found
    assert not [f for f in found if "monitoring-node-agents" in f]


def test_host_access_outside_the_node_agents_namespace_is_a_violation():
    found = stack_violations("pod-security-levels",
                             edited("prod", "DaemonSet", "node-exporter", _set(["metadata", "namespace"], "monitoring")))
    assert found == ["apps/v1:DaemonSet node-exporter: needs hostNetwork, hostPID, hostPath volume proc, hostPath volume root, "
                     "hostPath volume sys but namespace monitoring enforces restricted"]


def test_namespace_without_an_enforced_level_is_a_violation():
    def unlabel(props):
        del props["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
    found = stack_violations("pod-security-levels", edited("dev", "Namespace", "monitoring-dev", unlabel))
    assert found == ["namespace monitoring-dev: no pod-security.kubernetes.io/enforce level"]
