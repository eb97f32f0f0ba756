"""The serving engines behind the router's backends, and the GPUs' DCGM exporter: how Prometheus finds them.

Each engine is named by the router backend it serves (a name of ``router.backends``), so its series
carry that ``backend`` label next to the router's own view of the backend. Its pods are found by
Kubernetes service discovery, one target per pod, like the router's::

    llm-router-monitoring:engines:
      local-gpu:
        kind: vllm                      # vllm | sglang | tgi
        namespaces: [inference]
        podLabels: {app.kubernetes.io/name: vllm-llama}
        port: http                      # container port name, or its number
        metricsPath: /metrics           # optional
      tgi-mistral:
        kind: tgi
        modelName: mistral-7b           # tgi only: its series carry no model label
        ...

    llm-router-monitoring:dcgm:
      mode: deploy                      # deploy: a DaemonSet on the GPU nodes; scrape: an existing one; none
      nodeSelector: {nvidia.com/gpu.present: "true"}
      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
      runtimeClassName: nvidia          # optional: how the exporter's pod sees the GPUs
      # mode: scrape instead names the exporter's pods:
      # namespaces: [gpu-operator]
      # podLabels: {app: nvidia-dcgm-exporter}
      # port: 9400
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from foundation.engine_metrics import ENGINE_KINDS, TGI
from foundation.settings.reader import Reader
from foundation.settings.router import LABEL_KEY_RE, LABEL_VALUE_RE, NAMESPACE_RE, PodDiscovery

DCGM_MODES = ("none", "deploy", "scrape")
#: An engine's scrape job is ``engine-<the backend it serves>``.
ENGINE_JOB_PREFIX = "engine-"
#: Matches the name of every engine's scrape job.
ENGINE_JOBS = f"{ENGINE_JOB_PREFIX}.+"
#: The DCGM exporter's metrics port (its image listens on :9400).
DCGM_PORT = 9400
TOLERATION_KEYS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})
TOLERATION_OPERATORS = ("Exists", "Equal")
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _namespaces(r: Reader, key: str = "namespaces") -> tuple[str, ...]:
    namespaces = r.str_list(key)
    if not namespaces:
        raise r.error(key, "expected at least one namespace")
    for i, namespace in enumerate(namespaces):
        if not NAMESPACE_RE.match(namespace):
            raise r.error(f"{key}[{i}]", f"not a Kubernetes namespace name: {namespace!r}")
    return namespaces


@dataclass(frozen=True)
class PodTargets:
    """Pods in ``namespaces`` that carry every label of ``discovery.pod_labels``, one target each."""

    namespaces: tuple[str, ...]
    discovery: PodDiscovery

    def overlaps(self, other: PodTargets) -> bool:
        """Does one select every pod of the other (a shared namespace, and one's labels within the other's)?"""
        if not set(self.namespaces) & set(other.namespaces):
            return False
        a, b = self.discovery.pod_labels.items(), other.discovery.pod_labels.items()
        return a <= b or b <= a


def _pod_targets(r: Reader, keys: frozenset[str]) -> PodTargets:
    discovery = PodDiscovery.parse(Reader(r.env, {k: v for k, v in r.data.items() if k in PodDiscovery.KEYS}, r.path))
    r.reject_unknown(keys | PodDiscovery.KEYS)
    return PodTargets(_namespaces(r), discovery)


@dataclass(frozen=True)
class Engine:
    #: The router backend this engine serves (the ``backend`` label of its series).
    name: str
    kind: str
    targets: PodTargets
    #: TGI's series carry no model label: the scrape job adds ``model_name`` with this value.
    model_name: str | None = None

    KEYS = frozenset({"kind", "namespaces", "modelName"})

    @property
    def job(self) -> str:
        return f"{ENGINE_JOB_PREFIX}{self.name}"

    @classmethod
    def parse(cls, name: str, r: Reader) -> Engine:
        kind = r.choice("kind", ENGINE_KINDS)
        targets = _pod_targets(r, cls.KEYS)
        model = r.str("modelName", "") or None
        if kind == TGI and model is None:
            raise r.error("modelName", "missing; TGI's series carry no model label, name the model this engine serves")
        if kind != TGI and model is not None:
            raise r.error("modelName", f"only for kind tgi; {kind} labels its series with model_name itself")
        if model is not None and not LABEL_VALUE_RE.match(model):
            raise r.error("modelName", f"expected a label value (letters, digits, '-', '_', '.'), got {model!r}")
        return cls(name, kind, targets, model)


@dataclass(frozen=True)
class EnginesSettings:
    engines: tuple[Engine, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> EnginesSettings:
        engines = []
        for name in sorted(r.data):
            if not isinstance(name, str) or not NAMESPACE_RE.match(name):
                raise r.error(str(name), "an engine is named by the router backend it serves: a DNS label "
                                         "(lowercase letters, digits, '-')")
            engines.append(Engine.parse(name, r.section(name, required=True)))
        for i, a in enumerate(engines):
            for b in engines[i + 1:]:
                if a.targets.overlaps(b.targets):
                    raise r.error(b.name, f"its pods could also be {a.name}'s (same namespace, labels that do not "
                                          "tell them apart): every pod must belong to one engine")
        return cls(tuple(engines))


@dataclass(frozen=True)
class DcgmSettings:
    mode: str = "none"
    #: deploy: where the DaemonSet runs (GPU nodes only).
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    runtime_class: str | None = None
    #: scrape: an existing exporter's pods (deploy: filled in from the node agents' namespace by the stack).
    targets: PodTargets | None = None

    DEPLOY_KEYS = frozenset({"mode", "nodeSelector", "tolerations", "runtimeClassName"})
    SCRAPE_KEYS = frozenset({"mode", "namespaces"})

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    @classmethod
    def parse(cls, r: Reader) -> DcgmSettings:
        mode = r.choice("mode", DCGM_MODES, "none")
        if mode == "none":
            r.reject_unknown(frozenset({"mode"}))
            return cls()
        if mode == "scrape":
            return cls(mode, targets=_pod_targets(r, cls.SCRAPE_KEYS))
        r.reject_unknown(cls.DEPLOY_KEYS)
        selector = r.section("nodeSelector", required=True)
        if not selector.data:
            raise r.error("nodeSelector", "needs at least one label that only GPU nodes carry "
                                          "(e.g. nvidia.com/gpu.present: \"true\")")
        for key, value in selector.data.items():
            if not isinstance(key, str) or not LABEL_KEY_RE.match(key):
                raise selector.error(str(key), "not a Kubernetes label key")
            if not isinstance(value, str) or not LABEL_VALUE_RE.match(value):
                raise selector.error(key, f"expected a label value as a string (quote \"true\"), got {value!r}")
        runtime = r.str("runtimeClassName", "") or None
        if runtime is not None and not NAMESPACE_RE.match(runtime):
            raise r.error("runtimeClassName", f"not a RuntimeClass name: {runtime!r}")
        return cls(mode, MappingProxyType(dict(sorted(selector.data.items()))), _tolerations(r), runtime)


def _tolerations(r: Reader) -> tuple[Mapping[str, Any], ...]:
    raw = r.data.get("tolerations", [])
    if not isinstance(raw, list):
        raise r.error("tolerations", "expected a list of tolerations ({key, operator, value, effect})")
    out = []
    for i, item in enumerate(raw):
        t = Reader(r.env, item, r.key(f"tolerations[{i}]"))
        t.reject_unknown(TOLERATION_KEYS)
        operator = t.choice("operator", TOLERATION_OPERATORS, "Equal")
        if "effect" in t.data:
            t.choice("effect", TOLERATION_EFFECTS)
        if operator == "Exists" and "value" in t.data:
            raise t.error("value", "a toleration with operator Exists takes no value")
        if "key" in t.data and not LABEL_KEY_RE.match(t.str("key")):
            raise t.error("key", f"not a taint key: {t.data['key']!r}")
        out.append(MappingProxyType(dict(sorted(item.items()))))
    return tuple(out)
