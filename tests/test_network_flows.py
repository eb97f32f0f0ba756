"""Who may reach what: every rendered NetworkPolicy, read back into flows, equals the table.

``stack/flows.py`` is the table (the spec); the services build their policies on their own.
Each rendered rule becomes (source, target, port) flows; they must all be in the table, and
every flow of the table must be allowed by the source's egress and the target's ingress
wherever that side is one of our pods. Mutating one rendered policy breaks these tests.
"""

import copy

import pytest
import yaml

from foundation.settings import available_envs, load_settings
from stack import flows as F
from stack.render import artifacts
from tests.operator_support import operator_settings

ENVS = available_envs()
OUTSIDE = {F.INGRESS_CONTROLLER, F.ROUTERS, F.DNS, F.ANYWHERE, F.OPERATOR_PROMETHEUS}


def outside(settings):
    """Table endpoints that are not our pods: the fixed ones, the engines, an existing DCGM exporter."""
    return OUTSIDE | set(F.scrape_targets(settings))


def rendered(env, settings=None):
    return [doc for path, text in artifacts(settings or load_settings(env)).items()
            if path.startswith("kubernetes/") and path.endswith(".yaml") for doc in yaml.safe_load_all(text) if doc]


def app_namespaces(docs):
    """app name -> namespace, from the workloads' pod labels."""
    out = {}
    for d in docs:
        spec = d.get("spec", {})
        template = spec.get("template") or spec.get("jobTemplate", {}).get("spec", {}).get("template")
        if template:
            out[template["metadata"]["labels"]["app.kubernetes.io/name"]] = d["metadata"]["namespace"]
    return out


def endpoint(peer, policy_ns, settings, apps):
    """A rule's peer as a table endpoint; an app is checked to live where the selector looks."""
    if "ipBlock" in peer:
        assert set(peer) == {"ipBlock"} and not peer["ipBlock"].get("except"), peer
        return peer["ipBlock"]["cidr"]
    pods = (peer.get("podSelector") or {}).get("matchLabels") or {}
    outside = {name for name, t in F.scrape_targets(settings).items()
               if peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
               in t.namespaces and pods == dict(t.discovery.pod_labels)}
    if outside:  # an engine's pods, an existing DCGM exporter's: outside the stack, selected by their labels
        (name,) = outside
        return name
    if "namespaceSelector" in peer:
        ns_labels = peer["namespaceSelector"].get("matchLabels") or {}
        if not ns_labels:
            assert pods == {"k8s-app": "kube-dns"}, peer  # any namespace only for cluster DNS
            return F.DNS
        namespace = ns_labels["kubernetes.io/metadata.name"]
        operator = settings.cluster.operator
        if operator is not None and namespace == operator.namespace:  # the cluster's Prometheus, by its labels
            assert pods == dict(operator.prometheus_pod_labels), peer
            return F.OPERATOR_PROMETHEUS
        if not pods:
            if namespace == settings.cluster.ingress_namespace:
                return F.INGRESS_CONTROLLER
            assert namespace in F.router_namespaces(settings), peer
            return F.ROUTERS
    else:
        namespace = policy_ns
    app = pods["app.kubernetes.io/name"]
    assert apps.get(app) == namespace, f"{app} selected in {namespace}, runs in {apps.get(app)}"
    return app


def policy_flows(docs, settings):
    """(egress-side flows, ingress-side flows) of every NetworkPolicy."""
    apps, egress, ingress = app_namespaces(docs), set(), set()
    for d in docs:
        if d["kind"] != "NetworkPolicy":
            continue
        ns, spec = d["metadata"]["namespace"], d["spec"]
        selected = spec["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name", F.ALL_PODS)
        for direction, key, side in (("egress", "to", egress), ("ingress", "from", ingress)):
            for rule in spec.get(direction, []):
                assert rule.get(key), f"{d['metadata']['name']}: a rule without peers allows everyone"
                ports = [(p["port"], p["protocol"]) for p in rule.get("ports", [])] or [(F.ANY_PORT, "TCP")]
                for peer in rule[key]:
                    other = endpoint(peer, ns, settings, apps)
                    for port, protocol in ports:
                        pair = (selected, other) if direction == "egress" else (other, selected)
                        side.add(F.Flow(*pair, port, protocol))
    return egress, ingress


@pytest.fixture(scope="module")
def docs():
    return {env: rendered(env) for env in ENVS}


@pytest.mark.parametrize("mode", ["standalone", "operator"])
@pytest.mark.parametrize("env", ENVS)
def test_policies_allow_exactly_the_table(docs, env, mode):
    settings = load_settings(env) if mode == "standalone" else operator_settings(env)
    egress, ingress = policy_flows(docs[env] if mode == "standalone" else rendered(env, settings), settings)
    table = F.allowed_flows(settings)
    assert sorted(map(str, (egress | ingress) - table)) == []  # nothing beyond the table
    for flow in sorted(table, key=str):  # and everything in it, on each side that is one of our pods
        if flow.source not in outside(settings):
            host_network = flow.target in F.HOST_NETWORK and F.Flow(flow.source, F.ANYWHERE, flow.port) in egress
            assert flow in egress or host_network, f"{flow}: not in {flow.source}'s egress"
        if flow.target not in outside(settings):
            assert flow in ingress, f"{flow}: not in {flow.target}'s ingress"


@pytest.mark.parametrize("env", ENVS)
def test_no_ingress_from_anywhere_and_no_ui_for_the_ingress_controller_without_a_login(docs, env):
    settings = load_settings(env)
    _, ingress = policy_flows(docs[env], settings)
    assert not [f for f in ingress if "/" in f.source], "ingress from an ipBlock"
    # Prometheus, Alertmanager and jaeger-query have no login: only Grafana and Kibana, when they have an Ingress.
    exposed = {f.target for f in ingress if f.source == F.INGRESS_CONTROLLER}
    assert exposed == set(settings.cluster.ingress_hosts) <= {"grafana", "kibana"}


def _mutated(docs, name, edit):
    out = copy.deepcopy(docs)
    edit(next(d for d in out if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name)["spec"])
    return out


@pytest.mark.parametrize(("name", "edit", "unexpected"), [
    # Grafana open to the internet: the flow is not in the table.
    ("grafana", lambda s: s["ingress"][0].update({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}), "0.0.0.0/0 -> grafana 3000/TCP"),
    # Prometheus reachable from the ingress controller again (prod's first rule: the Thanos Querier's gRPC).
    ("prometheus", lambda s: s["ingress"][0]["from"].append(
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}),
     "ingress-controller -> prometheus 10901/TCP"),
    # Logstash's beats port without a port restriction.
    ("logstash", lambda s: s["ingress"][0].pop("ports"), "filebeat -> logstash any port"),
])
def test_a_widened_policy_fails(docs, name, edit, unexpected):
    settings = load_settings("prod")
    egress, ingress = policy_flows(_mutated(docs["prod"], name, edit), settings)
    assert unexpected in {str(f) for f in (egress | ingress) - F.allowed_flows(settings)}


def test_a_missing_rule_fails(docs):
    """Jaeger's collector no longer accepts OTLP from the routers: the table's flow is missing."""
    settings = load_settings("prod")
    _, ingress = policy_flows(_mutated(docs["prod"], "jaeger-collector", lambda s: s.pop("ingress")), settings)
    assert F.Flow(F.ROUTERS, "jaeger-collector", 4317) in F.allowed_flows(settings) - ingress
