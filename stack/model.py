"""What every service builder receives and returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from foundation.settings import Settings
from foundation.settings.cluster import ClusterSettings, Workload
from stack.objects import App, Obj

#: Stands in for every secret value when objects are rendered to files.
REDACTED = "<redacted: set by pulumi config --secret>"


@dataclass(frozen=True)
class Context:
    settings: Settings
    #: Output of the other renderers (alerts, dashboards, log pipeline): path -> content.
    artifacts: Mapping[str, str]
    #: Pulumi secret config key -> value (a pulumi Output when deploying, REDACTED when rendering).
    secrets: Mapping[str, Any]

    @property
    def cluster(self) -> ClusterSettings:
        return self.settings.cluster

    @property
    def namespace(self) -> str:
        return self.settings.cluster.namespace

    @property
    def node_namespace(self) -> str:
        return self.settings.cluster.node_namespace

    def app(self, name: str, component: str, image_key: str, node_agent: bool = False) -> App:
        """A workload's identity; node agents (host access) live in the privileged node namespace."""
        namespace = self.node_namespace if node_agent else self.namespace
        return App(name, component, self.cluster.images[image_key], namespace)

    def workload(self, key: str) -> Workload:
        return self.cluster.workloads[key]

    def under(self, prefix: str) -> dict[str, str]:
        """Artifacts below a folder, keyed by their path relative to it."""
        return {p[len(prefix):]: c for p, c in self.artifacts.items() if p.startswith(prefix)}

    def secret(self, key: str) -> Any:
        return self.secrets[key]


@dataclass(frozen=True)
class Service:
    """One ComponentResource's worth of Kubernetes objects."""

    #: Component type name (``llm-router-monitoring:stack:<component>``).
    component: str
    objects: list[Obj]
