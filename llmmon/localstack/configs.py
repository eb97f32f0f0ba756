"""The local stack's configuration, built by the alerts package's own functions.

Nothing here writes Prometheus or Alertmanager YAML by hand: the alerts package renders the
rules (the env's, or its test profile with short ``for`` durations), the ``prometheus.yml``
with loopback targets, and the Alertmanager config with every receiver pointed at the sink.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alerts import render as alerts_render
from alerts.alertmanager import local_alertmanager_config
from alerts.prometheus_config import prometheus_config
from alerts.scrape_jobs import DCGM_JOB, StaticTarget
from alerts.yamlfmt import dump
from foundation.settings import Settings
from llmmon.example_router.config import RouterConfig
from llmmon.example_router.engine_sim import engine_pod
from llmmon.localstack.stack import Endpoints


@dataclass(frozen=True)
class Profile:
    name: str
    #: Scrape and rule evaluation interval; None keeps the env's.
    interval: str | None
    prometheus_flags: tuple[str, ...] = ()


PROFILES: dict[str, Profile] = {
    "default": Profile("default", None),
    # Alerts fire within seconds: 1s scrape/evaluation, firing alerts re-sent every second.
    "test": Profile("test", "1s", ("--rules.alert.resend-delay=1s",)),
}


def simulated_targets(settings: Settings, router: str, config: RouterConfig | None = None
                      ) -> dict[str, list[StaticTarget]]:
    """The example router's simulated engines and GPU nodes as the env's engine and DCGM jobs' targets:
    each engine of the env that the router simulates, and one DCGM exporter per simulated GPU node."""
    simulated = {b.name for b in (config or RouterConfig()).backends if b.engine}
    out = {e.job: [StaticTarget(router, f"/engines/{e.name}/metrics", engine_pod(e.name))]
           for e in settings.engines.engines if e.name in simulated}
    nodes = sorted(engine_pod(name)["node"] for name in simulated)
    if settings.dcgm.enabled and nodes:
        out[DCGM_JOB] = [StaticTarget(router, f"/dcgm/{node}/metrics", {"node": node}) for node in nodes]
    return out


class LocalConfigs:
    """``ConfigBuilder`` for ``LocalStack`` from the alerts package's render functions.

    ``engines``: scrape the example router's simulated engines and GPUs (False for a router that has none,
    such as the LiteLLM one: their jobs are left out rather than shown down)."""

    def __init__(self, settings: Settings, profile: Profile, engines: bool = True) -> None:
        self.settings = settings
        self.profile = profile
        self.engines = engines

    @property
    def rule_profile(self) -> str:
        """The alerts package's profile: production timing, or compressed for tests."""
        return "test" if self.profile.name == "test" else "prod"

    def rule_files(self, workdir: Path) -> list[Path]:
        folder = workdir / "rules"
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.yml"):
            stale.unlink()
        paths = []
        for name, text in alerts_render.rule_files(self.settings, profile=self.rule_profile).items():
            (folder / name).write_text(text)
            paths.append(folder / name)
        return paths

    def prometheus_yml(self, endpoints: Endpoints, rule_files: list[Path]) -> str:
        return dump(prometheus_config(
            self.settings, router_targets=[endpoints.router], alertmanagers=[endpoints.alertmanager],
            rule_files=[str(p) for p in rule_files], node_exporter_targets=[], kubernetes=False,
            self_target=endpoints.prometheus, interval=self.profile.interval,
            pod_job_targets=simulated_targets(self.settings, endpoints.router) if self.engines else {},
        ))

    def alertmanager_yml(self, endpoints: Endpoints) -> str:
        return dump(local_alertmanager_config(self.settings, f"{endpoints.webhook_url}/alerts"))
